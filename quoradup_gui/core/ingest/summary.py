"""The data summary of a question column: blanks, exact duplicates, lengths.

What "exact duplicate" means is defined once, in core.text (normalize_text / normalize_series).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..jobs import JobContext, NullContext
from ..text import as_strings, normalize_values, release_in_slices


@dataclass(frozen=True)
class Summary:
    n_rows: int
    n_blank: int  # missing, or nothing left after normalising (e.g. "   " or "???")
    n_distinct: int  # distinct normalised non-blank texts
    n_exact_duplicates: int  # rows whose normalised text equals an earlier non-blank row's
    n_duplicate_groups: int  # normalised texts occurring 2+ times
    length_min: int
    length_median: float
    length_p90: float
    length_max: int
    length_histogram: tuple[tuple[int, int], ...]  # (bin upper edge, count); first bin starts at 0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["length_histogram"] = [list(pair) for pair in self.length_histogram]
        return data

    def describe_lines(self, noun: str = "row") -> list[str]:
        """``noun``: what is counted ("row" for a collection, "question" for a pair file's distinct questions)."""
        lines = [_count(self.n_rows, noun)]
        lines.append(f"{self.n_blank:,} blank" if self.n_blank else f"No blank {noun}s")
        lines.append(_count(self.n_distinct, "distinct question"))
        how = "(after normalising case, spaces, punctuation)"
        if self.n_exact_duplicates:
            lines.append(
                f"{_count(self.n_exact_duplicates, 'exact duplicate')} in "
                f"{_count(self.n_duplicate_groups, 'group')} {how}"
            )
        else:
            lines.append(f"No exact duplicates {how}")
        if self.n_rows > self.n_blank:
            lines.append(
                f"Length: median {self.length_median:,.0f} characters, "
                f"90% at most {self.length_p90:,.0f}, longest {self.length_max:,}"
            )
        return lines


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def summarize(texts: pd.Series, ctx: JobContext | None = None) -> Summary:
    """Count rows, blanks and exact duplicates and describe text lengths (see Summary)."""
    ctx = ctx or NullContext()
    ctx.set_status("Summarising the questions…")
    values = as_strings(texts)
    normalized = normalize_values(values, ctx)
    ctx.set_progress(1, 2)
    # A plain dict count rather than pandas' value_counts: the Python loop lets the GUI thread
    # in every few milliseconds, where one vectorised call held the GIL for 100+ ms at 500k rows.
    counts: dict[str, int] = {}
    lengths_list: list[int] = []
    for value, original in zip(normalized, values):
        if value:
            counts[value] = counts.get(value, 0) + 1
            lengths_list.append(len(original.strip()))
    n_distinct, n_filled = len(counts), len(lengths_list)
    n_groups = sum(1 for count in counts.values() if count >= 2)
    lengths = np.asarray(lengths_list, dtype=np.int64)
    # The dict first, while the list still holds its keys: then freeing it frees no strings.
    del counts
    release_in_slices(normalized)
    release_in_slices(values)
    ctx.set_progress(2, 2)
    has_lengths = len(lengths) > 0
    return Summary(
        n_rows=len(texts),
        n_blank=len(texts) - n_filled,
        n_distinct=n_distinct,
        n_exact_duplicates=n_filled - n_distinct,
        n_duplicate_groups=n_groups,
        length_min=int(lengths.min()) if has_lengths else 0,
        length_median=float(np.median(lengths)) if has_lengths else 0.0,
        length_p90=float(np.percentile(lengths, 90)) if has_lengths else 0.0,
        length_max=int(lengths.max()) if has_lengths else 0,
        length_histogram=_histogram(lengths),
    )


def _histogram(lengths: np.ndarray, bins: int = 10) -> tuple[tuple[int, int], ...]:
    """~10 equal bins of a round width up to the 99th percentile, plus one bin for outliers.

    Question lengths are long-tailed (one pasted essay would squash every other bar into the
    first bin), so the regular bins stop near the 99th percentile.
    """
    if len(lengths) == 0:
        return ()
    top = max(int(math.ceil(np.percentile(lengths, 99))), 1)
    width = _round_up(top / bins)
    edges = list(range(width, top + width, width))
    if lengths.max() > edges[-1]:
        edges.append(int(lengths.max()))
    counts = np.bincount(np.searchsorted(edges, lengths, side="left"), minlength=len(edges))
    return tuple((edge, int(count)) for edge, count in zip(edges, counts))


def _round_up(x: float) -> int:
    """The smallest of 1, 2, 5 × 10^k that is at least x (and at least 1)."""
    if x <= 1:
        return 1
    power = 10 ** math.floor(math.log10(x))
    return next(int(step * power) for step in (1, 2, 5, 10) if step * power >= x)
