"""Batches of pairs of similar length: less padding, so faster steps on a CPU.

A batch is padded to its longest text; Quora-like questions run from 20 to 300 characters, so a
random batch spends much of its time on padding. The sampler shuffles the rows, takes them a
window (GROUP_BATCHES batches) at a time, sorts each window by length and cuts it into batches,
then shuffles the order of all batches: every epoch still sees every row once, in an order
that changes with the epoch, and batch composition stays random beyond the length.

Only for losses without in-batch negatives (contrastive, online contrastive, CoSENT): with
MultipleNegativesRankingLoss the batch is the set of negatives, and it keeps
sentence-transformers' no-duplicates sampler.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

GROUP_BATCHES = 32  # batches per sorted window: enough to even out lengths, small enough to stay random
LENGTH_GROUPED = "length_grouped"  # Objectives.batch_sampler value that run.py maps to the sampler


def text_lengths(dataset: Any) -> np.ndarray:
    """Per row, the characters of its longest text column (the padding a batch needs follows it)."""
    columns = [name for name, feature in dataset.features.items() if getattr(feature, "dtype", "") == "string"]
    lengths = np.zeros(len(dataset), np.int64)
    for name in columns:
        lengths = np.maximum(lengths, np.fromiter((len(t or "") for t in dataset[name]), np.int64, len(dataset)))
    return lengths


def length_grouped_batches(lengths: np.ndarray, batch_size: int, drop_last: bool, seed: int) -> list[list[int]]:
    """One epoch's batches (see the module docstring); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(lengths.size)
    window = batch_size * GROUP_BATCHES
    batches: list[list[int]] = []
    for start in range(0, order.size, window):
        part = order[start : start + window]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches += [part[i : i + batch_size].tolist() for i in range(0, part.size, batch_size)]
    if drop_last:
        batches = [b for b in batches if len(b) == batch_size]
    return [batches[i] for i in rng.permutation(len(batches))]


def length_grouped_batch_sampler(dataset, batch_size: int, drop_last: bool, valid_label_columns=None,
                                 generator=None, seed: int = 0):
    """A sentence-transformers batch sampler (the trainer's ``batch_sampler`` callable)."""
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class LengthGroupedBatchSampler(DefaultBatchSampler):
        def __init__(self) -> None:
            super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                             valid_label_columns=valid_label_columns, generator=generator, seed=seed)
            self.lengths = text_lengths(dataset)

        def __iter__(self):
            epoch = int(getattr(self, "epoch", 0) or 0)
            yield from length_grouped_batches(self.lengths, self.batch_size, self.drop_last, (self.seed or 0) + epoch)

        def __len__(self) -> int:  # as many as length_grouped_batches gives: full windows, then the rest
            windows, rest = divmod(len(self.lengths), self.batch_size * GROUP_BATCHES)
            tail = rest // self.batch_size if self.drop_last else math.ceil(rest / self.batch_size)
            return windows * GROUP_BATCHES + tail

    return LengthGroupedBatchSampler()
