"""Clustering at a threshold: known answers, monotonicity, community_detection parity, policies,
constraints."""

import dataclasses

import numpy as np
import pytest

from quoradup_gui.core.errors import JobCancelled
from quoradup_gui.core.jobs import RecordingContext
from quoradup_gui.core.mine import clustering
from quoradup_gui.core.mine.clustering import (
    Constraints,
    cluster_at_threshold,
    clusters_at_thresholds,
)
from quoradup_gui.core.mine.graph import build_neighbour_graph

from .test_graph import clustered, planted_corpus, unit


def member_sets(clustering) -> set[frozenset[int]]:
    return {frozenset(clustering.members(c).tolist()) for c in clustering.multi_clusters()}


def refines(fine: np.ndarray, coarse: np.ndarray) -> bool:
    """True if every cluster of ``fine`` lies inside one cluster of ``coarse``."""
    pairs = np.unique(np.stack([fine, coarse], axis=1), axis=0)
    return len(pairs) == len(np.unique(fine))


@pytest.fixture(scope="module")
def planted():
    emb, texts, exact_groups, near_groups = planted_corpus(seed=11)
    return emb, build_neighbour_graph(emb, texts, k=5), exact_groups, near_groups


@pytest.fixture(scope="module")
def topics():
    emb = clustered(2000, 200, spread=(0.3, 1.2), seed=12)
    return emb, build_neighbour_graph(emb, k=10)


@pytest.mark.parametrize("mode", ["kept", "connected", "community"])
def test_planted_groups_are_the_clusters(planted, mode):
    emb, graph, exact_groups, near_groups = planted
    result = cluster_at_threshold(graph, emb, 0.9, mode=mode)
    assert member_sets(result) == {frozenset(rows) for rows in exact_groups + near_groups}
    assert result.labels.dtype == np.int32 and result.canonical.dtype == np.int32
    assert result.n_multi == 7 and result.n_in_multi == 9 + 12
    assert result.n_clusters == graph.n - (9 - 3) - (12 - 4)
    assert result.n_removed == graph.n - result.n_clusters == 14
    first_rows = [int(np.flatnonzero(result.labels == c)[0]) for c in range(result.n_clusters)]
    assert first_rows == sorted(first_rows)  # ids in order of each cluster's first row
    sizes = [len(result.members(c)) for c in result.multi_clusters()]
    assert sizes == sorted(sizes, reverse=True)
    for c in range(result.n_clusters):
        members = result.members(c)
        assert np.all(np.diff(members) > 0) and np.all(result.labels[members] == c)
    at_one = cluster_at_threshold(graph, emb, 1.0, mode=mode)  # only identical text survives
    assert member_sets(at_one) == {frozenset(rows) for rows in exact_groups}


def test_connected_clusters_only_split_as_threshold_rises(topics):
    emb, graph = topics
    previous = None
    for t in np.arange(0.5, 1.0001, 0.025):
        labels = cluster_at_threshold(graph, emb, t, mode="connected", canonical_policy="first").labels
        if previous is not None:
            assert refines(labels, previous), t
        previous = labels
    counts = clusters_at_thresholds(graph, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert counts == [cluster_at_threshold(graph, emb, t, mode="connected").n_clusters for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)]
    assert counts == sorted(counts)


