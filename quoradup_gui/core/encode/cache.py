"""The on-disk embedding cache of one model and backend (see core.encode.embedding for its layout)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_writer

log = logging.getLogger(__name__)

_ORPHAN_AGE_S = 3600  # a vector file without its key file, older than this, is a dead run's leftover
CHUNK = 65536  # rows per step when copying or normalising big arrays


class EmbeddingCache:
    """The segments of one (model fingerprint, backend) folder, indexed for look-up."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._segments: list[tuple[str, np.ndarray]] = []  # (stem, memory-mapped vectors)
        self._counter = 0
        keys = [self._open_segment(stem) for stem in self.segment_stems()]
        keys = [k for k in keys if k is not None]
        self.dimension = self._drop_odd_dimensions(keys)
        all_keys = np.concatenate([k for k in keys]) if keys else np.zeros((0, 2), np.uint64)
        owners = [np.full(len(k), i, np.int32) for i, k in enumerate(keys)]
        self._owner = np.concatenate(owners) if keys else np.zeros(0, np.int32)
        self._row = np.concatenate([np.arange(len(k), dtype=np.int64) for k in keys]) if keys else np.zeros(0, np.int64)
        order = np.argsort(all_keys[:, 0], kind="stable")
        self._high, self._low = all_keys[order, 0], all_keys[order, 1]
        self._owner, self._row = self._owner[order], self._row[order]
        self._remove_orphans()

    def __len__(self) -> int:
        return len(self._high)

    @property
    def n_segments(self) -> int:
        return len(self._segments)

    def segment_stems(self) -> list[str]:
        return sorted(p.name[: -len(".key.npy")] for p in self.folder.glob("seg-*.key.npy"))

    def _open_segment(self, stem: str) -> np.ndarray | None:
        key_path, vec_path = self.folder / f"{stem}.key.npy", self.folder / f"{stem}.vec.npy"
        try:
            keys = np.load(key_path, allow_pickle=False)
            vectors = np.load(vec_path, mmap_mode="r", allow_pickle=False)
            if (
                keys.ndim != 2 or keys.shape[1] != 2 or keys.dtype != np.uint64
                or vectors.ndim != 2 or vectors.shape[0] != keys.shape[0] or vectors.shape[1] < 1
                or vectors.dtype not in (np.float16, np.float32)
            ):
                raise ValueError(f"shapes {keys.shape}/{keys.dtype} and {vectors.shape}/{vectors.dtype} disagree")
        except Exception as err:  # truncated, garbage, half-written: forget it, it is re-encoded
            log.warning("Ignoring broken embedding cache segment %s: %s", key_path, err)
            self._remove(stem)
            return None
        self._segments.append((stem, vectors))
        return keys

    def _drop_odd_dimensions(self, keys: list[np.ndarray]) -> int | None:
        """All segments of one model share a dimension; drop any that does not (keeps the common one)."""
        if not self._segments:
            return None
        dims = [vectors.shape[1] for _, vectors in self._segments]
        common = max(set(dims), key=dims.count)
        for i in reversed(range(len(dims))):
            if dims[i] != common:
                self._remove(self._segments[i][0])
                del self._segments[i], keys[i]
        return common

    def _remove(self, stem: str) -> None:
        for suffix in (".key.npy", ".vec.npy"):  # the key file first: it marks the segment valid
            try:
                (self.folder / f"{stem}{suffix}").unlink(missing_ok=True)
            except OSError:  # e.g. still memory-mapped on Windows; retried on a later open
                pass

    def clear(self) -> None:
        """Delete every segment (used when they cannot belong to this model)."""
        for stem, _ in self._segments:
            self._remove(stem)
        self._segments = []
        self._high = self._low = np.zeros(0, np.uint64)
        self._owner, self._row = np.zeros(0, np.int32), np.zeros(0, np.int64)
        self.dimension = None

    def _remove_orphans(self) -> None:
        for vec_path in self.folder.glob("*.vec.npy"):
            stem = vec_path.name[: -len(".vec.npy")]
            if not (self.folder / f"{stem}.key.npy").exists():
                self._remove_if_old(vec_path)
        for tmp in [*self.folder.glob(".tmp-*"), *self.folder.glob(".seg-*.tmp")]:  # compaction's, atomic_writer's
            self._remove_if_old(tmp)

    @staticmethod
    def _remove_if_old(path: Path) -> None:
        try:  # a young one may belong to a run writing right now in another process
            if time.time() - path.stat().st_mtime > _ORPHAN_AGE_S:
                path.unlink()
        except OSError:
            pass

    def lookup(self, digests: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, out): row i of ``out`` (n x dim, float32 unless given) holds digest i's
        stored vector where found, as stored (not re-normalised). Filled in place, in chunks:
        at a million rows, whole-array temporaries cost more than the look-up itself."""
        n = len(digests)
        if out is None:
            out = np.zeros((n, self.dimension or 0), np.float32)
        if len(self) == 0 or n == 0:
            return np.zeros(n, dtype=bool), out
        by_high = np.argsort(digests[:, 0])  # sorted needles: searchsorted walks memory in order
        pos = np.empty(n, np.int64)
        pos[by_high] = np.searchsorted(self._high, digests[by_high, 0])
        np.minimum(pos, len(self) - 1, out=pos)
        found = (self._high[pos] == digests[:, 0]) & (self._low[pos] == digests[:, 1])
        dest = np.flatnonzero(found)
        owners, rows = self._owner[pos[dest]], self._row[pos[dest]]
        by_place = np.lexsort((rows, owners))  # per segment, ascending rows: sequential reads
        dest, owners, rows = dest[by_place], owners[by_place], rows[by_place]
        bounds = np.searchsorted(owners, np.arange(len(self._segments) + 1))
        for seg, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            for begin in range(lo, hi, CHUNK):
                end = min(begin + CHUNK, hi)
                out[dest[begin:end]] = self._segments[seg][1][rows[begin:end]]
        return found, out

    def discard_segments_of(self, bad: np.ndarray, digests: np.ndarray) -> np.ndarray:
        """Delete the segments holding the ``bad`` digests (their values are damaged); the mask of
        ``digests`` stored in those segments, which must all be encoded again."""
        if len(self) == 0 or len(bad) == 0:
            return np.zeros(len(digests), bool)

        def owners(d: np.ndarray) -> np.ndarray:
            pos = np.minimum(np.searchsorted(self._high, d[:, 0]), len(self) - 1)
            hit = (self._high[pos] == d[:, 0]) & (self._low[pos] == d[:, 1])
            return np.where(hit, self._owner[pos], -1)

        damaged = np.setdiff1d(np.unique(owners(bad)), [-1])
        for seg in damaged:
            log.warning("Embedding cache segment %s holds invalid vectors (not finite or not unit length): "
                        "deleting it; its questions are encoded again", self._segments[seg][0])
            self._remove(self._segments[seg][0])
        return np.isin(owners(digests), damaged)

    def add(self, digests: np.ndarray, vectors: np.ndarray, dtype: str = "float16") -> None:
        """Write one segment atomically (vectors first, then the keys that validate them)."""
        if len(digests) == 0:
            return
        stem = self._new_stem()
        self._write(self.folder / f"{stem}.vec.npy", np.ascontiguousarray(vectors, dtype=dtype))
        self._write(self.folder / f"{stem}.key.npy", np.ascontiguousarray(digests, dtype=np.uint64))

    def _new_stem(self) -> str:
        self._counter += 1  # unique across processes and runs: time, pid, counter
        return f"seg-{time.time_ns():x}-{os.getpid()}-{self._counter}"

    def _write(self, path: Path, array: np.ndarray) -> None:
        with atomic_writer(path, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    def compact(self, dtype: str = "float16") -> None:
        """Merge all segments into one (sorted by key, duplicates dropped), then delete the old ones.

        Streams through a memory-mapped output so a million vectors never sit in RAM twice.
        """
        if self.n_segments < 2:
            return
        keep = np.ones(len(self), dtype=bool)
        keep[1:] = (self._high[1:] != self._high[:-1]) | (self._low[1:] != self._low[:-1])
        digests = np.stack([self._high[keep], self._low[keep]], axis=1)
        old = [stem for stem, _ in self._segments]
        stem = self._new_stem()
        tmp = self.folder / f".tmp-{stem}.vec.npy"
        merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(digests), self.dimension))
        found, _ = self.lookup(digests, out=merged)
        merged.flush()
        del merged
        if not found.all():  # only on a 64-bit prefix collision: keep the rows we can vouch for
            tmp.unlink(missing_ok=True)
            return
        os.replace(tmp, self.folder / f"{stem}.vec.npy")  # streamed through a memory map (flushed): then one rename
        self._write(self.folder / f"{stem}.key.npy", digests)
        for old_stem in old:
            self._remove(old_stem)


UNIT_TOLERANCE = 0.01  # float16 storage rounds a unit vector's length by about 1e-3


def unit_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For ``vectors[rows]``: finite and of unit length within UNIT_TOLERANCE (what the cache stores)."""
    ok = np.empty(len(rows), bool)
    for begin in range(0, len(rows), CHUNK):
        block = vectors[rows[begin : begin + CHUNK]]
        with np.errstate(invalid="ignore", over="ignore"):
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        ok[begin : begin + CHUNK] = np.isfinite(norms) & (np.abs(norms - 1.0) <= UNIT_TOLERANCE)
    return ok


def normalise_in_place(vectors: np.ndarray) -> None:
    for begin in range(0, len(vectors), CHUNK):
        block = vectors[begin : begin + CHUNK]
        block /= np.maximum(np.sqrt(np.einsum("ij,ij->i", block, block)), 1e-12)[:, None]
