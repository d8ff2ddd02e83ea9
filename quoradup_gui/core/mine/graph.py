"""The top-k neighbour graph: computed once per collection and model, then sliced at any threshold.

Embeddings are L2-normalised, so cosine similarity is an inner product. Every row gets its k
nearest neighbours through faiss (exact up to ``exact_limit`` rows, approximate above); rows whose
normalised text is identical are linked with score-1.0 edges whatever their embeddings say.
Edges are undirected, stored once (source < target) and sorted by score, best first, so "all
edges at or above t" is a binary search and a slice. The graph also carries its single-linkage
order (:class:`LinkageOrder`): rows arranged so that the connected components at any threshold
are contiguous runs. Both keep the threshold slider interactive (clustering.py never looks at
an n x n matrix).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_writer
from ..jobs import JobContext, NullContext
from .neighbours import EXACT_LIMIT, FASTSCAN_LIMIT, top_k_neighbours, unit_float32

FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class LinkageOrder:
    """The graph's single-linkage dendrogram, flattened: at every threshold t, each connected
    component of the edges >= t is one contiguous run of ``order``."""

    order: np.ndarray  # int32 (n,), a permutation of the rows
    joins: np.ndarray  # float32 (n-1,): order[i], order[i+1] are in one run iff joins[i] >= t

    def runs_at(self, threshold: float) -> np.ndarray:
        """int64 (n,): the run (component) number of each position of ``order``, 0, 1, ..."""
        runs = np.zeros(self.order.size, np.int64)
        np.cumsum(self.joins < np.float32(threshold), out=runs[1:])
        return runs

    @cached_property
    def position(self) -> np.ndarray:
        """int64 (n,): where each row sits in ``order`` (the inverse permutation)."""
        position = np.empty(self.order.size, np.int64)
        position[self.order] = np.arange(self.order.size)
        return position

    def n_components_at(self, threshold: float) -> int:
        return int(self.order.size - np.count_nonzero(self.joins >= np.float32(threshold)))


@dataclass(frozen=True, eq=False)  # eq=False: identity hashing, so clustering can memoise per graph
class NeighbourGraph:
    n: int
    k: int
    sources: np.ndarray  # int32 (E,), sources < targets, each undirected pair once
    targets: np.ndarray  # int32 (E,)
    scores: np.ndarray  # float32 (E,), cosine, sorted descending
    exact_group: np.ndarray  # int32 (n,), shared id >= 0 for identical normalised text, else -1
    method: str  # "exact" | "approx"
    min_score: float
    # float32 (n,): score of each row's own k-th neighbour (-inf when it has fewer). A row whose
    # k-th neighbour is >= t may have more neighbours >= t than the graph holds; community mode
    # recomputes exactly those rows. None (hand-built graphs) falls back to a degree test.
    kth_scores: np.ndarray | None = None

    @property
    def n_edges(self) -> int:
        return int(self.scores.shape[0])

    @cached_property
    def _ascending_negated_scores(self) -> np.ndarray:
        return -self.scores  # searchsorted needs ascending order; negate once, not per call

    def count_at_or_above(self, threshold: float) -> int:
        """Number of edges with score >= threshold (compared in float32, like the scores)."""
        return int(np.searchsorted(self._ascending_negated_scores, -np.float32(threshold), side="right"))

    def edges_at_or_above(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sources, targets, scores) of the edges with score >= threshold: views, O(log E)."""
        m = self.count_at_or_above(threshold)
        return self.sources[:m], self.targets[:m], self.scores[:m]

    @cached_property
    def linkage(self) -> LinkageOrder:
        """Computed once (build_neighbour_graph does it, and it is saved with the graph)."""
        return _single_linkage_order(self)

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write an .npz atomically (core.atomic)."""
        path = Path(path)
        arrays = {
            "format_version": np.int64(FORMAT_VERSION),
            "n": np.int64(self.n),
            "k": np.int64(self.k),
            "method": np.str_(self.method),
            "min_score": np.float64(self.min_score),
            "sources": self.sources,
            "targets": self.targets,
            "scores": self.scores,
            "exact_group": self.exact_group,
        }
        if self.kth_scores is not None:
            arrays["kth_scores"] = self.kth_scores
        if "linkage" in self.__dict__:  # computed already: save it rather than recompute on load
            arrays["linkage_order"] = self.linkage.order
            arrays["linkage_joins"] = self.linkage.joins
        with atomic_writer(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NeighbourGraph:
        """Read a graph written by :meth:`save`; ValueError if the file is corrupt or foreign."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format_version"]) != FORMAT_VERSION:
                    raise ValueError(f"unsupported format version {int(z['format_version'])}")
                graph = cls(
                    n=int(z["n"]),
                    k=int(z["k"]),
                    sources=z["sources"],
                    targets=z["targets"],
                    scores=z["scores"],
                    exact_group=z["exact_group"],
                    method=str(z["method"]),
                    min_score=float(z["min_score"]),
                    kth_scores=z["kth_scores"] if "kth_scores" in z.files else None,
                )
                if "linkage_order" in z.files:
                    graph.__dict__["linkage"] = LinkageOrder(z["linkage_order"], z["linkage_joins"])
        except FileNotFoundError:
            raise
        except Exception as err:  # zipfile/EOF/key errors of a damaged file all mean "corrupt"
            raise ValueError(f"Corrupt neighbour graph file {os.fspath(path)!r}: {err}") from err
        graph.validate()
        return graph

    def validate(self) -> None:
        """Raise ValueError unless the arrays are consistent (cheap: O(E) vector checks)."""
        e = self.scores.shape
        checks = [
            (self.n >= 0 and self.k >= 0, "negative n or k"),
            (self.method in ("exact", "approx"), f"unknown method {self.method!r}"),
            (self.sources.dtype == np.int32 and self.targets.dtype == np.int32, "edge ids not int32"),
            (self.scores.dtype == np.float32, "scores not float32"),
            (len(e) == 1 and self.sources.shape == e == self.targets.shape, "edge arrays differ in shape"),
            (self.exact_group.shape == (self.n,) and self.exact_group.dtype == np.int32, "bad exact_group"),
            (self.kth_scores is None or self.kth_scores.shape == (self.n,), "bad kth_scores"),
        ]
        if "linkage" in self.__dict__:
            order, joins = self.linkage.order, self.linkage.joins
            shapes_ok = order.shape == (self.n,) and joins.shape == (max(self.n - 1, 0),)
            is_permutation = shapes_ok and np.array_equal(np.sort(order), np.arange(self.n))
            checks.append((is_permutation, "bad linkage order"))
        for ok, why in checks:
            if not ok:
                raise ValueError(f"Invalid neighbour graph: {why}")
        if e[0]:
            in_range = self.sources.min() >= 0 and self.targets.max() < self.n
            if not (in_range and np.all(self.sources < self.targets)):
                raise ValueError("Invalid neighbour graph: edge ids out of range or not source < target")
            if np.any(self.scores[1:] > self.scores[:-1]):
                raise ValueError("Invalid neighbour graph: scores not sorted descending")


