"""A loaded file plus what the user sees about it: the jobs behind the Data tab and `inspect`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..jobs import JobContext, NullContext
from ..wording import plural
from .io import LoadedTable, PairColumns, Role, read_table
from .questions import QuestionSet
from .summary import Summary, summarize


@dataclass(frozen=True)
class PairStats:
    n_pairs: int
    n_duplicates: int
    n_not_duplicates: int
    n_unlabelled: int

    def describe_lines(self) -> list[str]:
        lines = [f"{plural(self.n_pairs, 'labelled pair')}: {plural(self.n_duplicates, 'duplicate')}, "
                 f"{self.n_not_duplicates:,} not duplicate{'s' if self.n_not_duplicates != 1 else ''}"]
        if self.n_unlabelled:
            lines.append(f"{plural(self.n_unlabelled, 'pair')} without a label")
        return lines


@dataclass(frozen=True)
class DatasetView:
    """A table with its role, its summary and (for pair files) label counts."""

    table: LoadedTable
    summary: Summary
    pair_stats: PairStats | None = None
    questions: QuestionSet | None = None  # None: the review session builds it once, in its own job
    label_preview: tuple[tuple[str, str, int], ...] = ()  # how the label column's values are read

    def as_dict(self) -> dict[str, Any]:
        table = self.table
        out: dict[str, Any] = {
            "path": str(table.path),
            "format": {
                "kind": table.format.kind,
                "encoding": table.format.encoding,
                "delimiter": table.format.delimiter,
                "has_header": table.format.has_header,
                "description": table.format.describe(),
            },
            "role": table.role.value,
            "columns": [str(c) for c in table.frame.columns],
            "question_column": table.question_column,
            "pairs": None,
            "summary": self.summary.as_dict(),
            "warnings": list(table.warnings),
        }
        if table.pairs is not None:
            p = table.pairs
            out["pairs"] = {
                "layout": p.layout, "text1": p.text1, "text2": p.text2, "label": p.label,
                "negative": p.negative, "qid1": p.qid1, "qid2": p.qid2,
            }
            if self.pair_stats is not None:
                out["pairs"].update(vars(self.pair_stats))
            out["pairs"]["label_reading"] = [{"value": v, "read_as": r, "rows": n} for v, r, n in self.label_preview]
        return out

    def describe_lines(self) -> list[str]:
        lines = [f"File: {self.table.path}", f"Format: {self.table.format.describe()}"]
        if self.table.role is Role.PAIRS and self.table.pairs is not None:
            p = self.table.pairs
            lines.append(f"Role: labelled pair file ({p.layout}): {p.text1} / {p.text2}"
                         + (f", label {p.label}" if p.label else "")
                         + (f", negative {p.negative}" if p.negative else ""))
            if self.pair_stats is not None:
                lines += self.pair_stats.describe_lines()
            if self.label_preview:
                lines.append("Labels read as: " + "; ".join(f'"{v}" → {r} ({n:,})' for v, r, n in self.label_preview))
            lines.append("Distinct questions in the pairs:")
        else:
            lines.append(f"Role: question collection, questions in column '{self.table.question_column}'")
        lines.append(f"Columns: {', '.join(str(c) for c in self.table.frame.columns)}")
        lines += self.summary.describe_lines("question" if self.table.role is Role.PAIRS else "row")
        lines += [f"Warning: {w}" for w in self.table.warnings]
        return lines


def pair_stats(table: LoadedTable) -> PairStats | None:
    from .roles import parse_labels

    if table.role is not Role.PAIRS or table.pairs is None:
        return None
    n = table.n_rows
    if table.pairs.label is None:  # anchor/positive(/negative): every pair is a positive
        return PairStats(n, n, 0, 0)
    labels = parse_labels(table.frame[table.pairs.label])
    n_dup = int((labels == 1).sum())
    n_not = int((labels == 0).sum())
    return PairStats(n, n_dup, n_not, n - n_dup - n_not)


def describe_table(table: LoadedTable, ctx: JobContext | None = None) -> DatasetView:
    """Summary and pair counts of an already loaded table (after a column override)."""
    from .roles import label_preview

    ctx = ctx or NullContext()
    ctx.set_status("Summarising…")
    preview = ()
    if table.role is Role.PAIRS and table.pairs is not None and table.pairs.label is not None:
        preview = tuple(label_preview(table.frame[table.pairs.label]))
    return DatasetView(table, summarize(table.texts(), ctx), pair_stats(table), label_preview=preview)


def load_dataset_view(path: str | Path, ctx: JobContext | None = None, sheet: str | None = None,
                      header: bool | None = None, columns: list[str] | None = None) -> DatasetView:
    """Read a file, detect its role and summarise it: the Data tab's load job (and `inspect`).
    ``header``: whether the first row is a header (None: detected); ``columns``: see choose_columns."""
    ctx = ctx or NullContext()
    table = read_table(path, ctx, sheet=sheet, header=header)
    if columns:
        table = choose_columns(table, columns)
    ctx.check_cancelled()
    return describe_table(table, ctx)


def choose_columns(table: LoadedTable, columns: list[str]) -> LoadedTable:
    """The user's choice of columns: one name, the question column of a collection; two or three,
    question 1, question 2 and the label of a pair file (the label may be left out)."""
    from ..errors import ColumnError

    names = [c.strip() for c in columns]
    if len(names) == 1:
        return table.with_collection_column(names[0])
    if len(names) in (2, 3):
        label = names[2] if len(names) == 3 and names[2] else None
        return table.with_pair_columns(PairColumns(names[0], names[1], label=label, layout="custom"))
    raise ColumnError(f"Name one column (the questions) or two or three (question 1, question 2, label), not {len(names)}.",
                      hint=f"The file's columns are: {', '.join(map(str, table.frame.columns))}.")


def suggested_pairs_view(table: LoadedTable, ctx: JobContext | None = None) -> DatasetView:
    """The user says the file is a pair file: the best guess of its columns (Data tab role switch)."""
    from ..errors import ColumnError
    from .roles import suggest_pair_columns

    pairs = suggest_pair_columns(table.frame)
    if pairs is None:
        raise ColumnError(f"{table.path.name} has fewer than two columns of text, so it cannot hold question pairs.",
                          hint="A pair file has a column for each question of a pair, and usually a label column.")
    return describe_table(table.with_pair_columns(pairs), ctx)


def override_collection(table: LoadedTable, column: str, ctx: JobContext | None = None) -> DatasetView:
    return describe_table(table.with_collection_column(column), ctx)


def override_pairs(table: LoadedTable, pairs: PairColumns, ctx: JobContext | None = None) -> DatasetView:
    return describe_table(table.with_pair_columns(pairs), ctx)
