"""Clusters against the peers: our modes, paraphrase_mining + components, community_detection and
SemHash, on the same vectors of the Quora dev collection.

Run: .venv/bin/python benchmarks/peers.py [--json OUT] [--no-semhash] [--semhash-venv DIR]

The collection is the distinct questions of ../shared/data/quora/quora_kaggle_dev.csv (never
copied here); the truth is the file's duplicate groups (questions sharing a qid, or linked by
is_duplicate = 1 through shared questions). Every system clusters the same vectors of the
bundled all-MiniLM-L6-v2 (quoradup's encoder, torch fp32), then is scored pairwise: a pair of
questions in one cluster is a predicted duplicate, and a pair the truth does not link counts as
a negative for every system (the file labels only some pairs, so every precision here is low).

Systems
  quoradup <mode>  core.mine.clustering on the neighbour graph (k=10, edges >= 0.5), every mode
  paraphrase_mining + components   sentence_transformers.util.paraphrase_mining_embeddings (its
                   defaults: top_k 100, max_pairs 500,000), connected components of the pairs >= t
  community_detection              sentence_transformers.util.community_detection, min size 2
  average linkage  (a reference, not a peer) scipy's exact average linkage over all pairs: the
                   other clustering that does not chain, measured against kept questions
  SemHash 0.5      SemHash.from_embeddings(...).self_deduplicate(t) with its default ANN index, run
                   in a virtual environment of its own (created on first use: --semhash-venv,
                   default benchmarks/.venv-semhash; pip needs the package registry once), so that
                   it is no dependency of the app; a filtered record joins the one it duplicates

For each: precision, recall and F1 at the system's default threshold (ours: the app's default
mode and threshold; community_detection 0.75 and SemHash 0.9, their signatures' defaults;
paraphrase_mining has none, so 0.75 as community_detection) and at its best threshold on the
grid, and wall time (ours: graph + one clustering; the peers: their call at the default).
The last line says whether our default settings beat every peer's best.
About 3 minutes on 2 cores once the vectors are cached (the first run encodes ~10k questions).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from benchmarks._quora import Truth, read_dev  # noqa: E402

GRID = tuple(round(float(t), 3) for t in np.arange(0.70, 0.9701, 0.005))
SEMHASH = "semhash==0.5.0"
COMMUNITY_DEFAULT = 0.75  # sentence_transformers.util.community_detection(threshold=0.75)
SEMHASH_DEFAULT = 0.9  # SemHash.self_deduplicate(threshold=0.9)


def pairwise(labels: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 over all pairs of rows (same cluster = predicted duplicate)."""
    labels = np.unique(np.asarray(labels), return_inverse=True)[1].astype(np.int64)

    def pairs(x: np.ndarray) -> int:
        counts = np.unique(x, return_counts=True)[1].astype(np.int64)
        return int((counts * (counts - 1) // 2).sum())

    together = pairs(labels * (int(truth.max()) + 1) + truth)
    predicted, actual = pairs(labels), pairs(truth)
    p = together / predicted if predicted else 0.0
    r = together / actual if actual else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def from_lists(n: int, clusters: list[list[int]]) -> np.ndarray:
    labels = np.arange(n, dtype=np.int64)
    for cluster in clusters:
        labels[list(cluster)] = cluster[0]
    return labels


class Curve:
    """One system's scores over the grid, its default threshold and its wall time."""

    def __init__(self, name: str, default: float, note: str = "") -> None:
        self.name, self.default, self.note = name, default, note
        self.scores: dict[float, tuple[float, float, float]] = {}
        self.seconds = 0.0

    def best(self) -> tuple[float, tuple[float, float, float]]:
        return max(self.scores.items(), key=lambda item: (item[1][2], -item[0]))

    def as_dict(self) -> dict:
        t, score = self.best()
        return {"name": self.name, "default": self.default, "at_default": self.scores[self.default],
                "best_threshold": t, "at_best": score, "seconds": self.seconds, "note": self.note}


def ours(texts: list[str], truth: Truth, cache: Path) -> tuple[list[Curve], np.ndarray, dict]:
    from quoradup_gui.core.mine.clustering import MODES, cluster_at_threshold
    from quoradup_gui.core.mine.defaults import DEFAULT_MODE, DEFAULT_THRESHOLD
    from quoradup_gui.core.mine.graph import build_neighbour_graph
    from quoradup_gui.core.mine.mining import MiningParams, mine_collection
    from quoradup_gui.core.text import normalize_text

    started = time.perf_counter()
    mined = mine_collection(texts, MiningParams(model="default", backend="torch", cache_dir=cache))
    info = {"mine_s": time.perf_counter() - started}
    started = time.perf_counter()
    graph = build_neighbour_graph(mined.embeddings, [normalize_text(t) for t in texts], k=10, min_score=0.5)
    info["graph_s"] = time.perf_counter() - started
    curves = []
    for mode in MODES:
        default = DEFAULT_THRESHOLD  # the app's, whatever the mode
        curve = Curve(f"quoradup {mode}" + (" (default)" if mode == DEFAULT_MODE else ""), default)
        for t in sorted({*GRID, default}):
            curve.scores[t] = pairwise(cluster_at_threshold(graph, mined.embeddings, t, mode=mode).labels, truth.group)
        times = []
        for _ in range(5):
            begin = time.perf_counter()
            cluster_at_threshold(graph, mined.embeddings, default, mode=mode)
            times.append(time.perf_counter() - begin)
        curve.seconds = info["graph_s"] + statistics.median(times)
        curves.append(curve)
    return curves, np.asarray(mined.embeddings, np.float32), info


def sentence_transformers_peers(embeddings: np.ndarray, truth: Truth) -> list[Curve]:
    import torch
    from sentence_transformers import util

    n = embeddings.shape[0]
    tensor = torch.from_numpy(embeddings)
    pm = Curve("paraphrase_mining + components", COMMUNITY_DEFAULT, "no default threshold: 0.75 as community_detection")
    started = time.perf_counter()
    found = util.paraphrase_mining_embeddings(tensor)
    pm.seconds = time.perf_counter() - started
    scores = np.array([s for s, _, _ in found], np.float32)
    a = np.array([i for _, i, _ in found], np.int64)
    b = np.array([j for _, _, j in found], np.int64)
    for t in GRID:
        keep = scores >= np.float32(t)
        pm.scores[t] = pairwise(components(n, a[keep], b[keep]), truth.group)
    cd = Curve("community_detection (min size 2)", COMMUNITY_DEFAULT)
    for t in GRID:
        started = time.perf_counter()
        clusters = util.community_detection(tensor, threshold=t, min_community_size=2)
        if t == COMMUNITY_DEFAULT:
            cd.seconds = time.perf_counter() - started
        cd.scores[t] = pairwise(from_lists(n, clusters), truth.group)
    return [pm, cd]


def average_linkage(embeddings: np.ndarray, truth: Truth) -> Curve:
    """The other clustering that does not chain, for reference: exact average linkage over all
    pairs (scipy, a dense distance matrix: fine at 10k, not at 200k, which is why the app offers
    kept questions instead; on the cached graph it could only be approximated)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    curve = Curve("average linkage (exact, dense; reference)", COMMUNITY_DEFAULT, "no default threshold: 0.75")
    started = time.perf_counter()
    distances = np.nan_to_num(pdist(embeddings.astype(np.float64), "cosine"), nan=1.0)
    tree = linkage(distances, "average")
    del distances
    curve.seconds = time.perf_counter() - started
    for t in GRID:
        curve.scores[t] = pairwise(fcluster(tree, 1.0 - t, "distance"), truth.group)
    return curve


def semhash_venv(folder: Path) -> Path:
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"   creating SemHash's own virtual environment in {folder} ({SEMHASH})…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SEMHASH], check=True)
    return python


def semhash_peer(embeddings: np.ndarray, texts: list[str], truth: Truth, venv: Path) -> Curve:
    python = semhash_venv(venv)
    with tempfile.TemporaryDirectory(prefix="quoradup-peers-") as folder:
        tmp = Path(folder)
        np.save(tmp / "emb.npy", embeddings)
        (tmp / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        (tmp / "grid.json").write_text(json.dumps(list(GRID)), encoding="utf-8")
        subprocess.run([str(python), str(HERE / "peers_semhash.py"), str(tmp / "emb.npy"), str(tmp / "texts.json"),
                        str(tmp / "grid.json"), str(tmp / "out.json")], check=True)
        out = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
    curve = Curve(f"SemHash {out['version']}", SEMHASH_DEFAULT)
    for t in GRID:
        result = out["thresholds"][str(t)]
        curve.scores[t] = pairwise(np.array(result["labels"]), truth.group)
    curve.seconds = out["index_s"] + out["thresholds"][str(SEMHASH_DEFAULT)]["seconds"]
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also save the numbers as JSON")
    parser.add_argument("--no-semhash", action="store_true", help="leave SemHash out (no virtual environment)")
    parser.add_argument("--no-average", action="store_true", help="leave the average-linkage reference out")
    parser.add_argument("--semhash-venv", type=Path, default=HERE / ".venv-semhash")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                        / "quoradup-bench")
    args = parser.parse_args()
    truth = Truth(read_dev())
    texts = list(truth.texts)
    n_pairs = int(sum(c * (c - 1) // 2 for c in np.unique(truth.group, return_counts=True)[1]))
    print(f"Quora dev collection: {len(texts):,} distinct questions, {n_pairs:,} duplicate pairs in the truth; "
          f"{os.cpu_count()} cores", flush=True)
    curves, embeddings, info = ours(texts, truth, args.cache_dir)
    print(f"   encoded and mined in {info['mine_s']:.1f} s; neighbour graph {info['graph_s']:.2f} s", flush=True)
    curves += sentence_transformers_peers(embeddings, truth)
    if not args.no_average:
        curves.append(average_linkage(embeddings, truth))
    if not args.no_semhash:
        curves.append(semhash_peer(embeddings, texts, truth, args.semhash_venv))
    print(f"\n{'system':40s} {'default':>7s}  {'P':>5s} {'R':>5s} {'F1':>5s}   {'best t':>6s}  {'P':>5s} {'R':>5s} "
          f"{'F1':>5s}   {'wall s':>6s}")
    for curve in curves:
        p, r, f = curve.scores[curve.default]
        t, (bp, br, bf) = curve.best()
        print(f"{curve.name:40s} {curve.default:7.3f}  {p:5.3f} {r:5.3f} {f:5.3f}   {t:6.3f}  {bp:5.3f} {br:5.3f} "
              f"{bf:5.3f}   {curve.seconds:6.2f}" + (f"  ({curve.note})" if curve.note else ""))
    default = next(c for c in curves if c.name.endswith("(default)"))
    peers = [c for c in curves if not c.name.startswith(("quoradup", "average"))]
    ours_f1 = default.scores[default.default][2]
    best_peer = max(peers, key=lambda c: c.best()[1][2])
    verdict = "yes" if ours_f1 > best_peer.best()[1][2] else "NO"
    print(f"\nour default ({default.name.split()[1]} at {default.default:.3f}) F1 {ours_f1:.3f}; best peer "
          f"{best_peer.name} F1 {best_peer.best()[1][2]:.3f} at {best_peer.best()[0]:.3f}: beats every peer's best: {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"curves": [c.as_dict() for c in curves], "info": info}, indent=1),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
