"""Kept-question mode: no chains, specific questions kept before hubs, and the vectorised rounds
give exactly the sequential greedy rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quoradup_gui.core.mine import clustering
from quoradup_gui.core.mine.clustering import MODES, cluster_at_threshold
from quoradup_gui.core.mine.defaults import CLUSTER_MODES, DEFAULT_MODE
from quoradup_gui.core.mine.graph import build_neighbour_graph
from quoradup_gui.core.mine.kept import kept_question_labels, kept_rows

from .test_clustering import refines
from .test_graph import clustered, unit


def sequential_kept(n: int, edges: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The rule written as a plain loop: visit by degree ascending (ties: row), keep a row unless
    a kept neighbour was visited before it; then each other row joins its best kept neighbour
    (``edges`` best first: the first one)."""
    neighbours: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    for a, b, s in edges:
        if a != b:
            neighbours[a].append((s, b))
            neighbours[b].append((s, a))
    kept = np.zeros(n, bool)
    for row in sorted(range(n), key=lambda r: (len(neighbours[r]), r)):
        kept[row] = not any(kept[j] for _, j in neighbours[row])
    centre = np.arange(n)
    for row in np.flatnonzero(~kept):  # its first edge to a kept row, in the graph's order
        centre[row] = next(b if a == row else a for a, b, _ in edges if row in (a, b) and kept[b if a == row else a])
    return kept, centre


def chain_and_hub():
    """a ~ b ~ c (a and c unrelated) and a hub h similar to three specific questions x, y, z that
    are not similar to each other, plus unrelated rows."""
    rng = np.random.default_rng(3)
    base = unit(rng.standard_normal((6, 384)))
    a, c = base[0], base[1]
    b = unit((a + c)[None])[0]  # cos(a, b) = cos(b, c) ~ 0.71, cos(a, c) ~ 0
    x, y, z = base[2], base[3], base[4]
    hub = unit((x + y + z)[None])[0]  # ~ 0.58 to each
    x_close = unit((x + 0.3 * hub)[None])[0]  # x is a little closer to the hub than y and z
    rows = np.stack([a, b, c, hub, x_close, y, z])
    return np.concatenate([rows, unit(rng.standard_normal((40, 384)))]).astype(np.float32)


def test_a_chain_is_not_one_cluster():
    emb = chain_and_hub()
    graph = build_neighbour_graph(emb, k=5, min_score=0.5)
    connected = cluster_at_threshold(graph, emb, 0.55, mode="connected")
    kept = cluster_at_threshold(graph, emb, 0.55, mode="kept")
    assert connected.labels[0] == connected.labels[1] == connected.labels[2]  # the chain joins a and c
    assert kept.labels[0] == kept.labels[1] != kept.labels[2]  # a is kept, b joins it, c stands alone


def test_a_hub_joins_one_specific_question_instead_of_swallowing_them():
    emb = chain_and_hub()
    graph = build_neighbour_graph(emb, k=5, min_score=0.5)
    community = cluster_at_threshold(graph, emb, 0.55, mode="community")
    kept = cluster_at_threshold(graph, emb, 0.55, mode="kept")
    hub, x, y, z = 3, 4, 5, 6
    assert len({int(community.labels[r]) for r in (hub, x, y, z)}) == 1  # centred on the hub
    assert kept.labels[hub] == kept.labels[x]  # its closest specific question
    assert len({int(kept.labels[r]) for r in (x, y, z)}) == 3


def test_every_member_is_at_least_the_threshold_similar_to_a_kept_question():
    emb = clustered(2000, 200, spread=(0.3, 1.2), seed=12)
    graph = build_neighbour_graph(emb, k=10)
    for t in (0.6, 0.75, 0.9):
        src, dst, scores = graph.edges_at_or_above(t)
        labels, centres = kept_question_labels(graph.n, src, dst, scores)
        sims = np.einsum("ij,ij->i", emb, emb[centres[labels]])
        assert np.all(sims >= t - 1e-5), t
        kept = np.zeros(graph.n, bool)
        kept[centres] = True
        between = kept[src] & kept[dst] & (src != dst)
        assert not between.any(), t  # no two kept questions are duplicates of each other
        result = cluster_at_threshold(graph, emb, t, mode="kept")
        assert refines(result.labels, labels) and refines(labels, result.labels), t
        # The kept question is the canonical one ("central"), and each row's similarity is to it.
        assert set(result.canonical.tolist()) == set(centres.tolist()), t
        np.testing.assert_allclose(result.similarity_to_canonical, sims, atol=1e-5)
        longest = cluster_at_threshold(graph, emb, t, mode="kept", canonical_policy="longest",
                                       text_lengths=np.arange(graph.n))
        assert np.array_equal(longest.canonical, [result.members(c).max() for c in range(result.n_clusters)])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(50, 100)), max_size=120))))
def test_the_vectorised_rounds_give_the_sequential_rule(case):
    n, raw = case
    best: dict[tuple[int, int], float] = {}
    for a, b, s in raw:  # the graph holds each undirected pair once
        if a != b:
            key = (min(a, b), max(a, b))
            best[key] = max(best.get(key, 0.0), s / 100)
    # Best first, ties by pair, as the graph holds them: a member joins its first kept neighbour.
    edges = sorted(((a, b, s) for (a, b), s in best.items()), key=lambda e: (-e[2], e[0], e[1]))
    src = np.array([e[0] for e in edges], np.int64)
    dst = np.array([e[1] for e in edges], np.int64)
    scores = np.array([e[2] for e in edges], np.float32)
    expected_kept, expected_centre = sequential_kept(n, edges)
    assert np.array_equal(kept_rows(n, src, dst), expected_kept)
    labels, centres = kept_question_labels(n, src, dst, scores)
    assert np.array_equal(centres[labels], expected_centre)


def test_the_modes_are_listed_once_and_kept_is_the_default():
    assert MODES == CLUSTER_MODES and DEFAULT_MODE == "kept"
    import inspect

    assert inspect.signature(clustering.cluster_at_threshold).parameters["mode"].default == DEFAULT_MODE


@pytest.mark.parametrize("t", [0.5, 0.99])
def test_kept_mode_on_an_empty_or_edgeless_graph(t):
    emb = unit(np.random.default_rng(0).standard_normal((30, 384))).astype(np.float32)
    graph = build_neighbour_graph(emb, k=3, min_score=0.5)
    result = cluster_at_threshold(graph, emb, t, mode="kept")
    assert result.n_clusters == 30 and result.n_multi == 0
    empty = cluster_at_threshold(build_neighbour_graph(emb[:0], k=3), emb[:0], t, mode="kept")
    assert empty.n_clusters == 0
