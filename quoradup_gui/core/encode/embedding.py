"""Encoding questions into L2-normalised vectors, with an on-disk cache.

The cache lives in ``<cache_dir>/<model fingerprint>/vectors-<backend>/`` as segments: pairs of
``seg-<id>.vec.npy`` (n x dim, float16 by default, memory-mapped on read) and
``seg-<id>.key.npy`` (n x 2 uint64: a 128-bit blake2b digest of the key text). Each file is
written to a temp file and renamed; the key file is renamed last, so it marks a complete
segment. A segment that fails to load or whose shapes disagree is deleted and re-encoded:
a run killed midway, a truncated or a garbage file never crashes and never yields vectors.
Look-up sorts the first 64 digest bits once and uses np.searchsorted (fast at ~1M entries),
then checks the other 64 bits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import JobCancelled, QuoradupError
from ..jobs import JobContext, NullContext
from ..text import key_text
from .cache import EmbeddingCache, normalise_in_place, unit_rows
from .models import ModelError, ModelSpec, cpu_count, load_model, model_fingerprint, pick_device, resolve_model

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx-int8")
CACHE_DTYPES = ("float16", "float32")
FLUSH_EVERY = 4096  # texts per cache segment while encoding: a cancel keeps the work done so far
COMPACT_ABOVE = 16  # merge a variant's segments into one once there are more than this many


@dataclass(frozen=True)
class EncodeOptions:
    batch_size: int = 64
    backend: str = "auto"  # "torch" | "onnx-int8" | "auto" (onnx-int8 on CPU when it agrees with torch)
    device: str | None = None
    max_seq_length: int | None = None
    cache_dir: Path | None = None  # None: $XDG_CACHE_HOME/quoradup/embeddings
    use_cache: bool = True
    cache_dtype: str = "float16"  # or "float32"

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise QuoradupError(f"Unknown encoding backend '{self.backend}'.", f"Use one of {', '.join(BACKENDS)}.")
        if self.cache_dtype not in CACHE_DTYPES:
            raise QuoradupError(f"Unknown cache dtype '{self.cache_dtype}'.", "Use float16 or float32.")
        if self.batch_size < 1 or (self.max_seq_length is not None and self.max_seq_length < 2):
            raise QuoradupError("Batch size must be at least 1 and max sequence length at least 2.")


@dataclass(frozen=True)
class EncodeResult:
    embeddings: np.ndarray  # (n, dim) float32, L2-normalised, row i for texts[i]
    n_encoded: int  # distinct texts that went through the model (0 on a full cache hit)
    n_cached: int  # distinct texts found in the cache
    backend: str
    seconds: float
    model_fingerprint: str


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "quoradup" / "embeddings"


def text_digests(key_texts: Sequence[str]) -> np.ndarray:
    """(n, 2) uint64: the 128-bit blake2b digest of each text."""
    joined = b"".join(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in key_texts)
    return np.frombuffer(joined, dtype="<u8").reshape(-1, 2).copy()


# ----------------------------------------------------------------------------- encoders


class TorchEncoder:
    """SentenceTransformer.encode on one batch at a time (we do the batching and sorting)."""

    name = "torch"

    def __init__(self, spec: ModelSpec, device: str, max_seq_length: int | None = None) -> None:
        import torch

        if device == "cpu":
            torch.set_num_threads(cpu_count())
        self._torch = torch
        self._model = load_model(spec, device)
        self._max_seq_length = max_seq_length
        # Renamed get_embedding_dimension in sentence-transformers 6; older versions have only the old name.
        get_dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._model
        saved = model.max_seq_length
        try:  # the model object is shared through load_model's cache: restore what we change
            if self._max_seq_length is not None:
                model.max_seq_length = self._max_seq_length
            with self._torch.inference_mode():
                vectors = model.encode(
                    list(texts), batch_size=len(texts), convert_to_numpy=True,
                    normalize_embeddings=True, show_progress_bar=False,
                )
        finally:
            model.max_seq_length = saved
        return np.asarray(vectors, dtype=np.float32)


def _choose_backend(spec: ModelSpec, fingerprint: str, options: EncodeOptions, cache_root: Path,
                    ctx: JobContext) -> tuple[str, str]:
    """(backend, device) for this run."""
    from . import onnx_backend

    if options.backend == "torch":
        return "torch", pick_device(options.device)
    if options.backend == "onnx-int8":
        if options.device not in (None, "cpu", "auto"):
            raise ModelError("The onnx-int8 backend runs on the CPU only.", "Use the torch backend for a GPU.")
        reason = onnx_backend.unsupported_reason(spec)
        if reason:
            raise ModelError(f"The onnx-int8 backend cannot run {spec.describe()}: {reason}.", "Use the torch backend.")
        return "onnx-int8", "cpu"
    device = pick_device(options.device)
    if device != "cpu" or onnx_backend.unsupported_reason(spec):
        return "torch", device
    verdict = onnx_backend.ensure_verdict(spec, fingerprint, cache_root, ctx)
    return ("onnx-int8" if verdict.ok else "torch"), "cpu"


def _make_encoder(backend: str, spec: ModelSpec, fingerprint: str, device: str, options: EncodeOptions,
                  cache_root: Path, ctx: JobContext):
    if backend == "torch":
        return TorchEncoder(spec, device, options.max_seq_length)
    from .onnx_backend import get_onnx_encoder

    return get_onnx_encoder(spec, fingerprint, cache_root, options.max_seq_length, ctx)


# ----------------------------------------------------------------------------- the job


def encode_texts(
    model: str | ModelSpec,
    texts: Sequence[str],
    options: EncodeOptions = EncodeOptions(),
    ctx: JobContext | None = None,
) -> EncodeResult:
    """Embed ``texts`` (row i for texts[i]); each distinct text is encoded at most once, ever."""
    start = time.perf_counter()
    ctx = ctx or NullContext()
    options.validate()
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    if spec.kind == "hub":  # download first (if needed) so the fingerprint knows the revision
        load_model(spec, pick_device(options.device))
    fingerprint = model_fingerprint(spec)
    cache_root = Path(options.cache_dir) if options.cache_dir is not None else default_cache_dir()

    # Distinct key texts, and for every input row the index of its distinct text.
    first_index: dict[str, int] = {}
    inverse = np.fromiter(
        (first_index.setdefault(key_text(t), len(first_index)) for t in texts), dtype=np.int64, count=len(texts)
    )
    distinct = list(first_index)
    del first_index

    backend, device = _choose_backend(spec, fingerprint, options, cache_root, ctx)
    variant = backend if options.max_seq_length is None else f"{backend}-len{options.max_seq_length}"
    cache = _open_cache(cache_root / fingerprint / f"vectors-{variant}") if options.use_cache else None
    digests = text_digests(distinct)
    found = np.zeros(len(distinct), dtype=bool)
    vectors: np.ndarray | None = None
    if cache is not None and len(cache):
        vectors = np.empty((len(distinct), cache.dimension), np.float32)
        found, _ = cache.lookup(digests, out=vectors)
        bad = np.flatnonzero(found)[~unit_rows(vectors, np.flatnonzero(found))]
        if len(bad):  # NaN, zero or foreign values on disk: never used, encoded again
            found &= ~cache.discard_segments_of(digests[bad], digests)
            ctx.set_status(f"The embedding cache held {len(bad):,} damaged vectors; encoding those questions again…")
        ctx.set_status(f"{int(found.sum()):,} of {len(distinct):,} distinct questions found in the embedding cache")
    missing = np.flatnonzero(~found)

    if len(missing) or vectors is None:
        encoder = _make_encoder(backend, spec, fingerprint, device, options, cache_root, ctx)
        if vectors is None or vectors.shape[1] != encoder.dimension:
            if vectors is not None:  # foreign files in this model's folder: start it afresh
                log.warning("Embedding cache %s has dimension %d, the model %d: clearing it",
                            cache.folder, vectors.shape[1], encoder.dimension)  # type: ignore[union-attr]
                cache.clear()  # type: ignore[union-attr]
                found[:] = False
                missing = np.arange(len(distinct))
            vectors = np.empty((len(distinct), encoder.dimension), np.float32)
        if len(missing):
            _encode_missing(encoder, spec, backend, distinct, digests, missing, vectors, cache, options, ctx)
    if cache is not None:
        normalise_in_place(vectors)  # cached rows are float16-rounded: unit length again
        if len(missing) and len(cache.segment_stems()) > COMPACT_ABOVE:
            ctx.set_status("Compacting the embedding cache…")
            EmbeddingCache(cache.folder).compact(options.cache_dtype)
    no_duplicates = len(distinct) == len(texts)  # then inverse is 0..n-1: skip a copy of n x dim floats
    return EncodeResult(
        embeddings=vectors if no_duplicates else vectors[inverse],
        n_encoded=len(missing),
        n_cached=int(found.sum()),
        backend=backend,
        seconds=time.perf_counter() - start,
        model_fingerprint=fingerprint,
    )


def _open_cache(folder: Path) -> EmbeddingCache | None:
    try:
        return EmbeddingCache(folder)
    except OSError:  # e.g. a read-only home: encode everything rather than fail
        log.warning("Embedding cache %s is not usable; encoding without it", folder, exc_info=True)
        return None


def _encode_missing(encoder, spec, backend, distinct, digests, missing, out, cache, options, ctx) -> None:
    """Encode distinct[missing] into out[missing], longest first, in batches; save to the cache
    every FLUSH_EVERY texts and on the way out (cancel, error), so no finished batch is lost."""
    # Similar lengths in a batch waste little on padding: a big win on CPU.
    order = missing[np.argsort([-len(distinct[i]) for i in missing], kind="stable")]
    total, done, saved = len(order), 0, 0
    ctx.set_status(f"Encoding {total:,} questions with {spec.describe()} ({backend})…")

    def save_pending() -> None:
        nonlocal saved
        if cache is not None and done > saved:
            rows = order[saved:done]
            try:
                cache.add(digests[rows], out[rows], options.cache_dtype)
            except OSError:  # a full or read-only disk costs speed next time, not this result
                log.warning("Could not save embeddings to the cache in %s", cache.folder, exc_info=True)
            saved = done

    try:
        while done < total:
            if ctx.is_cancelled():
                kept = ", kept for next time" if cache is not None and done else ""
                already = len(distinct) - total
                raise JobCancelled(f"{already + done:,} of {len(distinct):,} questions encoded{kept}")
            rows = order[done : done + options.batch_size]
            batch = encoder.encode([distinct[i] for i in rows])
            if cache is not None:  # round as the cache stores it: a rerun returns identical vectors
                batch = batch.astype(options.cache_dtype)
            out[rows] = batch
            done += len(rows)
            ctx.set_progress(done, total)
            if done - saved >= FLUSH_EVERY:
                save_pending()
    finally:
        save_pending()
