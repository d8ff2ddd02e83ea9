"""The mining pipeline: texts → embeddings (cached) → neighbour graph (cached) → clusters.

``mine_collection`` is the job behind "Find duplicates" and `quoradup mine`; moving the
threshold afterwards only calls ``cluster_at_threshold`` on the result's graph.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..encode.embedding import EncodeOptions, default_cache_dir, encode_texts
from ..encode.models import ModelSpec, resolve_model
from ..errors import QuoradupError
from ..jobs import JobContext, NullContext
from ..text import normalize_text
from .clustering import CanonicalPolicy, Clustering, ClusterMode, Constraints, cluster_at_threshold
from .defaults import DEFAULT_MODE, DEFAULT_THRESHOLD  # noqa: E402,F401  (re-exported for the CLI)
from .graph import NeighbourGraph, build_neighbour_graph

GRAPH_FORMAT = "g1"


@dataclass(frozen=True)
class MiningParams:
    model: str = "default"
    k: int = 10
    min_score: float = 0.5
    backend: str = "auto"
    device: str | None = None
    batch_size: int = 64
    cache_dir: Path | None = None
    use_cache: bool = True

    def validate(self) -> None:
        if not 1 <= self.k <= 1000:
            raise QuoradupError(f"The number of neighbours per question (k) must be between 1 and 1,000, not {self.k:,}.",
                                "The default, 10, suits collections of any size.")
        if not 0.0 <= self.min_score < 1.0:
            raise QuoradupError(f"The lowest similarity kept in the graph must be in [0, 1), not {self.min_score}.")


@dataclass(frozen=True, eq=False)
class MinedCollection:
    """Everything the threshold slider needs, computed once per collection and model."""

    texts: tuple[str, ...]
    embeddings: np.ndarray  # (n, d) float32, L2-normalised
    graph: NeighbourGraph
    blank: np.ndarray  # bool (n,): rows with no text, never clustered
    model: ModelSpec
    model_fingerprint: str
    backend: str
    n_encoded: int
    graph_from_cache: bool
    seconds: float

    @property
    def n(self) -> int:
        return len(self.texts)

    def text_lengths(self) -> np.ndarray:
        return np.fromiter((len(t) for t in self.texts), np.int64, len(self.texts))

    def cluster(self, threshold: float, mode: ClusterMode = DEFAULT_MODE, canonical_policy: CanonicalPolicy = "central",
                constraints: Constraints | None = None, ctx: JobContext | None = None) -> Clustering:
        # ctx matters for community mode, whose first low threshold may search many rows exhaustively.
        return cluster_at_threshold(self.graph, self.embeddings, threshold, mode=mode,
                                    canonical_policy=canonical_policy, constraints=constraints,
                                    text_lengths=self.text_lengths() if canonical_policy == "longest" else None,
                                    ctx=ctx)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return ""
    try:
        import pandas as pd

        if value is pd.NA:
            return ""
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def graph_cache_key(fingerprint: str, backend: str, texts: Sequence[str], params: MiningParams) -> str:
    # The backend is part of the key: torch and ONNX int8 vectors differ slightly.
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{GRAPH_FORMAT}|{fingerprint}|{backend}|{params.k}|{params.min_score}|{len(texts)}|".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def graph_is_cached(texts: Sequence[object], params: MiningParams = MiningParams()) -> bool:
    """True when mining ``texts`` with ``params`` would come from the caches (the graph is saved
    only once every embedding is): the app then shows the clusters without waiting for Find."""
    from ..encode.models import model_fingerprint

    if not params.use_cache:
        return False
    try:
        spec = resolve_model(params.model)
        fingerprint = model_fingerprint(spec)
    except (QuoradupError, OSError):
        return False
    texts = tuple(_as_text(t) for t in texts)
    folder = Path(params.cache_dir or default_cache_dir()).parent / "graphs"
    return any((folder / f"{graph_cache_key(fingerprint, backend, texts, params)}.npz").is_file()
               for backend in ("onnx-int8", "torch"))


def mine_collection(texts: Sequence[object], params: MiningParams = MiningParams(),
                    ctx: JobContext | None = None) -> MinedCollection:
    """Embed ``texts`` (one per row) and build their neighbour graph; both are cached on disk."""
    ctx = ctx or NullContext()
    params.validate()
    start = time.perf_counter()
    texts = tuple(_as_text(t) for t in texts)
    normalized = [normalize_text(t) for t in texts]
    blank = np.fromiter((not t for t in normalized), bool, len(normalized))
    # Blank rows get a text of their own so they never form an "exact duplicate" group.
    for row in np.flatnonzero(blank):
        normalized[row] = f"\x00blank-{row}"

    spec = resolve_model(params.model)
    cache_dir = params.cache_dir or default_cache_dir()
    options = EncodeOptions(batch_size=params.batch_size, backend=params.backend, device=params.device,
                            cache_dir=cache_dir, use_cache=params.use_cache)
    encoded = encode_texts(spec, texts, options, ctx)
    ctx.check_cancelled()
    embeddings = encoded.embeddings
    if blank.any():  # zero vectors: similarity 0 to everything, so no path ever reaches a blank row
        embeddings = np.array(embeddings, dtype=np.float32, copy=True)
        embeddings[blank] = 0.0

    key = graph_cache_key(encoded.model_fingerprint, encoded.backend, texts, params)
    graph_path = Path(cache_dir).parent / "graphs" / f"{key}.npz"
    graph, from_cache = None, False
    if params.use_cache and graph_path.exists():
        try:
            graph = NeighbourGraph.load(graph_path)
            from_cache = graph.n == len(texts)
        except (ValueError, OSError):
            graph = None
        if not from_cache:
            graph = None
    if graph is None:
        ctx.set_status(f"Finding neighbours of {len(texts):,} questions…")
        graph = build_neighbour_graph(embeddings, normalized, k=params.k, min_score=params.min_score, ctx=ctx)
        graph = _without_blank_rows(graph, blank)
        if params.use_cache:
            graph_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                graph.save(graph_path)
            except OSError:
                pass  # a read-only cache folder costs speed next time, nothing else
    return MinedCollection(texts, embeddings, graph, blank, spec, encoded.model_fingerprint,
                           encoded.backend, encoded.n_encoded, from_cache, time.perf_counter() - start)


def _without_blank_rows(graph: NeighbourGraph, blank: np.ndarray) -> NeighbourGraph:
    if not blank.any():
        return graph
    keep = ~(blank[graph.sources] | blank[graph.targets])
    kth = graph.kth_scores
    if kth is not None:
        kth = kth.copy()
        kth[blank] = -np.inf
    return replace(graph, sources=graph.sources[keep], targets=graph.targets[keep], scores=graph.scores[keep],
                   kth_scores=kth)
