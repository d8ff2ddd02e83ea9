"""Clusters at a threshold, re-run on every slider move from the cached neighbour graph.

Three modes:
- ``kept`` (the default): every duplicate joins the most similar kept question; no chains (see
  kept.py for the rule, and why it measures best).
- ``connected``: connected components of the edges >= threshold (transitive: a~b, b~c joins a, c),
  read off the graph's single-linkage order as runs (graph.LinkageOrder): O(n), no traversal.
- ``community``: the semantics of ``sentence_transformers.util.community_detection`` with
  ``min_community_size=2``: a community is a centre plus every row whose cosine to that centre is
  >= threshold; candidates are taken largest first (ties: lower centre row first) and rows
  already claimed are skipped. The graph holds only top-k lists, so rows whose k-th neighbour is
  still >= threshold get their full neighbourhood recomputed from the embeddings (memoised).

Then constraints (must-link joins, cannot-link separates; when they contradict, cannot-link
wins) and one canonical row per cluster.
The no-constraint path is vectorised; only clusters holding a cannot-link pair are re-clustered
with the union-find of core.unionfind.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from ..jobs import JobContext, NullContext
from ..unionfind import UnionFind
from .defaults import DEFAULT_MODE
from .graph import NeighbourGraph, exact_group_star_pairs
from .kept import kept_question_labels
from .neighbours import inner_products_by_idx

ClusterMode = Literal["kept", "connected", "community"]
CanonicalPolicy = Literal["central", "longest", "first"]
MODES: tuple[ClusterMode, ...] = get_args(ClusterMode)
POLICIES: tuple[CanonicalPolicy, ...] = get_args(CanonicalPolicy)


@dataclass(frozen=True)
class Constraints:
    must_link: tuple[tuple[int, int], ...] = ()  # always joined, at any threshold
    cannot_link: tuple[tuple[int, int], ...] = ()  # never in one cluster (beats a must-link chain)
    canonical: tuple[int, ...] = ()  # rows the user chose as their cluster's canonical question
    kept: tuple[int, ...] = ()  # rows that stay canonical because the user reviewed their cluster (a choice wins)


@dataclass(frozen=True, eq=False)
class Clustering:
    labels: np.ndarray  # int32 (n,), 0..n_clusters-1, numbered in order of each cluster's first row
    canonical: np.ndarray  # int32 (n_clusters,)
    similarity_to_canonical: np.ndarray  # float32 (n,), 1.0 for canonical rows and singletons
    threshold: float
    mode: ClusterMode
    policy: str

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_clusters(self) -> int:
        return int(self.canonical.shape[0])

    @cached_property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.n_clusters)

    @property
    def n_multi(self) -> int:
        return int(np.count_nonzero(self.sizes >= 2))

    @property
    def n_in_multi(self) -> int:
        return int(self.sizes[self.sizes >= 2].sum())

    @property
    def n_removed(self) -> int:
        """Rows a deduplicated export drops: all but one per cluster."""
        return self.n - self.n_clusters

    @cached_property
    def _order(self) -> tuple[np.ndarray, np.ndarray]:
        # Rows grouped by cluster, file order inside (stable sort), computed once on first use.
        order = np.argsort(self.labels, kind="stable").astype(np.int32)
        starts = np.zeros(self.n_clusters + 1, np.int64)
        np.cumsum(self.sizes, out=starts[1:])
        return order, starts

    def members(self, cluster_id: int) -> np.ndarray:
        order, starts = self._order
        return order[starts[cluster_id] : starts[cluster_id + 1]]

    def multi_clusters(self) -> np.ndarray:
        """Ids of clusters with 2+ rows, largest first (ties: earlier cluster first)."""
        ids = np.flatnonzero(self.sizes >= 2)
        return ids[np.argsort(-self.sizes[ids], kind="stable")].astype(np.int32)


def cluster_at_threshold(
    graph: NeighbourGraph,
    embeddings: np.ndarray,
    threshold: float,
    *,
    mode: ClusterMode = DEFAULT_MODE,
    canonical_policy: str = "central",
    constraints: Constraints | None = None,
    text_lengths: np.ndarray | None = None,
    ctx: JobContext | None = None,
) -> Clustering:
    """Cluster the rows of ``graph`` at ``threshold`` (>= graph.min_score).

    ``ctx`` matters only in community mode, whose first call at a low threshold may have to
    search many rows exhaustively (progress and cancel per block; later calls reuse it)."""
    n = graph.n
    t = _check_threshold(graph, threshold)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if canonical_policy not in POLICIES:
        raise ValueError(f"canonical_policy must be one of {POLICIES}, not {canonical_policy!r}")
    if canonical_policy == "longest" and (text_lengths is None or len(text_lengths) != n):
        raise ValueError("canonical_policy='longest' needs text_lengths for every row")
    if embeddings.shape[0] != n:
        raise ValueError(f"{embeddings.shape[0]} embeddings for a graph of {n} rows")
    constraints = constraints or Constraints()
    must = _pairs(constraints.must_link, n)
    cannot = _pairs(constraints.cannot_link, n)
    cannot = cannot[cannot[:, 0] != cannot[:, 1]]
    src, dst, scores = graph.edges_at_or_above(t)

    if mode == "connected":
        # Components are runs of the graph's single-linkage order (exact-duplicate edges, score
        # 1.0, included): a cumulative sum, no graph traversal. Must-links then join runs.
        runs = graph.linkage.runs_at(t)
        labels = np.empty(n, np.int64)
        labels[graph.linkage.order] = runs
        if must.size:
            labels = _components(int(runs[-1]) + 1, labels[must[:, 0]], labels[must[:, 1]])[labels]
    else:
        if mode == "kept":
            communities, centres = kept_question_labels(n, src, dst, scores)
        else:
            communities, centres = _community_labels(graph, embeddings, t, src, dst, ctx or NullContext())
        exact_a, exact_b = exact_group_star_pairs(graph.exact_group)  # identical text stays together
        must = np.concatenate([must, np.stack([exact_a, exact_b], axis=1)])
        labels = communities
        if must.size:  # join whole communities
            labels = _components(len(centres), communities[must[:, 0]], communities[must[:, 1]])[communities]

    if cannot.size and np.any(labels[cannot[:, 0]] == labels[cannot[:, 1]]):
        if mode != "connected":  # its centre-to-member links are edges too
            members = np.flatnonzero(centres[communities] != np.arange(n))
            hub = centres[communities[members]]
            hub_scores = np.einsum("ij,ij->i", embeddings[members], embeddings[hub]).astype(np.float32)
            src, dst = np.concatenate([src, hub]), np.concatenate([dst, members])
            scores = np.concatenate([scores, hub_scores])
        labels = _separate_cannot_links(labels, src, dst, scores, must, cannot)

    labels, first_rows = _renumber_by_first_row(labels)
    policy, preset = canonical_policy, None
    if mode == "kept" and canonical_policy == "central":
        # The kept question is the central one: every member is at least the threshold similar
        # to it. (No cluster sums needed: at 200k rows and t = 0.5 they took 55 of 190 ms.)
        # Clusters joined by must-links take their earliest kept row, split ones their first row.
        policy, preset = "first", centres  # kept_question_labels gives them ascending
    canonical, similarity = _canonical_and_similarity(
        labels, first_rows, graph.linkage, _reordered(graph, embeddings), policy, text_lengths,
        constraints.kept + constraints.canonical, preset,
    )
    return Clustering(labels, canonical, similarity, float(threshold), mode, canonical_policy)


def clusters_at_thresholds(graph: NeighbourGraph, thresholds) -> list[int]:
    """Connected-mode cluster count per threshold (no constraints), for a curve next to the
    slider: runs of the single-linkage order, O(n) per threshold."""
    return [graph.linkage.n_components_at(_check_threshold(graph, t)) for t in thresholds]


# ---- connected components and numbering ------------------------------------------------
def _check_threshold(graph: NeighbourGraph, threshold: float) -> np.float32:
    t = np.float32(threshold)
    if not np.isfinite(t) or t < np.float32(graph.min_score):
        raise ValueError(f"threshold {threshold} is below the graph's min_score {graph.min_score}")
    return t


def _pairs(pairs, n: int) -> np.ndarray:
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError("a constraint refers to a row that does not exist")
    return arr


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    if src.size == 0:
        return np.arange(n, dtype=np.int64)
    adjacency = csr_matrix((np.ones(src.size, bool), (src, dst)), shape=(n, n))
    return connected_components(adjacency, directed=True, connection="weak")[1].astype(np.int64)


def _renumber_by_first_row(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids 0.. in order of each cluster's first row, without sorting; returns (labels, first rows)."""
    n = labels.size
    if n == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    rows = np.arange(n, dtype=np.int64)
    first = np.full(int(labels.max()) + 1, n, np.int64)
    np.minimum.at(first, labels, rows)
    is_first = first[labels] == rows
    first_rows = np.flatnonzero(is_first)
    new_id = np.empty(first.size, np.int32)
    new_id[labels[first_rows]] = np.arange(first_rows.size, dtype=np.int32)
    return new_id[labels], first_rows.astype(np.int32)


