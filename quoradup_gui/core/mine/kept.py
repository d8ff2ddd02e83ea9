"""Kept-question clusters: every duplicate joins one kept question it is similar to; no chains.

Connected mode joins a~b and b~c into one cluster even when a and c are nothing alike, and a
generic question ("How do I lose weight?") links many that are not duplicates of each other.
Here clusters are stars instead:

1. Rows are visited from the fewest neighbours at the threshold to the most (ties: file order).
   A row is *kept* unless an earlier-visited neighbour was kept: the kept rows are the greedy
   maximal independent set of the threshold graph in that order, so no two kept questions are
   duplicates of each other, and every other row has a kept neighbour.
2. Every other row joins its most similar kept neighbour.

So every member is at least ``threshold`` similar to its cluster's kept question. Specific
questions (few neighbours) come first, so a hub joins one of them rather than swallowing all
of its neighbours (on the Quora dev collection, benchmarks/peers.py: pairwise F1 0.54 against
0.48 for community detection, which visits the most connected rows first, and 0.44 connected).

Step 1 is sequential by nature; it runs in vectorised rounds instead: each round decides every
row whose earlier neighbours are all decided, and every row that already has a kept earlier
neighbour. The earliest undecided row is always decided, so the rounds end; on the 200k Quora
graph there are 4 or 5, and after the first almost every edge has dropped out.
"""

from __future__ import annotations

import numpy as np


def kept_question_labels(n: int, src: np.ndarray, dst: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centres): cluster id per row and each cluster's kept row (``centres[labels[i]]``).

    ``src``, ``dst``, ``scores``: the undirected edges at or above the threshold, each once, best
    score first (as NeighbourGraph.edges_at_or_above gives them): a member joins the kept row of
    its first edge to one.
    """
    loops = src == dst
    if loops.any():
        src, dst, scores = src[~loops], dst[~loops], scores[~loops]
    kept = kept_rows(n, src, dst)
    to_dst, to_src = kept[dst], kept[src]
    from_src = to_dst & ~to_src  # the source is the member
    edges = np.flatnonzero(from_src | (to_src & ~to_dst))
    by_src = from_src[edges]
    member = np.where(by_src, src[edges], dst[edges])
    centre = np.where(by_src, dst[edges], src[edges])
    first = np.full(n, edges.size, np.int64)
    np.minimum.at(first, member, np.arange(edges.size))  # each member's best edge to a kept row
    joined = first < edges.size
    centre_of = np.arange(n, dtype=np.int64)
    centre_of[joined] = centre[first[joined]]
    cluster_of_kept = np.cumsum(kept) - 1  # clusters numbered by their kept row
    return cluster_of_kept[centre_of], np.flatnonzero(kept).astype(np.int64)


def kept_rows(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Boolean (n,): the greedy maximal independent set of the graph, visiting rows by degree
    ascending (ties: lower row first)."""
    degree = np.bincount(src, minlength=n)
    degree += np.bincount(dst, minlength=n)
    rank = np.empty(n, np.int32)
    rank[np.argsort(degree, kind="stable")] = np.arange(n, dtype=np.int32)
    # Rows renamed by their visiting rank: each edge runs from the lower rank to the higher.
    a, b = rank[src], rank[dst]
    early, late = np.minimum(a, b), np.maximum(a, b)
    del a, b
    kept = np.ones(n, bool)
    kept[late] = False  # round one: rows with no earlier neighbour at all are kept
    undecided = ~kept
    while early.size:
        from_kept = kept[early]
        covered = np.zeros(n, bool)
        covered[late[from_kept]] = True  # an earlier neighbour is kept: a member, whatever the rest
        undecided &= ~covered
        # Edges that can still decide something: into an undecided row, from a kept or undecided one.
        live = undecided[late] & (from_kept | undecided[early])
        early, late = early[live], late[live]
        waiting = np.zeros(n, bool)
        waiting[late[undecided[early]]] = True  # an earlier neighbour is still undecided
        newly_kept = undecided & ~waiting
        kept |= newly_kept
        undecided &= ~newly_kept
    return kept[rank]
