"""Neighbour graph: planted duplicates with known answers, exact vs approximate search, files."""

import numpy as np
import pytest

from quoradup_gui.core.errors import JobCancelled
from quoradup_gui.core.jobs import RecordingContext
from quoradup_gui.core.mine.graph import NeighbourGraph, build_neighbour_graph, exact_duplicate_groups
from quoradup_gui.core.mine.neighbours import FASTSCAN_LIMIT, search_method, top_k_neighbours

D = 384


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, n_centres: int, *, spread=(0.6, 1.4), seed: int = 0, d: int = D) -> np.ndarray:
    """Topic centres + noise: points of one centre have cosine ~ 1 / (1 + spread^2) to each
    other, so every row has near-tied neighbours (random Gaussian data would flatter search)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((n_centres, d), dtype=np.float32))
    spreads = rng.uniform(*spread, n_centres).astype(np.float32)
    which = rng.integers(0, n_centres, n)
    noise = rng.standard_normal((n, d), dtype=np.float32) / np.sqrt(d)
    return unit(centres[which] + spreads[which, None] * noise)


def planted_corpus(seed: int = 0):
    """Unrelated rows (cosine ~0), exact-duplicate groups (same text, slightly different
    embeddings) and near-duplicate groups (cosine > 0.97). Returns emb, texts, groups."""
    rng = np.random.default_rng(seed)
    emb = list(unit(rng.standard_normal((200, D), dtype=np.float32)))
    texts = [f"unrelated question {i}" for i in range(200)]
    exact_groups, near_groups = [], []
    for g, size in enumerate([2, 3, 4]):
        base = emb[g]  # rows 0..2 get exact copies of their text elsewhere in the file
        rows = [g]
        for _ in range(size - 1):
            rows.append(len(emb))
            # Group 0's copies get unrelated embeddings: same text must still link them.
            spread = 100.0 if g == 0 else 0.3
            emb.append(unit((base + spread * rng.standard_normal(D) / np.sqrt(D))[None])[0])
            texts.append(texts[g])
        exact_groups.append(rows)
    for g, size in enumerate([2, 2, 3, 5]):
        base = unit(rng.standard_normal((1, D)))[0]
        rows = []
        for _ in range(size):
            rows.append(len(emb))
            emb.append(unit((base + 0.1 * rng.standard_normal(D) / np.sqrt(D))[None])[0])
            texts.append(f"near duplicate {g} variant {len(rows)}")
        near_groups.append(rows)
    order = rng.permutation(len(emb))  # scatter the groups through the file
    where = np.argsort(order)
    emb = np.asarray(emb, np.float32)[order]
    texts = [texts[i] for i in order]
    remap = lambda groups: [sorted(int(where[r]) for r in rows) for rows in groups]  # noqa: E731
    return emb, texts, remap(exact_groups), remap(near_groups)


def edge_set(graph: NeighbourGraph) -> set[tuple[int, int]]:
    return set(zip(graph.sources.tolist(), graph.targets.tolist()))


def test_exact_duplicate_groups_in_order_of_first_appearance():
    groups = exact_duplicate_groups(["b", "a", "b", "c", "a", "b", "d"])
    assert groups.dtype == np.int32
    assert groups.tolist() == [0, 1, 0, -1, 1, 0, -1]
    assert exact_duplicate_groups([]).tolist() == []


def test_planted_corpus_edges():
    emb, texts, exact_groups, near_groups = planted_corpus()
    graph = build_neighbour_graph(emb, texts, k=5)
    assert graph.method == "exact" and graph.n == len(emb)
    edges = edge_set(graph)
    pairs = zip(graph.sources.tolist(), graph.targets.tolist())
    score = dict(zip(pairs, graph.scores.tolist()))
    for rows in exact_groups:  # joined at score 1.0, whatever the embeddings say
        assert len(set(graph.exact_group[rows].tolist())) == 1 and graph.exact_group[rows[0]] >= 0
        assert all(score[(rows[0], r)] == 1.0 for r in rows[1:])
    for rows in near_groups:  # every pair of a group is a (high-scoring) edge
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                assert score[(a, b)] > 0.95
    grouped = {r for rows in exact_groups + near_groups for r in rows}
    assert all(a in grouped and b in grouped for a, b in edges)  # unrelated rows: no edge >= 0.5
    assert (graph.exact_group >= 0).sum() == sum(map(len, exact_groups))


def test_edges_sorted_unique_and_sliced():
    emb = clustered(1500, 150, seed=1)
    graph = build_neighbour_graph(emb, k=8, min_score=0.3)
    assert graph.sources.dtype == graph.targets.dtype == np.int32 and graph.scores.dtype == np.float32
    assert np.all(graph.sources < graph.targets)
    assert np.all(np.diff(graph.scores) <= 0)
    assert len(edge_set(graph)) == graph.n_edges
    assert graph.scores.min() >= np.float32(0.3)
    for t in (0.3, 0.45, 0.6, 0.8, 1.0):
        src, dst, sc = graph.edges_at_or_above(t)
        assert np.array_equal(sc, graph.scores[graph.scores >= np.float32(t)])
        assert src.size == dst.size == graph.count_at_or_above(t)


def test_exact_search_matches_brute_force():
    emb = clustered(600, 60, seed=2)
    k = 6
    graph = build_neighbour_graph(emb, k=k, min_score=0.4)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :k]
    expected = {
        (min(i, j), max(i, j)) for i in range(len(emb)) for j in top[i].tolist() if sims[i, j] >= 0.4 + 1e-5
    }
    borderline = {(min(i, j), max(i, j)) for i, j in zip(*np.nonzero(np.abs(sims - 0.4) < 1e-5))}
    assert expected - borderline <= edge_set(graph) <= expected | borderline
    kth = -np.sort(-sims, axis=1)[:, k - 1]
    np.testing.assert_allclose(graph.kth_scores, kth, atol=1e-5)


def test_identical_rows_find_each_other_and_not_themselves():
    rng = np.random.default_rng(3)
    base = unit(rng.standard_normal((50, D), dtype=np.float32))
    emb = np.concatenate([base, base[:10], base[:10]])  # three identical copies of rows 0..9
    scores, ids = top_k_neighbours(emb, 3)
    assert not np.any(ids == np.arange(len(emb))[:, None])
    for r in range(10):
        assert {r + 50, r + 60} <= set(ids[r].tolist())


@pytest.mark.parametrize("fastscan_limit", [FASTSCAN_LIMIT, 0], ids=["pq-fastscan", "hnsw"])
def test_approximate_search_recall_on_clustered_data(fastscan_limit):
    emb = clustered(20_000, 500, seed=4)  # ~40 rows a topic: top-10 lists stay inside topics
    approx_scores, approx_ids = top_k_neighbours(emb, 10, approximate=True, fastscan_limit=fastscan_limit)
    sample = np.random.default_rng(4).choice(len(emb), 2_000, replace=False)
    sims = emb[sample] @ emb.T  # exact answers for a sample of rows
    sims[np.arange(sample.size), sample] = -np.inf
    exact_ids = np.argsort(-sims, axis=1)[:, :10]
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx_ids[sample].tolist(), exact_ids.tolist()))
    assert hits / exact_ids.size >= 0.99, hits / exact_ids.size
    # The scores reported are the true cosines of the ids found.
    true_scores = np.einsum("id,ikd->ik", emb[:50], emb[approx_ids[:50]])
    np.testing.assert_allclose(approx_scores[:50], true_scores, atol=1e-5)


def test_which_search_runs_where():
    assert search_method(10**6, 384, approximate=False) == "exact"
    assert search_method(999, 384, approximate=True) == "exact"  # too few rows to train codes on
    assert search_method(10**5, 15, approximate=True) == "exact"  # too few dimensions to cut
    assert search_method(1_000, 384, approximate=True) == "pq-fastscan"
    assert search_method(FASTSCAN_LIMIT, 384, approximate=True) == "pq-fastscan"
    assert search_method(FASTSCAN_LIMIT + 1, 384, approximate=True) == "hnsw"
    assert search_method(5_000, 384, approximate=True, fastscan_limit=0) == "hnsw"


@pytest.mark.parametrize("d", [3, 31, 64, 200, 768])
def test_approximate_search_any_dimension(d):
    # Odd, small and large widths: the code scan keeps an even number of dimensions (pieces of
    # 2 up to 128, PCA to 2/3 above 256) and must still find the neighbours; below 16 the
    # search is exact.
    emb = clustered(3000, 60, seed=d, d=d)
    scores, ids = top_k_neighbours(emb, 10, approximate=True)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    exact_ids = np.argsort(-sims, axis=1)[:, :10]
    recall = (ids[:, :, None] == exact_ids[:, None, :]).any(axis=1).mean()
    assert recall >= 0.98, recall
    np.testing.assert_allclose(scores, np.take_along_axis(sims, ids, axis=1), atol=1e-5)


@pytest.mark.parametrize("fastscan_limit", [FASTSCAN_LIMIT, 0], ids=["pq-fastscan", "hnsw"])
def test_build_switches_to_approximate_above_exact_limit(fastscan_limit):
    emb = clustered(3000, 100, seed=9)
    approx = build_neighbour_graph(emb, k=10, exact_limit=1_000, fastscan_limit=fastscan_limit)
    exact = build_neighbour_graph(emb, k=10)
    assert (approx.method, exact.method) == ("approx", "exact")
    assert len(edge_set(approx) & edge_set(exact)) / exact.n_edges >= 0.99


def test_small_inputs():
    rng = np.random.default_rng(5)
    empty = build_neighbour_graph(np.empty((0, D), np.float32), [])
    assert empty.n == 0 and empty.n_edges == 0
    one = build_neighbour_graph(unit(rng.standard_normal((1, D))), ["q"])
    assert one.n == 1 and one.n_edges == 0 and one.exact_group.tolist() == [-1]
    few = np.repeat(unit(rng.standard_normal((1, D))), 4, axis=0)
    graph = build_neighbour_graph(few, ["a", "a", "b", "c"], k=10)  # k > n - 1
    assert edge_set(graph) == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    assert np.all(np.isneginf(graph.kth_scores))  # lists hold every other row: complete
    with pytest.raises(ValueError):
        build_neighbour_graph(few, ["a", "b"])


def test_linkage_order_makes_every_component_a_run():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    emb, texts, _, _ = planted_corpus(seed=10)
    emb = np.concatenate([emb, clustered(1500, 100, spread=(0.3, 1.2), seed=10)])
    graph = build_neighbour_graph(emb, texts + [f"t{i}" for i in range(1500)], k=8)
    link = graph.linkage
    assert np.array_equal(np.sort(link.order), np.arange(graph.n))
    assert np.array_equal(link.order[link.position], np.arange(graph.n))
    for t in (0.5, 0.55, 0.62, 0.75, 0.9, 0.97, 1.0):
        src, dst, _ = graph.edges_at_or_above(t)
        adjacency = coo_matrix((np.ones(src.size), (src, dst)), shape=(graph.n, graph.n))
        count, components = connected_components(adjacency, directed=False)
        by_runs = np.empty(graph.n, np.int64)
        by_runs[link.order] = link.runs_at(t)
        assert len(np.unique(np.stack([components, by_runs], axis=1), axis=0)) == count, t
        assert link.n_components_at(t) == count == by_runs.max() + 1


def test_progress_and_cancel():
    emb = clustered(3000, 300, seed=6)
    ctx = RecordingContext()
    build_neighbour_graph(emb, k=5, ctx=ctx)
    assert len(ctx.progress) >= 2 and ctx.progress[-1][0] == ctx.progress[-1][1]
    assert [done for done, _ in ctx.progress] == sorted(done for done, _ in ctx.progress)
    with pytest.raises(JobCancelled):
        build_neighbour_graph(emb, k=5, ctx=RecordingContext(cancel_after=1))
    for fastscan_limit in (FASTSCAN_LIMIT, 0):  # both approximate searches
        ctx = RecordingContext()
        build_neighbour_graph(emb, k=5, exact_limit=100, fastscan_limit=fastscan_limit, ctx=ctx)
        assert [done for done, _ in ctx.progress] == sorted(done for done, _ in ctx.progress)
        assert ctx.progress[-1][0] == ctx.progress[-1][1]
        with pytest.raises(JobCancelled):
            build_neighbour_graph(
                emb, k=5, exact_limit=100, fastscan_limit=fastscan_limit, ctx=RecordingContext(cancel_after=1)
            )


def test_save_load_round_trip_and_corrupt_files(tmp_path):
    emb, texts, _, _ = planted_corpus(seed=7)
    graph = build_neighbour_graph(emb, texts, k=5)
    path = tmp_path / "graph.npz"
    graph.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["graph.npz"]  # no temp file left behind
    loaded = NeighbourGraph.load(path)
    for name in ("sources", "targets", "scores", "exact_group", "kth_scores"):
        assert np.array_equal(getattr(loaded, name), getattr(graph, name))
    assert (loaded.n, loaded.k, loaded.method, loaded.min_score) == (graph.n, graph.k, "exact", 0.5)
    assert "linkage" in loaded.__dict__  # read from the file, not recomputed
    assert np.array_equal(loaded.linkage.order, graph.linkage.order)
    assert np.array_equal(loaded.linkage.joins, graph.linkage.joins)

    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a graph at all")
    for name in ("truncated.npz", "garbage.npz"):
        with pytest.raises(ValueError):
            NeighbourGraph.load(tmp_path / name)
    np.savez(tmp_path / "wrong.npz", n=3)  # a valid .npz that is not a graph
    with pytest.raises(ValueError):
        NeighbourGraph.load(tmp_path / "wrong.npz")
    with pytest.raises(FileNotFoundError):
        NeighbourGraph.load(tmp_path / "missing.npz")


def test_load_rejects_inconsistent_arrays(tmp_path):
    graph = build_neighbour_graph(clustered(300, 30, seed=8), k=5)
    bad = NeighbourGraph(
        n=graph.n, k=graph.k, sources=graph.targets, targets=graph.sources,  # source > target
        scores=graph.scores, exact_group=graph.exact_group, method="exact", min_score=0.5,
    )
    bad.save(tmp_path / "bad.npz")
    with pytest.raises(ValueError):
        NeighbourGraph.load(tmp_path / "bad.npz")
