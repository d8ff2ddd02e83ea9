"""How good the clusters an export would write are, judged pair by pair.

The judged pairs are the file's labelled pairs (a pair file) plus the user's review decisions
(a confirmation: its questions are duplicates; "not a duplicate": they are not). The clusters are
those of the threshold and mode alone, without the decisions applied: applied, the decisions
would always be right and say nothing about the threshold. Precision and recall are pairwise: a
judged pair counts as found when both questions land in one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..jobs import JobContext, NullContext
from ..mine.clustering import ClusterMode, Constraints

if TYPE_CHECKING:
    from ..ingest.questions import QuestionSet
    from ..mine.mining import MinedCollection
    from .decisions import ResolvedDecisions

# Thresholds Best F1 tries (the slider's range, 0.01 apart).
SWEEP = tuple(round(0.5 + 0.01 * i, 2) for i in range(51))


@dataclass(frozen=True)
class JudgedPairs:
    row1: np.ndarray
    row2: np.ndarray
    labels: np.ndarray  # int8 1/0
    n_from_file: int
    n_from_review: int

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class ClusterEstimate:
    threshold: float
    mode: str
    precision: float
    recall: float
    f1: float
    n_pairs: int
    n_positive: int


def judged_pairs(questions: QuestionSet, resolved: ResolvedDecisions | None) -> JudgedPairs | None:
    """The file's labelled pairs and the review's decisions as pairs; None when there are none
    or they hold no duplicate."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (row1, row2, label) arrays
    n_file = n_review = 0
    if questions.pair_index is not None:
        r1, r2, lab = questions.pair_index
        parts.append((r1, r2, lab.astype(np.int8)))
        n_file = len(lab)
    if resolved is not None:
        for pairs, label in ((resolved.constraints.must_link, 1), (resolved.constraints.cannot_link, 0)):
            if pairs:
                rows = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
                parts.append((rows[:, 0], rows[:, 1], np.full(len(rows), label, np.int8)))
                n_review += len(rows)
    if not parts:
        return None
    row1, row2, labels = (np.concatenate(column) for column in zip(*parts))
    if not labels.any():
        return None
    return JudgedPairs(row1, row2, labels, n_file, n_review)


def score_clusters(cluster_labels: np.ndarray, pairs: JudgedPairs, threshold: float, mode: str) -> ClusterEstimate:
    together = cluster_labels[pairs.row1] == cluster_labels[pairs.row2]
    positive = pairs.labels == 1
    tp = int(np.count_nonzero(together & positive))
    predicted = int(np.count_nonzero(together))
    n_positive = int(np.count_nonzero(positive))
    precision = tp / predicted if predicted else 1.0
    recall = tp / n_positive if n_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClusterEstimate(threshold, mode, precision, recall, f1, len(pairs), n_positive)


def estimate_clusters(mined: MinedCollection, pairs: JudgedPairs, threshold: float, mode: ClusterMode,
                      ctx: JobContext | None = None) -> ClusterEstimate:
    """The clusters of ``threshold`` and ``mode`` (no decisions applied), scored on ``pairs``."""
    clustering = mined.cluster(threshold, mode=mode, constraints=Constraints(), ctx=ctx)
    return score_clusters(clustering.labels, pairs, threshold, mode)


def best_cluster_threshold(mined: MinedCollection, pairs: JudgedPairs, mode: ClusterMode,
                           ctx: JobContext | None = None, thresholds: tuple[float, ...] = SWEEP) -> ClusterEstimate:
    """The threshold whose clusters score the best F1 on ``pairs`` (the higher threshold on a tie)."""
    ctx = ctx or NullContext()
    best: ClusterEstimate | None = None
    for i, threshold in enumerate(sorted(thresholds, reverse=True)):
        ctx.check_cancelled()
        ctx.set_progress(i, len(thresholds))
        estimate = estimate_clusters(mined, pairs, threshold, mode, ctx)
        if best is None or estimate.f1 > best.f1 + 1e-12:
            best = estimate
    ctx.set_progress(len(thresholds), len(thresholds))
    assert best is not None
    return best