def test_connected_matches_plain_union_find(topics):
    emb, graph = topics
    parent = list(range(graph.n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b, s in zip(graph.sources.tolist(), graph.targets.tolist(), graph.scores.tolist()):
        if s >= np.float32(0.7):
            parent[find(a)] = find(b)
    roots = np.array([find(i) for i in range(graph.n)])
    labels = cluster_at_threshold(graph, emb, 0.7, mode="connected").labels
    assert refines(labels, roots) and refines(roots, labels)


@pytest.mark.parametrize("k", [3, 10])
def test_community_mode_equals_sentence_transformers(k):
    util = pytest.importorskip("sentence_transformers.util")
    emb = clustered(300, 25, spread=(0.2, 1.0), seed=13)
    graph = build_neighbour_graph(emb, k=k)
    sims = emb @ emb.T
    for t in (0.6, 0.75, 0.9):
        # float32 sums from different libraries may differ in the last bit: avoid ties at t.
        assert not np.any(np.abs(sims - t) < 1e-5), "regenerate data: a pair sits on the threshold"
        expected = {frozenset(c) for c in util.community_detection(emb, threshold=t, min_community_size=2)}
        assert member_sets(cluster_at_threshold(graph, emb, t, mode="community")) == expected, t
    assert np.any(graph.kth_scores >= 0.9)  # the recompute path ran


def test_community_recompute_is_cancellable_and_memoised(monkeypatch):
    emb = clustered(400, 20, spread=(0.2, 0.6), seed=16)
    graph = build_neighbour_graph(emb, k=3)
    monkeypatch.setattr(clustering, "_RANGE_BLOCK", 16)
    with pytest.raises(JobCancelled):
        cluster_at_threshold(graph, emb, 0.6, mode="community", ctx=RecordingContext(cancel_after=1))
    first = RecordingContext()
    low = cluster_at_threshold(graph, emb, 0.6, mode="community", ctx=first)
    assert first.progress and first.progress[-1][0] == first.progress[-1][1]
    again = RecordingContext()  # a higher threshold only filters what was searched at 0.6
    high = cluster_at_threshold(graph, emb, 0.8, mode="community", ctx=again)
    assert again.progress == [] and low.n_clusters <= high.n_clusters


def test_community_without_kth_scores_falls_back_to_degree(topics):
    emb, graph = topics
    bare = dataclasses.replace(graph, kth_scores=None)
    for t in (0.6, 0.8):
        a = cluster_at_threshold(graph, emb, t, mode="community").labels
        b = cluster_at_threshold(bare, emb, t, mode="community").labels
        assert np.array_equal(a, b)


def test_canonical_policies(topics):
    emb, graph = topics
    lengths = np.random.default_rng(14).integers(10, 20, graph.n)
    central = cluster_at_threshold(graph, emb, 0.7, mode="connected")
    longest = cluster_at_threshold(graph, emb, 0.7, mode="connected", canonical_policy="longest", text_lengths=lengths)
    first = cluster_at_threshold(graph, emb, 0.7, mode="connected", canonical_policy="first")
    assert np.array_equal(central.labels, longest.labels) and np.array_equal(central.labels, first.labels)
    assert any(len(central.members(c)) >= 3 for c in central.multi_clusters())
    for c in range(central.n_clusters):
        members = central.members(c)
        assert first.canonical[c] == members[0]
        assert longest.canonical[c] == members[np.argmax(lengths[members])]  # argmax: ties -> first
        sims = emb[members] @ emb[members].T
        mean_to_others = (sims.sum(axis=1) - np.diag(sims)) / max(len(members) - 1, 1)
        best = central.canonical[c]
        assert mean_to_others[list(members).index(best)] >= mean_to_others.max() - 1e-5
        if len(members) == 2:
            assert best == members[0]
        expected = emb[members] @ emb[best]
        np.testing.assert_allclose(central.similarity_to_canonical[members], expected, atol=1e-5)
        assert central.similarity_to_canonical[best] == 1.0
    for policy in ("central", "longest", "first"):  # nothing joins at 1.0: all singletons
        alone = cluster_at_threshold(graph, emb, 1.0, canonical_policy=policy, text_lengths=lengths)
        assert alone.n_multi == 0 and np.array_equal(alone.canonical, np.arange(graph.n))
    with pytest.raises(ValueError):
        cluster_at_threshold(graph, emb, 0.7, canonical_policy="longest")


def test_canonical_override(planted):
    emb, graph, _, near_groups = planted
    rows = near_groups[3]
    chosen = rows[-1]
    result = cluster_at_threshold(graph, emb, 0.9, constraints=Constraints(canonical=(chosen,)))
    cluster = result.labels[chosen]
    assert result.canonical[cluster] == chosen
    np.testing.assert_allclose(result.similarity_to_canonical[rows], emb[rows] @ emb[chosen], atol=1e-5)


@pytest.mark.parametrize("mode", ["kept", "connected", "community"])
def test_must_link_joins_at_any_threshold(planted, mode):
    emb, graph, exact_groups, near_groups = planted
    a, b = near_groups[0][0], near_groups[1][0]
    loner = next(r for r in range(graph.n) if all(r not in g for g in exact_groups + near_groups))
    constraints = Constraints(must_link=((a, b), (b, loner)))
    for t in (0.5, 0.9, 1.0):
        result = cluster_at_threshold(graph, emb, t, mode=mode, constraints=constraints)
        assert result.labels[a] == result.labels[b] == result.labels[loner]
        members = result.members(result.labels[a])  # scattered through the file and the order
        if mode == "kept":  # the earliest of the kept questions the must-links joined
            kept = set(cluster_at_threshold(graph, emb, t, mode="kept").canonical.tolist())
            assert result.canonical[result.labels[a]] == min(set(members.tolist()) & kept)
            continue
        sims = emb[members] @ emb[members].T
        assert result.canonical[result.labels[a]] == members[np.argmax(sims.sum(axis=1))]


@pytest.mark.parametrize("mode", ["kept", "connected", "community"])
def test_cannot_link_separates_and_keeps_the_rest(planted, mode):
    emb, graph, _, near_groups = planted
    rows = near_groups[3]  # five near-duplicates
    a, b = rows[0], rows[1]
    result = cluster_at_threshold(graph, emb, 0.9, mode=mode, constraints=Constraints(cannot_link=((a, b),)))
    assert result.labels[a] != result.labels[b]
    assert all(len(result.members(result.labels[r])) >= 2 for r in rows[2:])  # others still grouped
    others = member_sets(cluster_at_threshold(graph, emb, 0.9, mode=mode)) - {frozenset(rows)}
    assert others <= member_sets(result)  # clusters without a cannot-link pair are untouched


def test_cannot_link_beats_must_link_chain(planted):
    emb, graph, _, near_groups = planted
    a, b = near_groups[0]
    c = near_groups[1][0]
    constraints = Constraints(must_link=((b, c),), cannot_link=((a, c),))
    result = cluster_at_threshold(graph, emb, 0.9, constraints=constraints)
    assert result.labels[b] == result.labels[c] != result.labels[a]


def test_cannot_link_splits_a_chain_at_its_weakest_link():
    rng = np.random.default_rng(15)
    x = unit(rng.standard_normal((1, 384)))[0]
    y = unit(rng.standard_normal((1, 384)))[0]
    chain = unit(np.stack([x, 0.8 * x + 0.2 * y, 0.2 * x + 0.8 * y, y]))  # a ~ b ~ c ~ d
    emb = np.concatenate([chain, unit(rng.standard_normal((30, 384)))])
    graph = build_neighbour_graph(emb, k=3, min_score=0.5)
    result = cluster_at_threshold(graph, emb, 0.5, mode="connected", constraints=Constraints(cannot_link=((0, 3),)))
    assert result.labels[0] == result.labels[1] != result.labels[2] == result.labels[3]


def test_rejects_bad_arguments(planted):
    emb, graph, _, _ = planted
    with pytest.raises(ValueError):
        cluster_at_threshold(graph, emb, 0.4)  # below the graph's min_score: edges missing
    with pytest.raises(ValueError):
        cluster_at_threshold(graph, emb, 0.8, mode="kmeans")
    with pytest.raises(ValueError):
        cluster_at_threshold(graph, emb[:-1], 0.8)
    with pytest.raises(ValueError):
        cluster_at_threshold(graph, emb, 0.8, constraints=Constraints(must_link=((0, graph.n),)))


def test_empty_collection():
    graph = build_neighbour_graph(np.empty((0, 384), np.float32))
    result = cluster_at_threshold(graph, np.empty((0, 384), np.float32), 0.8)
    assert result.n_clusters == 0 and result.n_removed == 0 and result.multi_clusters().size == 0
