"""Each row's k nearest other rows by cosine, through faiss: the search behind the neighbour graph.

Exact up to EXACT_LIMIT rows; above, approximate (a scan of 4-bit product-quantisation codes up
to FASTSCAN_LIMIT, an HNSW graph beyond), with every candidate rescored exactly in float32, so
the scores reported are always true cosines. Searches run in blocks: progress and cancel points.
"""

from __future__ import annotations

import os

import numpy as np

from ..jobs import JobContext, NullContext

# Up to EXACT_LIMIT rows the search is exact (all pairs, 13-16 s at 50k on 2 cores, where the
# code scan below takes 3.4 s): community mode is then exactly util.community_detection, which
# the approximate searches cannot promise (at 50k real questions forced through the scan, the
# clusters at 0.75/0.85/0.95 were identical all the same).
#
# From EXACT_LIMIT to FASTSCAN_LIMIT rows every row is still compared with every other, but
# through 4-bit product-quantisation codes scanned with SIMD lookups (faiss's PQ fast scan):
# the vectors are rotated by PCA to 2/3 of their dimensions (384 -> 256), cut into 4-dimension
# pieces of 16 centroids each, and each row's FASTSCAN_CANDIDATES best candidates are rescored
# exactly in float32. Measured on 100k real Quora questions (all-MiniLM-L6-v2, 2 cores):
# recall@10 0.996 against exact in 11-12 s (train 1 s, scan 6-9 s, rescoring 1.7 s), where the
# HNSW graph below took 17-20 s for 0.992 in the same runs; at 200k 32 vs 35 s (benchmarks/
# mining.py). 64 candidates gave 0.984, 96 0.993; faiss's default query batching was 1.4x slower;
# no PCA (96 pieces of 4 over all 384 dimensions) was 1.5x slower for 0.993 at 64; PCA to 192
# with 48 pieces 0.989; OPQ took minutes to train. The scan costs n^2 (4x per doubling), HNSW
# n log n: they are even near 200k, so HNSW takes over above FASTSCAN_LIMIT.
#
# Above FASTSCAN_LIMIT the neighbours come from an HNSW graph over 8-bit scalar-quantised
# vectors, searched on its bottom level starting from each row itself (every row is in the
# index, so the upper levels have nothing to add), and the candidates are rescored exactly in
# float32. Measured on 100k real questions: M 32 with 56 links per row on the bottom level
# (faiss's default is 2M = 64), efConstruction 80, efSearch 48 gives recall@10 0.993 against
# exact in 16-17 s; the default 64 links with efConstruction 56 / efSearch 32 gave 0.991 in
# 18-19 s, efConstruction 40 only 0.985. Flat float32 HNSW was 3x slower at the same recall;
# IVF needed a quarter of the lists probed for 0.985; 4- and 6-bit or 16-bit codes were slower
# or worse; a neighbours-of-neighbours pass after the search added under 0.001.
EXACT_LIMIT = 50_000
FASTSCAN_LIMIT = 200_000
FASTSCAN_CANDIDATES = 128
FASTSCAN_TRAIN_ROWS = 30_000
HNSW_M = 32
HNSW_BOTTOM_LINKS = 56
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 48


