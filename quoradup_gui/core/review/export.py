"""Exports: the deduplicated spreadsheet, the annotated (clusters) spreadsheet, labelled pairs.

Every writer keeps all of the file's own columns, keeps the original row order, writes to a
temp file and renames (core.atomic.atomic_writer), and refuses to overwrite the input file unless
the caller says so explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..atomic import atomic_writer, describe_os_error
from ..errors import QuoradupError
from ..mine.clustering import Clustering

WRITABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet", ".jsonl")
ANNOTATION_COLUMNS = ("row", "cluster_id", "cluster_size", "is_canonical", "similarity_to_canonical", "text",
                      "question_edited")


class ExportError(QuoradupError):
    """The export cannot be written where or how it was asked."""


def dedup_frame(frame: pd.DataFrame, clustering: Clustering) -> pd.DataFrame:
    """One row per cluster, the canonical one (singletons are their own canonical), in file order."""
    keep = np.zeros(len(frame), bool)
    keep[clustering.canonical] = True
    return frame.iloc[np.flatnonzero(keep)]


def annotated_frame(frame: pd.DataFrame, texts, clustering: Clustering,
                    edits: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Every row, with ANNOTATION_COLUMNS first: row (1-based), cluster_id, cluster_size, is_canonical,
    similarity_to_canonical, text (the question as in the file) and question_edited (the user's edit
    of a kept question, else blank); the file's own columns follow as they are."""
    n = len(frame)
    is_canonical = np.zeros(n, bool)
    is_canonical[clustering.canonical] = True
    labels = clustering.labels.astype(np.int64)
    edited = np.full(n, "", dtype=object)
    for row, text in (edits or {}).items():
        edited[row] = text
    annotations = pd.DataFrame({
        "row": np.arange(1, n + 1),
        "cluster_id": labels,
        "cluster_size": clustering.sizes[labels].astype(np.int64),
        "is_canonical": is_canonical,
        "similarity_to_canonical": np.round(clustering.similarity_to_canonical.astype(np.float64), 4),
        "text": pd.Series(list(texts), dtype="str"),
        "question_edited": pd.Series(edited, dtype="str"),
    })
    own = frame.reset_index(drop=True)
    # The file's own columns keep their names; a clash with ours gets a suffix, never a loss.
    own = own.rename(columns={c: f"{c}_original" for c in own.columns if c in ANNOTATION_COLUMNS})
    return pd.concat([annotations, own], axis=1)


def check_output_path(path: str | Path, input_path: str | Path | None = None, overwrite_input: bool = False) -> Path:
    path = Path(path).expanduser()
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise ExportError(f"quoradup cannot write '{path.suffix or path.name}' files.",
                          hint="Use a name ending in .csv, .tsv, .xlsx, .parquet or .jsonl.")
    if input_path is not None and not overwrite_input and path.exists() and path.resolve() == Path(input_path).resolve():
        raise ExportError(f"{path.name} is the input file; quoradup never overwrites it without confirmation.",
                          hint="Choose another file name (the input is left untouched).")
    if not path.parent.exists():
        raise ExportError(f"The folder {path.parent} does not exist.", hint="Create it or choose another folder.")
    return path


@dataclass(frozen=True)
class Written:
    """What an export wrote: where, how many data rows, and what the user must be told."""

    path: Path
    n_rows: int
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.path)


# OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def neutralise_formula(text: str) -> str:
    """``'`` before a text that a spreadsheet would run as a formula; plain numbers such as -5 stay."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _neutralised(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The frame with every text cell (and column name) neutralised, and how many cells changed."""
    changed = 0
    out = None
    for j, column in enumerate(frame.columns):
        values = frame.iloc[:, j]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        first = values.str[:1]
        risky = first.isin(FORMULA_PREFIXES).to_numpy(dtype=bool, na_value=False)
        if not risky.any():
            continue
        fixed = values.copy()
        rows = np.flatnonzero(risky)
        new = [neutralise_formula(v) for v in values.iloc[rows].tolist()]
        n = sum(a != b for a, b in zip(new, values.iloc[rows].tolist()))
        if n:
            fixed.iloc[rows] = new
            out = frame.copy() if out is None else out
            out.isetitem(j, fixed)
            changed += n
    out = frame if out is None else out
    names = [neutralise_formula(str(c)) for c in out.columns]
    if names != [str(c) for c in out.columns]:
        out = out.set_axis(names, axis=1)
    return out, changed


def write_table(frame: pd.DataFrame, path: str | Path, input_path: str | Path | None = None,
                overwrite_input: bool = False, raw_text: bool = False, sheet_title: str = "Sheet1") -> Written:
    """Write ``frame`` as CSV/TSV/XLSX/Parquet/JSONL by the file's suffix, atomically.

    CSV/TSV: text a spreadsheet would run as a formula gets a leading ``'`` unless ``raw_text``
    (for programs that read the file); XLSX stores text as text, so it needs no prefix.
    """
    path = check_output_path(path, input_path, overwrite_input)
    suffix = path.suffix.lower()
    notes: list[str] = []
    try:
        if suffix in (".csv", ".tsv"):
            if not raw_text:
                frame, n_changed = _neutralised(frame)
                if n_changed:
                    notes.append(f"{n_changed:,} cell{'s' if n_changed != 1 else ''} starting with =, +, -, @, a tab "
                                 "or a carriage return got a leading apostrophe (') so that spreadsheet programs "
                                 "show them as text instead of running them as formulas (--raw-text writes them "
                                 "as they are).")
            # utf-8 with BOM: Excel then opens non-ASCII text correctly; every other reader copes.
            # CRLF line ends: the csv module then quotes a field holding a lone \r as well as \n.
            with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as fh:
                frame.to_csv(fh, index=False, sep="," if suffix == ".csv" else "\t", lineterminator="\r\n")
        elif suffix == ".jsonl":
            with atomic_writer(path, "w", encoding="utf-8") as fh:
                frame.to_json(fh, orient="records", lines=True, force_ascii=False)
        elif suffix == ".parquet":
            with atomic_writer(path, "wb") as fh:
                frame.to_parquet(fh, index=False)
        else:
            from ..ingest.xlsx import workbook_bytes

            content, more = workbook_bytes(frame, sheet_title)
            notes += more
            with atomic_writer(path, "wb") as fh:
                fh.write(content)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {describe_os_error(exc)}.",
                          hint="Choose another folder, free some space, or close the file in other programs.") from exc
    return Written(path, len(frame), tuple(notes))
