"""What the Duplicates tab reviews: the collection's session file, and the exports with the
user's decisions applied."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal, Mapping, get_args

import pandas as pd

from ..ingest.questions import QuestionSet
from ..mine.clustering import Clustering
from ..resources import app_data_dir
from .decisions import ResolvedDecisions
from .export import Written, annotated_frame, dedup_frame, write_table


def session_path(path: Path, column: str) -> Path:
    """The autosaved decisions of one collection (its absolute path and question column)."""
    key = hashlib.blake2b(f"{Path(path).resolve()}|{column}".encode(), digest_size=12).hexdigest()
    return app_data_dir() / "sessions" / f"{Path(path).stem[:40]}-{key}.jsonl"


def frame_with_edits(frame: pd.DataFrame, column: str, edits: Mapping[int, str]) -> pd.DataFrame:
    """The rows with edited canonical texts written into the question column (a copy)."""
    if not edits:
        return frame
    frame = frame.copy()
    col = frame.columns.get_loc(column)
    for row, text in edits.items():
        frame.iat[row, col] = text
    return frame


def export_sheet_title(review: QuestionSet) -> str:
    """The data's name: the sheet it was read from, unless that is a default "Sheet1"; else the file's."""
    sheet = review.cells.sheet if review.cells is not None else ""
    return sheet if sheet and not re.fullmatch(r"(?i)sheet\s*\d*", sheet.strip()) else Path(review.path).stem


ExportKind = Literal["dedup", "annotated", "pairs"]
EXPORT_KINDS: tuple[ExportKind, ...] = get_args(ExportKind)


def export_review(kind: ExportKind, path: Path, review: QuestionSet, clustering: Clustering,
                  decisions: ResolvedDecisions, overwrite_input: bool = False, raw_text: bool = False) -> Written:
    """Write one of the three exports atomically; the input file is never the target.

    Excel to Excel, the file's numbers, dates and booleans are written as Excel held them (an edited
    question is text); every other export writes each cell's text as it was read."""
    rows = review.frame
    if review.cells is not None and Path(path).suffix.lower() == ".xlsx":
        rows = review.cells.typed_frame(rows)
    if kind == "dedup":
        frame = dedup_frame(frame_with_edits(rows, review.column, decisions.edits), clustering)
    elif kind == "annotated":  # the file's question stays as it was, beside the edit
        frame = annotated_frame(rows, review.texts, clustering, decisions.edits)
    elif kind == "pairs":
        frame = pd.DataFrame(decisions.labelled_pairs(review.texts), columns=["question1", "question2", "is_duplicate"])
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    return write_table(frame, path, input_path=review.path, overwrite_input=overwrite_input, raw_text=raw_text,
                       sheet_title=export_sheet_title(review))
