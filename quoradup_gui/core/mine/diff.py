"""What changed between two clusterings of one collection (two models at the same threshold and mode).

Cluster changes, each named by the after clustering's cluster (or the before one for a cluster
that is gone): a cluster *appears* (all its members were on their own before), *disappears* (all
its members are on their own now), *grows* (it holds a whole earlier cluster and more), *shrinks*
(it is part of an earlier cluster) or is *reshaped* (it gained some and lost some). Pairs that
crossed the threshold: candidate pairs of either graph whose similarity is on the other side of
the threshold under the new model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .clustering import Clustering
from .graph import NeighbourGraph

ChangeKind = Literal["appears", "disappears", "grows", "shrinks", "reshaped"]


@dataclass(frozen=True)
class ClusterChange:
    kind: ChangeKind
    rows: tuple[int, ...]  # the cluster's members now (before, for "disappears")
    before: tuple[int, ...]  # the members of the earlier cluster it is matched with (empty for "appears")
    canonical: int  # the kept question (now; before for "disappears")

    @property
    def size_before(self) -> int:
        return len(self.before)

    @property
    def size_after(self) -> int:
        return 0 if self.kind == "disappears" else len(self.rows)

    @property
    def gained(self) -> tuple[int, ...]:
        return () if self.kind == "disappears" else tuple(sorted(set(self.rows) - set(self.before)))

    @property
    def lost(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.before) - set(self.rows))) if self.kind != "disappears" else self.before


@dataclass(frozen=True)
class CrossedPair:
    row1: int
    row2: int
    before: float
    after: float

    @property
    def joined(self) -> bool:
        """Now at or above the threshold (it was below)."""
        return self.after > self.before


@dataclass(frozen=True)
class ClusteringDiff:
    threshold: float
    mode: str
    changes: tuple[ClusterChange, ...]
    crossed: tuple[CrossedPair, ...]
    n_multi_before: int
    n_multi_after: int
    n_removed_before: int
    n_removed_after: int

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def summary(self) -> str:
        words = {"appears": "new", "disappears": "gone", "grows": "grown", "shrinks": "shrunk", "reshaped": "changed"}
        parts = [f"{self.count(k):,} {w}" for k, w in words.items() if self.count(k)]
        joined = sum(1 for p in self.crossed if p.joined)
        clusters = f"clusters: {', '.join(parts)}" if parts else "no cluster changed"
        return (f"{clusters} · {joined:,} pairs now above the threshold, {len(self.crossed) - joined:,} now below · "
                f"duplicate clusters {self.n_multi_before:,} → {self.n_multi_after:,}, rows an export removes "
                f"{self.n_removed_before:,} → {self.n_removed_after:,}")


def diff_clusterings(before: Clustering, after: Clustering, before_embeddings: np.ndarray | None = None,
                     after_embeddings: np.ndarray | None = None, graphs: tuple[NeighbourGraph, ...] = (),
                     max_pairs: int = 5000) -> ClusteringDiff:
    """Compare two clusterings of the same rows; with the two models' embeddings and graphs, also
    the candidate pairs that crossed ``after.threshold`` (largest change first, at most ``max_pairs``)."""
    if before.n != after.n:
        raise ValueError("the two clusterings are not of the same rows")
    changes: list[ClusterChange] = []
    b_sizes, a_sizes = before.sizes, after.sizes
    for cid in after.multi_clusters():
        rows = after.members(int(cid))
        earlier = before.labels[rows]
        if (b_sizes[earlier] == 1).all():
            kind, matched = "appears", np.empty(0, np.int64)
        else:
            main = int(np.bincount(earlier).argmax())
            matched = before.members(main)
            now, then = set(rows.tolist()), set(matched.tolist())
            if now == then:
                continue
            kind = "grows" if now > then else "shrinks" if now < then else "reshaped"
        changes.append(ClusterChange(kind, tuple(int(r) for r in rows), tuple(int(r) for r in matched),
                                     int(after.canonical[cid])))
    for cid in before.multi_clusters():
        rows = before.members(int(cid))
        if (a_sizes[after.labels[rows]] == 1).all():
            changes.append(ClusterChange("disappears", tuple(int(r) for r in rows), tuple(int(r) for r in rows),
                                         int(before.canonical[cid])))
    crossed: list[CrossedPair] = []
    if before_embeddings is not None and after_embeddings is not None and graphs:
        crossed = crossed_pairs(before_embeddings, after_embeddings, graphs, after.threshold, max_pairs)
    order = {"appears": 0, "disappears": 1, "grows": 2, "shrinks": 3, "reshaped": 4}
    changes.sort(key=lambda c: (order[c.kind], -max(len(c.rows), len(c.before)), c.canonical))
    return ClusteringDiff(float(after.threshold), after.mode, tuple(changes), tuple(crossed), before.n_multi,
                          after.n_multi, before.n_removed, after.n_removed)


def crossed_pairs(before_embeddings: np.ndarray, after_embeddings: np.ndarray, graphs: tuple[NeighbourGraph, ...],
                  threshold: float, max_pairs: int = 5000) -> list[CrossedPair]:
    """Pairs of the graphs (either model's candidates) whose similarity crossed ``threshold``."""
    n = before_embeddings.shape[0]
    keys = np.unique(np.concatenate([g.sources.astype(np.int64) * n + g.targets.astype(np.int64) for g in graphs]))
    a, b = keys // n, keys % n
    s_before = np.einsum("ij,ij->i", before_embeddings[a], before_embeddings[b])
    s_after = np.einsum("ij,ij->i", after_embeddings[a], after_embeddings[b])
    crossed = np.flatnonzero((s_before >= threshold) != (s_after >= threshold))
    crossed = crossed[np.argsort(-np.abs(s_after[crossed] - s_before[crossed]), kind="stable")][:max_pairs]
    return [CrossedPair(int(a[i]), int(b[i]), float(s_before[i]), float(s_after[i])) for i in crossed]
