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
from ..ingest.questions import QuestionSet
from ..mine.clustering import Clustering
from ..resources import app_data_dir
from .decisions import ResolvedDecisions
from .export import Written, annotated_frame, dedup_frame, write_table


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


def pair_estimate(review: QuestionSet, embeddings: np.ndarray) -> PairEstimate | None:
    if review.pair_index is None:
        return None
    r1, r2, labels = review.pair_index
    scores = np.einsum("ij,ij->i", embeddings[r1], embeddings[r2]).astype(np.float32)
    metrics = pair_metrics(scores, labels)
    return PairEstimate(scores, labels, metrics.f1, float(metrics.threshold))


def frame_with_edits(review: QuestionSet, decisions: ResolvedDecisions) -> pd.DataFrame:
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


def export_review(kind: ExportKind, path: Path, review: QuestionSet, clustering: Clustering,
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
