"""The review as labelled pairs to learn from: what "Improve the model from my review" trains on.

Duplicates (1): pairs answered "duplicate", merges, and the pairs inside each confirmed cluster
(every pair of its members, up to PAIRS_PER_GROUP per cluster). Not duplicates (0): pairs answered
"not", and each question taken out of a cluster with the members it was taken from. A pair the
decisions call both is not a duplicate (as in the clusters, a cannot-link wins). The file's own
labelled pairs (a pair file) come after, where the review did not decide them otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..ingest.questions import QuestionSet
    from .decisions import ResolvedDecisions

PAIRS_PER_GROUP = 45  # all pairs of a confirmed cluster of 10


@dataclass(frozen=True)
class LabelledRows:
    row1: np.ndarray  # int64 rows of the QuestionSet
    row2: np.ndarray
    labels: np.ndarray  # int8 1/0
    from_review: np.ndarray  # bool: decided in the review (else: the file's own label)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_review(self) -> int:
        return int(self.from_review.sum())

    @property
    def n_duplicates(self) -> int:
        return int(np.count_nonzero(self.labels == 1))

    @property
    def n_not(self) -> int:
        return int(np.count_nonzero(self.labels == 0))


def review_pairs(questions: QuestionSet, resolved: ResolvedDecisions | None,
                 include_file: bool = True) -> LabelledRows:
    """Every labelled pair the session knows (see the module), each pair once, in a stable order."""
    labels: dict[tuple[int, int], int] = {}
    if resolved is not None:
        c = resolved.constraints
        for a, b in c.must_link:
            labels[_ordered(a, b)] = 1
        for group in resolved.confirmed_groups:
            for a, b in list(combinations(sorted(group), 2))[:PAIRS_PER_GROUP]:
                labels.setdefault(_ordered(a, b), 1)
        for a, b in c.cannot_link:
            labels[_ordered(a, b)] = 0  # wins over a confirmation that chained through it
        for pair, verdict in resolved.answers.items():
            if verdict in (0, 1):
                labels[_ordered(*pair)] = verdict  # the user's latest word on exactly this pair
    n_review = len(labels)
    if include_file and questions.pair_index is not None:
        r1, r2, lab = questions.pair_index
        for a, b, y in zip(r1.tolist(), r2.tolist(), lab.tolist()):
            if a != b:
                labels.setdefault(_ordered(a, b), int(y))
    pairs = np.array(list(labels), dtype=np.int64).reshape(-1, 2)
    values = np.fromiter(labels.values(), np.int8, len(labels))
    from_review = np.zeros(len(labels), bool)
    from_review[:n_review] = True
    return LabelledRows(pairs[:, 0], pairs[:, 1], values, from_review)


def _ordered(a: int, b: int) -> tuple[int, int]:
    a, b = int(a), int(b)
    return (a, b) if a < b else (b, a)