def exact_duplicate_groups(normalized_texts: Sequence[str]) -> np.ndarray:
    """int32 (n,): a group id >= 0 shared by rows with identical text (ids in order of first
    appearance), -1 for rows whose text is unique."""
    first_seen: dict[str, int] = {}
    # One hash lookup per row (setdefault); no sort of the strings, no n x maxlen array.
    codes = np.fromiter(
        (first_seen.setdefault(t, len(first_seen)) for t in normalized_texts),
        dtype=np.int64,
        count=len(normalized_texts),
    )
    counts = np.bincount(codes, minlength=len(first_seen))
    repeated = counts >= 2
    group_of_code = np.full(len(counts), -1, dtype=np.int32)
    group_of_code[repeated] = np.arange(int(repeated.sum()), dtype=np.int32)  # codes are first-seen ordered
    return group_of_code[codes]


def exact_group_star_pairs(exact_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of the group, other row) for every row in an exact group but not its first."""
    rows = np.flatnonzero(exact_group >= 0)
    if rows.size == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    groups = exact_group[rows]
    first = np.full(int(groups.max()) + 1, np.iinfo(np.int32).max, dtype=np.int64)
    np.minimum.at(first, groups, rows)
    heads = first[groups]
    others = heads != rows
    return heads[others].astype(np.int32), rows[others].astype(np.int32)


def build_neighbour_graph(
    embeddings: np.ndarray,
    normalized_texts: Sequence[str] | None = None,
    *,
    k: int = 10,
    min_score: float = 0.5,
    exact_limit: int = EXACT_LIMIT,
    fastscan_limit: int = FASTSCAN_LIMIT,
    ctx: JobContext | None = None,
) -> NeighbourGraph:
    """Top-k cosine neighbours of every row (edges >= min_score) plus exact-duplicate edges."""
    ctx = ctx or NullContext()
    emb = unit_float32(embeddings)
    n = emb.shape[0]
    if normalized_texts is not None and len(normalized_texts) != n:
        raise ValueError(f"{len(normalized_texts)} texts for {n} embeddings")
    if k < 1:
        raise ValueError("k must be at least 1")
    exact_group = (
        exact_duplicate_groups(normalized_texts) if normalized_texts is not None else np.full(n, -1, np.int32)
    )
    method = "exact" if n <= exact_limit else "approx"
    k_eff = min(k, n - 1)
    nbr_scores, nbr_ids = top_k_neighbours(
        emb, k_eff, approximate=method == "approx", fastscan_limit=fastscan_limit, ctx=ctx
    )

    # A row's list is complete at any threshold if it holds all n-1 other rows.
    kth = np.full(n, -np.inf, np.float32)
    if k_eff == k:
        kth = np.where(nbr_ids[:, -1] >= 0, nbr_scores[:, -1], -np.inf).astype(np.float32)

    keep = (nbr_ids >= 0) & (nbr_scores >= np.float32(min_score))
    src = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], nbr_ids.shape)[keep]
    dst = nbr_ids[keep]
    sc = nbr_scores[keep]
    star_src, star_dst = exact_group_star_pairs(exact_group)
    src = np.concatenate([src, star_src])
    dst = np.concatenate([dst, star_dst])
    sc = np.concatenate([sc, np.ones(star_src.size, np.float32)])
    sources, targets, scores = _undirected_sorted(src, dst, sc, n)
    graph = NeighbourGraph(
        n=n, k=k, sources=sources, targets=targets, scores=scores, exact_group=exact_group,
        method=method, min_score=float(min_score), kth_scores=kth,
    )
    ctx.check_cancelled()
    ctx.set_status("Ordering rows by similarity…")
    _ = graph.linkage  # compute now, in the background job, so that it is saved with the graph
    ctx.set_status(f"Neighbour graph: {graph.n_edges:,} edges ({method})")
    return graph


def _undirected_sorted(src, dst, sc, n: int):
    """Canonical (min, max) pairs, one per pair (the higher score), sorted by score desc."""
    src = np.asarray(src, np.int64)
    dst = np.asarray(dst, np.int64)
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    sc = np.minimum(np.asarray(sc, np.float32), np.float32(1.0))  # identical vectors can give 1+eps
    key = a * max(n, 1) + b
    order = np.lexsort((-sc, key))  # by pair, best score first within a pair
    key_sorted = key[order]
    first = np.ones(key_sorted.size, bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    sel = order[first]
    by_score = sel[np.lexsort((key[sel], -sc[sel]))]  # ties broken by pair: deterministic files
    return a[by_score].astype(np.int32), b[by_score].astype(np.int32), sc[by_score]


def _single_linkage_order(graph: NeighbourGraph) -> LinkageOrder:
    """Kruskal over the maximum spanning forest, best edge first, concatenating the row lists
    of the two components each edge joins; the junction remembers the edge's score."""
    n = graph.n
    src, dst, scores = _maximum_spanning_forest(graph)
    parent = list(range(n))
    head = list(range(n))
    tail = list(range(n))
    following = [-1] * n
    junction = [float("-inf")] * n  # score joining a row to the row after it in its list
    for a, b, score in zip(src.tolist(), dst.tolist(), scores.tolist()):
        while parent[a] != a:
            parent[a] = a = parent[parent[a]]  # path halving
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a == b:
            continue
        following[tail[a]] = head[b]
        junction[tail[a]] = score
        parent[a] = b
        head[b] = head[a]  # the joined list runs from a's head to b's tail
    order = []
    for root in range(n):
        if parent[root] == root:
            row = head[root]
            while row != -1:
                order.append(row)
                row = following[row]
    order_arr = np.asarray(order, np.int32)
    joins = np.asarray(junction, np.float32)[order_arr[:-1]] if n else np.empty(0, np.float32)
    return LinkageOrder(order_arr, joins)


def _maximum_spanning_forest(graph: NeighbourGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of a maximum spanning forest, best first: the only edges single linkage needs."""
    if graph.n_edges == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float32)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    # Kruskal minimises; 2 - score is positive (a zero weight would mean "no edge") and, in
    # float64, exact: 2 - (2 - score) gives the float32 score back bit for bit.
    weights = 2.0 - graph.scores.astype(np.float64)
    adjacency = csr_matrix((weights, (graph.sources, graph.targets)), shape=(graph.n, graph.n))
    tree = minimum_spanning_tree(adjacency).tocoo()
    scores = (2.0 - tree.data).astype(np.float32)
    best_first = np.argsort(-scores, kind="stable")
    return tree.row[best_first], tree.col[best_first], scores[best_first]
