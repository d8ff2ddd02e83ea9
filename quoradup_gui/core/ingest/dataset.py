"""A loaded file plus what the user sees about it: the jobs behind the Data tab and `inspect`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..jobs import JobContext, NullContext
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
        lines = [f"{self.n_pairs:,} labelled pairs: {self.n_duplicates:,} duplicates, "
                 f"{self.n_not_duplicates:,} not duplicates"]
        if self.n_unlabelled:
            lines.append(f"{self.n_unlabelled:,} pairs without a label")
        return lines


@dataclass(frozen=True)
class DatasetView:
    """A table with its role, its summary and (for pair files) label counts."""

    table: LoadedTable
    summary: Summary
    pair_stats: PairStats | None = None
    questions: QuestionSet | None = None  # None: the review session builds it once, in its own job

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
            lines.append("Distinct questions in the pairs:")
        else:
            lines.append(f"Role: question collection, questions in column '{self.table.question_column}'")
        lines.append(f"Columns: {', '.join(str(c) for c in self.table.frame.columns)}")
        lines += self.summary.describe_lines()
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
    ctx = ctx or NullContext()
    ctx.set_status("Summarising…")
    return DatasetView(table, summarize(table.texts(), ctx), pair_stats(table))


def load_dataset_view(path: str | Path, ctx: JobContext | None = None, sheet: str | None = None) -> DatasetView:
    """Read a file, detect its role and summarise it: the Data tab's load job."""
    ctx = ctx or NullContext()
    table = read_table(path, ctx, sheet=sheet)
    ctx.check_cancelled()
    return describe_table(table, ctx)


def override_collection(table: LoadedTable, column: str, ctx: JobContext | None = None) -> DatasetView:
    return describe_table(table.with_collection_column(column), ctx)


def override_pairs(table: LoadedTable, pairs: PairColumns, ctx: JobContext | None = None) -> DatasetView:
    return describe_table(table.with_pair_columns(pairs), ctx)