def top_k_neighbours(
    embeddings: np.ndarray,
    k: int,
    *,
    approximate: bool = False,
    fastscan_limit: int = FASTSCAN_LIMIT,
    ctx: JobContext | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(scores float32 (n, k), ids int64 (n, k)) of each row's k nearest other rows, best first;
    id -1 where an approximate search found fewer. Exact: IndexFlatIP. Approximate: up to
    ``fastscan_limit`` rows an exhaustive scan of 4-bit PQ codes, above it HNSW over 8-bit codes;
    either way the candidates are rescored exactly."""
    ctx = ctx or NullContext()
    emb = unit_float32(embeddings)
    n = emb.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return np.empty((n, 0), np.float32), np.empty((n, 0), np.int64)
    import faiss  # lazily: keeps `import quoradup_gui.core` light

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    search = {"exact": _search_exact, "pq-fastscan": _search_fastscan, "hnsw": _search_hnsw}
    return search[search_method(n, emb.shape[1], approximate, fastscan_limit)](faiss, emb, k, ctx)


def search_method(n: int, d: int, approximate: bool, fastscan_limit: int = FASTSCAN_LIMIT) -> str:
    """Which search top_k_neighbours runs: "exact", "pq-fastscan" or "hnsw"."""
    # Few rows or few dimensions: exact is quick (n^2 d), and there are too few rows to train
    # codes on, or too few dimensions to cut into pieces.
    if not approximate or n < 1_000 or d < 16:
        return "exact"
    return "pq-fastscan" if n <= fastscan_limit else "hnsw"


def unit_float32(embeddings: np.ndarray) -> np.ndarray:
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got shape {emb.shape}")
    # Squared norms by einsum: no (n, d) temporaries. A NaN or infinity anywhere in a row makes
    # its sum NaN or infinite too, so this one pass also checks that the values are finite.
    norms = np.sqrt(np.einsum("ij,ij->i", emb, emb, dtype=np.float64)).astype(np.float32)
    if emb.shape[0] and not np.isfinite(norms).all():
        raise ValueError("embeddings contain NaN or infinity")
    if emb.shape[0] and np.abs(norms - 1).max() > 1e-3:  # tolerate callers that forgot to normalise
        emb = emb / np.maximum(norms, 1e-12)[:, None]
    return emb


def _block_size(n: int) -> int:
    # ~50 progress/cancel points, but blocks big enough for BLAS to stay efficient.
    return int(min(16384, max(1024, -(-n // 50))))


def _search_blocks(search_block, n: int, k: int, ctx: JobContext, done0: int, total: int):
    """Every row's k neighbours, in blocks (cancel and progress points): ``search_block(rows)``
    gives (scores, ids) of the k+1 best for those rows, best first, and the row itself is dropped."""
    scores = np.empty((n, k), np.float32)
    ids = np.empty((n, k), np.int64)
    step = _block_size(n)
    for start in range(0, n, step):
        ctx.check_cancelled()
        stop = min(n, start + step)
        rows = np.arange(start, stop)
        scores[start:stop], ids[start:stop] = _drop_self(*search_block(rows), rows)
        ctx.set_progress(done0 + stop, total)
    ctx.check_cancelled()
    return scores, ids


def _drop_self(d: np.ndarray, i: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # With exact duplicates the row itself may tie with (or rank below) its twins, or an
    # approximate search may miss it: drop it where found, else drop the last column.
    is_self = i == rows[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    b, k1 = i.shape
    return d[keep].reshape(b, k1 - 1), i[keep].reshape(b, k1 - 1)


def _search_exact(faiss, emb: np.ndarray, k: int, ctx: JobContext):
    ctx.set_status("Finding neighbours (exact)…")
    index = faiss.IndexFlatIP(emb.shape[1])
    index.add(emb)
    return _search_blocks(lambda rows: index.search(emb[rows], k + 1), emb.shape[0], k, ctx, 0, emb.shape[0])


def _search_fastscan(faiss, emb: np.ndarray, k: int, ctx: JobContext):
    n, d = emb.shape
    ctx.set_status("Indexing embeddings (4-bit codes)…")
    reduced, pieces = _fastscan_shape(d)
    rotation = faiss.PCAMatrix(d, reduced, 0, True)  # PCA, then a random rotation: even pieces
    codes = faiss.IndexPQFastScan(reduced, pieces, 4, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexPreTransform(rotation, codes)
    sample = np.random.default_rng(0).choice(n, min(n, FASTSCAN_TRAIN_ROWS), replace=False)
    index.train(emb[np.sort(sample)])
    for start in range(0, n, 20_000):  # in blocks: cancel points, and the rotated copy stays small
        ctx.check_cancelled()
        index.add(emb[start : start + 20_000])
    codes.qbs = 0x4444  # 16 queries per pass over the codes (4 groups of 4): 1.3-1.5x faiss's default
    ctx.set_progress(n // 10, n + n // 10)  # the training and coding above: ~10% of the time
    candidates = min(n, max(FASTSCAN_CANDIDATES, 8 * (k + 1)))
    ctx.set_status("Finding neighbours (approximate)…")

    def search_block(rows):
        return _exact_scores(emb, rows, index.search(emb[rows], candidates)[1], keep=k + 1)

    return _search_blocks(search_block, n, k, ctx, n // 10, n + n // 10)


def _fastscan_shape(d: int) -> tuple[int, int]:
    """(dimensions kept by the PCA, number of 4-bit pieces) for d-dimensional embeddings (d >= 16):
    384 -> 256 in 64 pieces of 4, 768 -> 512 in 128; up to 256 dimensions all are kept (to an
    even number), and up to 128 cut into pieces of 2: pieces of 4 lost 3-5 points of recall@10
    on 64 and 128 dimensions of real questions."""
    if d <= 128:
        return d // 2 * 2, d // 2
    reduced = min(d, max(256, 2 * d // 3)) // 4 * 4
    return reduced, reduced // 4


def _search_hnsw(faiss, emb: np.ndarray, k: int, ctx: JobContext):
    n, d = emb.shape
    ctx.set_status("Indexing embeddings (HNSW)…")
    index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.set_nb_neighbors(0, HNSW_BOTTOM_LINKS)  # before any add: fixes the bottom level's width
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.train(emb)  # per-dimension ranges of the 8-bit codes: one pass
    add_step = 10_000  # blocks are cancel points; much smaller ones slowed the build (~1.5 s each here)
    for start in range(0, n, add_step):
        ctx.check_cancelled()
        index.add(emb[start : start + add_step])
        ctx.set_progress(min(n, start + add_step), 2 * n)
    index.hnsw.efSearch = max(HNSW_EF_SEARCH, 2 * (k + 1))
    ctx.set_status("Finding neighbours (approximate)…")

    def search_block(rows):
        return _exact_scores(emb, rows, _hnsw_level0_search(faiss, index, emb[rows], rows, k + 1))

    return _search_blocks(search_block, n, k, ctx, n, 2 * n)


def _hnsw_level0_search(faiss, index, queries: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """ids (b, k) of each query's approximate neighbours, searched on HNSW's bottom level from
    the query's own row (it is in the index: its own best entry point)."""
    b = queries.shape[0]
    entry = np.ascontiguousarray(rows, dtype=np.int32).reshape(b, 1)
    entry_d = np.full((b, 1), -1.0, np.float32)  # HNSW ranks inner products negated: a row scores -1 to itself
    dist = np.empty((b, k), np.float32)
    ids = np.empty((b, k), np.int64)
    ptr = faiss.swig_ptr
    index.search_level_0(b, ptr(queries), k, ptr(entry), ptr(entry_d), ptr(dist), ptr(ids), 1, 1)
    return ids


def _exact_scores(
    emb: np.ndarray, rows: np.ndarray, ids: np.ndarray, keep: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """float32 inner products of emb[rows] with emb[ids] (the quantised search's candidates),
    each row's best ``keep`` (default: all) sorted best first; -inf where the search found no
    candidate (id -1)."""
    scores = inner_products_by_idx(emb[rows], emb, ids)
    if keep is not None and keep < ids.shape[1]:
        best = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        scores = np.take_along_axis(scores, best, axis=1)
        ids = np.take_along_axis(ids, best, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def inner_products_by_idx(queries: np.ndarray, table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """float32 (nq, m): out[i, j] = queries[i] . table[ids[i, j]], -inf where ids[i, j] < 0.

    faiss's fvec_inner_products_by_idx in one multi-threaded C loop: no (nq, m, d) gather, and
    rows of ``table`` that no id names are never read. ``ids`` may also be 1-D (one per query)."""
    import faiss  # lazily: keeps `import quoradup_gui.core` light

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    table = np.ascontiguousarray(table, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    per_query = ids.reshape(queries.shape[0], -1)
    out = np.empty(per_query.shape, np.float32)
    ptr = faiss.swig_ptr
    faiss.fvec_inner_products_by_idx(ptr(out), ptr(queries), ptr(table), ptr(per_query), queries.shape[1],
                                     queries.shape[0], per_query.shape[1])
    return out.reshape(ids.shape)
