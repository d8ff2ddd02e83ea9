"""What the Duplicates tab reviews: the collection's texts and rows, its session file, the
labelled pairs available for estimates, and exports with the user's decisions applied."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ..evaluate.evaluation import pair_metrics
from ..ingest.dataset import DatasetView
from ..ingest.io import LoadedTable
from ..ingest.roles import Role
from ..mine.clustering import Clustering
from ..resources import app_data_dir
from .decisions import DecisionLog, KeyIndex, ResolvedDecisions, key_index
from .export import Written, annotated_frame, dedup_frame, write_table


@dataclass(frozen=True, eq=False)
class ReviewInput:
    """The rows under review: a collection's rows, or the distinct questions of a pair file."""

    path: Path
    column: str
    texts: tuple[str, ...]
    frame: pd.DataFrame  # the rows as exported (all original columns for a collection)
    pair_index: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # (row1, row2, label) of labelled pairs
    key_index: KeyIndex  # computed once per collection

    @property
    def n(self) -> int:
        return len(self.texts)

    def resolve(self, log: DecisionLog) -> ResolvedDecisions:
        return log.resolve(self.texts, self.key_index)


def review_input(source: DatasetView | LoadedTable) -> ReviewInput:
    """The rows under review of a loaded table (or of the table a DatasetView shows)."""
    table = getattr(source, "table", source)
    if table.role is Role.COLLECTION:
        column = table.question_column
        texts = tuple("" if v is None else str(v) for v in table.frame[column].tolist())
        return ReviewInput(table.path, column, texts, table.frame, None, key_index(texts))
    distinct = table.texts()
    texts = tuple(distinct.tolist())
    frame = pd.DataFrame({"question": distinct.to_numpy()})
    pair_index = None
    labels = table.labels()
    if labels is not None:
        where = {t: i for i, t in enumerate(texts)}
        p = table.pairs
        r1 = np.array([where.get(t, -1) for t in table.frame[p.text1].tolist()])
        r2 = np.array([where.get(t, -1) for t in table.frame[p.text2].tolist()])
        lab = labels.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ok = (r1 >= 0) & (r2 >= 0) & ~np.isnan(lab) & np.isin(lab, (0.0, 1.0))
        if ok.any() and 0 < lab[ok].sum() < ok.sum():
            pair_index = (r1[ok], r2[ok], lab[ok].astype(np.int8))
    return ReviewInput(table.path, "question", texts, frame, pair_index, key_index(texts))


def session_path(path: Path, column: str) -> Path:
    """The autosaved decisions of one collection (its absolute path and question column)."""
    key = hashlib.blake2b(f"{Path(path).resolve()}|{column}".encode(), digest_size=12).hexdigest()
    return app_data_dir() / "sessions" / f"{Path(path).stem[:40]}-{key}.jsonl"


@dataclass(frozen=True)
class PairEstimate:
    scores: np.ndarray
    labels: np.ndarray
    best_f1: float
    best_threshold: float


def pair_estimate(review: ReviewInput, embeddings: np.ndarray) -> PairEstimate | None:
    if review.pair_index is None:
        return None
    r1, r2, labels = review.pair_index
    scores = np.einsum("ij,ij->i", embeddings[r1], embeddings[r2]).astype(np.float32)
    metrics = pair_metrics(scores, labels)
    return PairEstimate(scores, labels, metrics.f1, float(metrics.threshold))


def frame_with_edits(review: ReviewInput, decisions: ResolvedDecisions) -> pd.DataFrame:
    """The rows with edited canonical texts written into the question column (a copy)."""
    if not decisions.edits:
        return review.frame
    frame = review.frame.copy()
    col = frame.columns.get_loc(review.column)
    for row, text in decisions.edits.items():
        frame.iat[row, col] = text
    return frame


ExportKind = Literal["dedup", "annotated", "pairs"]
EXPORT_KINDS: tuple[ExportKind, ...] = get_args(ExportKind)


def export_review(kind: ExportKind, path: Path, review: ReviewInput, clustering: Clustering,
                  decisions: ResolvedDecisions, overwrite_input: bool = False, raw_text: bool = False) -> Written:
    """Write one of the three exports atomically; the input file is never the target."""
    if kind == "dedup":
        frame = dedup_frame(frame_with_edits(review, decisions), clustering)
    elif kind == "annotated":
        texts = list(review.texts)
        for row, text in decisions.edits.items():
            texts[row] = text
        frame = annotated_frame(frame_with_edits(review, decisions), texts, clustering)
    elif kind == "pairs":
        frame = pd.DataFrame(decisions.labelled_pairs(review.texts), columns=["question1", "question2", "is_duplicate"])
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    return write_table(frame, path, input_path=review.path, overwrite_input=overwrite_input, raw_text=raw_text,
                       sheet_title=Path(review.path).stem)
