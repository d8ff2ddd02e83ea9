"""Exports: the deduplicated spreadsheet, the annotated (clusters) spreadsheet, labelled pairs.

Every writer keeps all of the file's own columns, keeps the original row order, writes to a
temp file and renames (core.atomic.atomic_writer), and refuses to overwrite the input file unless
the caller says so explicitly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_writer
from .clustering import Clustering
from .errors import QuoradupError

WRITABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet", ".jsonl")
ANNOTATION_COLUMNS = ("row", "cluster_id", "is_canonical", "similarity_to_canonical", "text")


class ExportError(QuoradupError):
    """The export cannot be written where or how it was asked."""


def dedup_frame(frame: pd.DataFrame, clustering: Clustering) -> pd.DataFrame:
    """One row per cluster, the canonical one (singletons are their own canonical), in file order."""
    keep = np.zeros(len(frame), bool)
    keep[clustering.canonical] = True
    return frame.iloc[np.flatnonzero(keep)]


def annotated_frame(frame: pd.DataFrame, texts, clustering: Clustering) -> pd.DataFrame:
    """Every row, with row (1-based), cluster_id, is_canonical, similarity_to_canonical and text first."""
    n = len(frame)
    is_canonical = np.zeros(n, bool)
    is_canonical[clustering.canonical] = True
    annotations = pd.DataFrame({
        "row": np.arange(1, n + 1),
        "cluster_id": clustering.labels.astype(np.int64),
        "is_canonical": is_canonical,
        "similarity_to_canonical": np.round(clustering.similarity_to_canonical.astype(np.float64), 4),
        "text": list(texts),
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


def write_table(frame: pd.DataFrame, path: str | Path, input_path: str | Path | None = None,
                overwrite_input: bool = False) -> Path:
    """Write ``frame`` as CSV/TSV/XLSX/Parquet/JSONL by the file's suffix, atomically."""
    path = check_output_path(path, input_path, overwrite_input)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            # utf-8 with BOM: Excel then opens non-ASCII text correctly; every other reader copes.
            with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as fh:
                frame.to_csv(fh, index=False, sep="," if suffix == ".csv" else "\t")
        elif suffix == ".jsonl":
            with atomic_writer(path, "w", encoding="utf-8") as fh:
                frame.to_json(fh, orient="records", lines=True, force_ascii=False)
        elif suffix == ".parquet":
            with atomic_writer(path, "wb") as fh:
                frame.to_parquet(fh, index=False)
        else:
            with atomic_writer(path, "wb") as fh:
                with pd.ExcelWriter(fh, engine="openpyxl") as writer:
                    _excel_safe(frame).to_excel(writer, index=False)
    except PermissionError as exc:
        raise ExportError(f"Cannot write {path}: permission denied.",
                          hint="Choose a folder you can write to, or close the file in other programs.") from exc
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    return path


XLSX_CELL_LIMIT = 32_767


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel refuses control characters and cells over 32,767 characters: drop the one, cut the other."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value):
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return value if len(value) <= XLSX_CELL_LIMIT else value[: XLSX_CELL_LIMIT - 1] + "…"

    text_columns = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    if not text_columns:
        return frame
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(clean)
    return safe