# ---- community mode ---------------------------------------------------------------------
# Per graph (weakly held): exact neighbourhoods of the rows whose top-k list was not enough,
# computed at the lowest threshold asked so far. Any higher threshold only filters them.
_RECOMPUTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_MEMO_PAIRS = 50_000_000  # 600 MB (int32, int32, float32): beyond, search again next time
_RANGE_BLOCK = 4096  # rows per exhaustive search call: a progress and cancel point


def _community_labels(graph, embeddings, t, src, dst, ctx) -> tuple[np.ndarray, np.ndarray]:
    """Labels (communities first, then singletons) and each cluster's centre row."""
    n = graph.n
    indptr, indices = _neighbourhoods(graph, embeddings, t, src, dst, ctx)
    sizes = np.diff(indptr)  # neighbours other than the row itself
    candidates = np.flatnonzero(sizes >= 1)
    # Largest first; the stable sort keeps lower centre rows first among ties, as util does.
    candidates = candidates[np.argsort(-sizes[candidates], kind="stable")]
    used = np.zeros(n, bool)
    labels = np.full(n, -1, np.int64)
    centres: list[int] = []
    for centre in candidates.tolist():
        if used[centre]:
            continue
        nbrs = indices[indptr[centre] : indptr[centre + 1]]
        free = nbrs[~used[nbrs]]
        if free.size:  # util keeps it if >= 2 unclaimed rows, the centre included
            used[free] = True
            used[centre] = True
            labels[free] = len(centres)
            labels[centre] = len(centres)
            centres.append(centre)
    alone = np.flatnonzero(labels < 0)
    labels[alone] = np.arange(len(centres), len(centres) + alone.size)
    return labels, np.concatenate([np.asarray(centres, np.int64), alone])


