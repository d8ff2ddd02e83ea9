"""Check pairs: the candidate pairs whose answer teaches the model (and the clusters) the most.

A pair is worth asking about when the model is least sure of it: its similarity is near the
score where a pair is as likely a duplicate as not, or the similarity and the clusters disagree
(two questions in one cluster through a chain although they are not similar enough themselves;
similar enough but kept apart). Pairs already answered, or implied by the decisions (both in one
must-linked group, or in two groups that a "not a duplicate" separates), are never offered. The
queue is spread across the collection: each question appears once, and a cluster gives one pair
per pass over the clusters.

Where that even score lies is learnt from the answers: at first it is the threshold; once the
reviewer has answered a few duplicates and a few non-duplicates, a logistic fit of the answers
against their similarity says where the model's "maybe" really is (measured by
benchmarks/active_learning.py: at the best-F1 threshold only one pair in eight is a duplicate, so
a queue held there teaches mostly what is not a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..unionfind import UnionFind

if TYPE_CHECKING:
    from ..mine.clustering import Clustering
    from ..mine.mining import MinedCollection
    from .decisions import ResolvedDecisions

NEAR = 0.15  # pairs further than this from the threshold are sure enough (unless the clusters disagree)
DISAGREEMENT_BONUS = 0.05  # a disagreement with the clusters counts as this much closer to the threshold
MIN_EACH_TO_CALIBRATE = 3  # answered duplicates, and non-duplicates, before the answers move the centre


@dataclass(frozen=True)
class QueuePair:
    row1: int  # 0-based rows of the collection, row1 < row2
    row2: int
    score: float  # the model's cosine similarity
    together: bool  # the clusters shown put both in one cluster

    @property
    def reason(self) -> str:
        return "in one cluster" if self.together else "in different clusters"


class DecidedPairs:
    """Answers for "is this pair already decided?": answered, or implied by must- and cannot-links."""

    def __init__(self, resolved: ResolvedDecisions | None, n: int) -> None:
        self.answered = set(resolved.answers) if resolved is not None else set()
        sets = UnionFind()
        constraints = resolved.constraints if resolved is not None else None
        for a, b in (constraints.must_link if constraints else ()):
            sets.union(int(a), int(b))
        for group in (resolved.confirmed_groups if resolved is not None else ()):
            rows = sorted(group)
            for r in rows[1:]:
                sets.union(rows[0], r)
        self._sets = sets
        self._apart = {_ordered(sets.find(int(a)), sets.find(int(b)))
                       for a, b in (constraints.cannot_link if constraints else ())}

    def __contains__(self, pair: tuple[int, int]) -> bool:
        a, b = _ordered(int(pair[0]), int(pair[1]))
        if (a, b) in self.answered:
            return True
        ra, rb = self._sets.find(a), self._sets.find(b)
        return ra == rb or _ordered(ra, rb) in self._apart


def even_score(embeddings: np.ndarray, resolved: ResolvedDecisions | None, default: float) -> float:
    """The similarity at which an answered pair is as likely a duplicate as not (a logistic fit of
    the answers on their cosine similarity); ``default`` until there are enough answers of each kind."""
    answers = [(a, b, y) for (a, b), y in (resolved.answers.items() if resolved is not None else ()) if y in (0, 1)]
    labels = np.array([y for _, _, y in answers], dtype=np.float64)
    if labels.sum() < MIN_EACH_TO_CALIBRATE or len(labels) - labels.sum() < MIN_EACH_TO_CALIBRATE:
        return float(default)
    rows1 = np.array([a for a, _, _ in answers])
    rows2 = np.array([b for _, b, _ in answers])
    x = np.einsum("ij,ij->i", embeddings[rows1].astype(np.float64), embeddings[rows2].astype(np.float64))
    x = x - default
    w, c = 10.0, 0.0  # slope per unit of cosine, intercept; a few Newton steps with a weak prior on both
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-np.clip(w * x + c, -30.0, 30.0)))
        g = np.array([np.dot(p - labels, x) + 1e-3 * (w - 10.0), np.sum(p - labels) + 1e-3 * c])
        r = p * (1 - p)
        h = np.array([[np.dot(r, x * x) + 1e-3, np.dot(r, x)], [np.dot(r, x), r.sum() + 1e-3]])
        step = np.linalg.solve(h, g)
        w, c = w - step[0], c - step[1]
    if not np.isfinite(w) or w <= 1.0:  # answers that do not rise with similarity say nothing of where
        return float(default)
    return float(np.clip(default - c / w, default - NEAR, 0.99))


def uncertainty(scores: np.ndarray, together: np.ndarray, threshold: float, centre: float | None = None) -> np.ndarray:
    """How unsure the model is of each pair: 0 at ``centre`` (the even score; by default the
    threshold), larger further away; a pair the clusters disagree with (together below the
    threshold, apart at or above it) counts as nearer."""
    distance = np.abs(scores.astype(np.float64) - (threshold if centre is None else centre))
    disagree = together != (scores >= threshold)
    return np.where(disagree, np.maximum(distance - DISAGREEMENT_BONUS, 0.0), distance)


def pair_queue(mined: MinedCollection, clustering: Clustering, resolved: ResolvedDecisions | None, n: int,
               threshold: float | None = None, skip: set[tuple[int, int]] | frozenset = frozenset(),
               near: float = NEAR, calibrate: bool = True) -> list[QueuePair]:
    """Up to ``n`` pairs of the neighbour graph to ask about, most informative first (see the module).

    ``clustering`` is the one the user sees (decisions applied); ``skip``: pairs (row1 < row2) not
    to offer now (skipped this session); ``calibrate``: centre the queue on the even score the
    answers give (else on the threshold)."""
    if n <= 0:
        return []
    t = float(clustering.threshold if threshold is None else threshold)
    graph = mined.graph
    src, dst, scores = graph.sources.astype(np.int64), graph.targets.astype(np.int64), graph.scores
    labels = clustering.labels
    together = labels[src] == labels[dst]
    unsure = uncertainty(scores, together, t, even_score(mined.embeddings, resolved, t) if calibrate else t)
    disagree = together != (scores >= t)
    candidates = np.flatnonzero(((unsure <= near) | disagree) & (src != dst) & ~mined.blank[src] & ~mined.blank[dst])
    order = candidates[np.lexsort((candidates, unsure[candidates]))]  # surest last; ties in graph order
    decided = DecidedPairs(resolved, mined.n)
    picked: list[QueuePair] = []
    used_rows: set[int] = set()
    chosen: set[int] = set()
    # Pass after pass over the candidates: a cluster gives at most one pair per pass, so twenty
    # pairs come from twenty places before a second one comes from any cluster; a question is in
    # one pair only, until no pass can find such pairs any more.
    strict = True
    while len(picked) < n:
        clusters_this_pass: set[int] = set()
        added = False
        for e in order:
            if len(picked) >= n:
                break
            if e in chosen:
                continue
            a, b = int(src[e]), int(dst[e])
            if (strict and (a in used_rows or b in used_rows)) or (a, b) in skip:
                continue
            ca, cb = int(labels[a]), int(labels[b])
            if ca in clusters_this_pass or cb in clusters_this_pass:
                continue
            if (a, b) in decided:
                chosen.add(e)  # never again
                continue
            picked.append(QueuePair(a, b, float(scores[e]), bool(together[e])))
            chosen.add(e)
            used_rows.update((a, b))
            clusters_this_pass.update((ca, cb))
            added = True
        if not added:
            if not strict:
                break
            strict = False
    return picked


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)