def _neighbourhoods(graph, embeddings, t, src, dst, ctx) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of {j != i : cos(i, j) >= t} for every row i."""
    n = graph.n
    if graph.kth_scores is not None:
        incomplete = graph.kth_scores >= t
    else:  # conservative: a row with k edges >= t may have had its whole list >= t
        incomplete = np.bincount(np.concatenate([src, dst]), minlength=n) >= graph.k
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    keep = ~incomplete[a]
    a, b = a[keep], b[keep]
    by_row = np.argsort(a, kind="stable")
    # A row's neighbours come either from the graph (complete rows) or from the exact search
    # (already grouped by row), so each part can be placed without sorting the other.
    parts = [(a[by_row], b[by_row]), _exact_neighbourhoods(graph, embeddings, t, incomplete, ctx)]
    counts = [np.bincount(rows, minlength=n) for rows, _ in parts]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts[0] + counts[1], out=indptr[1:])
    indices = np.empty(int(indptr[-1]), np.int64)
    for (rows, nbrs), count in zip(parts, counts):
        rank = np.arange(rows.size) - (np.cumsum(count) - count)[rows]
        indices[indptr[rows] + rank] = nbrs
    return indptr, indices


def _exact_neighbourhoods(graph, embeddings, t, incomplete, ctx) -> tuple[np.ndarray, np.ndarray]:
    """Exact neighbours >= t of the incomplete rows, grouped by row (ascending)."""
    rows = np.flatnonzero(incomplete)
    if rows.size == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    memo = _RECOMPUTED.get(graph)
    if memo is None or memo[0] > t or memo[1] != embeddings.shape:
        pairs = _range_search(embeddings, rows, t, ctx)
        memo = (t, embeddings.shape, *pairs)
        if pairs[0].size <= _MAX_MEMO_PAIRS:
            _RECOMPUTED[graph] = memo
    _, _, row, nbr, score = memo
    keep = incomplete[row] & (score >= t)
    return row[keep], nbr[keep]


def _range_search(embeddings, rows, t, ctx):
    """(row, neighbour, score) for all neighbours >= t of ``rows``, self excluded: exact.
    Costs rows x n inner products (util.community_detection computes all n x n)."""
    import faiss  # lazily, like graph.py

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    index = faiss.IndexFlatIP(emb.shape[1])
    index.add(emb)
    # faiss keeps scores strictly above the radius; step one float below t, then filter >= t.
    radius = float(np.nextafter(t, np.float32(-2)))
    ctx.set_status(f"Completing the neighbourhoods of {rows.size:,} rows…")
    parts = []
    for start in range(0, rows.size, _RANGE_BLOCK):
        ctx.check_cancelled()
        block = rows[start : start + _RANGE_BLOCK]
        lims, scores, ids = index.range_search(emb[block], radius)
        row = np.repeat(block.astype(np.int32), np.diff(lims.astype(np.int64)))
        keep = (scores >= t) & (ids != row)
        parts.append((row[keep], ids[keep].astype(np.int32), scores[keep].astype(np.float32)))
        ctx.set_progress(start + block.size, rows.size)
    return tuple(np.concatenate(p) for p in zip(*parts))


# ---- cannot-links -----------------------------------------------------------------------
def _separate_cannot_links(labels, src, dst, scores, must, cannot) -> np.ndarray:
    """Re-cluster only the clusters holding a cannot-linked pair: union-find over must-links,
    then edges best first, refusing any union that would join two cannot-linked rows."""
    violated = labels[cannot[:, 0]] == labels[cannot[:, 1]]
    bad = np.zeros(int(labels.max()) + 1, bool)
    bad[labels[cannot[violated, 0]]] = True
    inside = bad[labels[src]] & (labels[src] == labels[dst])
    order = np.argsort(-scores[inside], kind="stable")
    edges = np.stack([src[inside][order], dst[inside][order]], axis=1)
    must_inside = must[bad[labels[must[:, 0]]] & (labels[must[:, 0]] == labels[must[:, 1]])]

    sets = UnionFind()
    forbid: dict[int, set[int]] = {}  # root -> rows its set may not join

    for a, b in cannot.tolist():
        forbid.setdefault(a, set()).add(b)
        forbid.setdefault(b, set()).add(a)
    for a, b in np.concatenate([must_inside, edges]).tolist():
        ra, rb = sets.find(a), sets.find(b)
        if ra == rb or any(sets.find(z) == rb for z in forbid.get(ra, ())):
            continue
        sets.union(ra, rb)
        if rb in forbid:
            forbid.setdefault(ra, set()).update(forbid.pop(rb))

    rows = np.flatnonzero(bad[labels])
    roots = np.fromiter((sets.find(r) for r in rows.tolist()), np.int64, rows.size)
    out = labels.copy()
    out[rows] = labels.max() + 1 + roots  # fresh ids; renumbering compacts them
    return out


# ---- canonical rows and similarity to them ----------------------------------------------
# Per graph (weakly held): the embeddings in linkage order, with the array they came from.
_REORDERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reordered(graph: NeighbourGraph, embeddings: np.ndarray) -> np.ndarray:
    """embeddings[graph.linkage.order], contiguous; memoised while the same array is passed."""
    memo = _REORDERED.get(graph)
    if memo is not None and memo[0]() is embeddings:
        return memo[1]
    reordered = np.ascontiguousarray(embeddings[graph.linkage.order], dtype=np.float32)
    _REORDERED[graph] = (weakref.ref(embeddings), reordered)
    return reordered


def _canonical_and_similarity(labels, first_rows, linkage, reordered, policy, text_lengths, chosen, preset=None):
    """Canonical row per cluster and each row's cosine to it.

    ``preset``: rows, ascending, that are their cluster's canonical whatever the policy (the
    earliest wins in a cluster holding several); ``chosen`` rows win over them.

    Memory-bound at 200k x 384 (300 MB a sweep), so every sweep streams through the embeddings
    in linkage order, where a cluster's rows sit together: cluster sums and per-cluster lookups
    then hit the cache (2x faster than in file order; gathering rows by cluster is slower still).
    """
    order = linkage.order
    sizes = np.bincount(labels, minlength=first_rows.size)
    canonical = first_rows.copy()  # "first", and the tie-break of every other policy
    at = labels[order]  # cluster of each position of the linkage order
    if policy == "longest":
        _, pos = _slots(at, sizes >= 2)
        _best_per_cluster(canonical, at, order, pos, np.asarray(text_lengths, np.float64)[order[pos]])
    elif policy == "central":
        # Both members of a pair have the same mean cosine to the other: the first row wins.
        # For 3+: mean cosine to the others ranks like member . centroid (the self term is 1).
        slot, pos = _slots(at, sizes >= 3)
        if pos.size:
            # Column j of the indicator holds position j: CSC @ embeddings streams through them.
            shape = (int(slot.max()) + 1, slot.size)
            summing = csc_matrix((np.ones(pos.size, np.float32), (slot[pos], pos)), shape=shape)
            sums = np.asarray(summing @ reordered, dtype=np.float32)
            _best_per_cluster(canonical, at, order, pos, _dot_by_slot(reordered, slot, sums)[pos])
    if preset is not None and preset.size:
        earliest = np.full(canonical.size, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(earliest, labels[preset], preset)
        given = earliest != np.iinfo(np.int64).max
        canonical[given] = earliest[given]
    for row in chosen:  # in order: kept rows, then the user's choices, which win
        canonical[labels[row]] = row

    similarity = np.ones(labels.size, np.float32)
    multi = sizes >= 2
    _, pos = _slots(at, multi)
    if pos.size:
        # Look the canonical up in the reordered array itself: it sits in (or near) the run.
        canonical_position = np.full(order.size, -1, np.int64)
        canonical_position[pos] = linkage.position[canonical[at[pos]]]
        similarity[order[pos]] = _dot_by_slot(reordered, canonical_position, reordered)[pos]
        similarity[canonical] = 1.0
    return canonical, similarity


def _best_per_cluster(canonical, at, order, pos, key) -> None:
    """canonical[c] = the row with the largest key in cluster c (ties: first row in file).

    ``pos`` ascending: runs of one cluster are reduced with reduceat (fast), and only the run
    winners go through ufunc.at (a cluster joined by must-links may span several runs)."""
    if pos.size == 0:
        return
    clusters = at[pos]
    starts = np.flatnonzero(np.concatenate([[True], clusters[1:] != clusters[:-1]]))
    run = np.repeat(np.arange(starts.size), np.diff(np.append(starts, pos.size)))
    best = np.maximum.reduceat(key, starts)
    rows = np.where(key >= best[run], order[pos], np.iinfo(np.int32).max).astype(np.int64)
    _argmax_into(canonical, clusters[starts], np.minimum.reduceat(rows, starts), best)


def _slots(labels, selected_clusters) -> tuple[np.ndarray, np.ndarray]:
    """Per entry: its cluster's index among the selected clusters, or -1; and the entries with one."""
    compact = np.full(selected_clusters.size, -1, np.int64)
    compact[selected_clusters] = np.arange(int(np.count_nonzero(selected_clusters)))
    slot = compact[labels]
    return slot, np.flatnonzero(slot >= 0)


def _dot_by_slot(embeddings, slot, table) -> np.ndarray:
    """out[i] = embeddings[i] . table[slot[i]] where slot[i] >= 0 (else -inf): one C loop, no
    (n, d) temporary, and rows with slot -1 are never read."""
    return inner_products_by_idx(embeddings, table, slot)


def _argmax_into(canonical, labels_of_rows, rows, key) -> None:
    """canonical[c] = the row with the largest key in cluster c (ties: first row in file)."""
    best = np.full(canonical.size, -np.inf)
    np.maximum.at(best, labels_of_rows, key)
    winners = key >= best[labels_of_rows]
    first = np.full(canonical.size, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, labels_of_rows[winners], rows[winners])
    touched = first != np.iinfo(np.int64).max
    canonical[touched] = first[touched]
