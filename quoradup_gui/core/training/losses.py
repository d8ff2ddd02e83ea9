"""The losses of the sentence-transformers Quora recipe, with the datasets each one needs.

Losses keep their sentence-transformers shapes: :func:`build_objectives` returns what
``SentenceTransformerTrainer`` takes (one dataset and one loss, or a dict of each for the
multi-task run) plus the batch samplers the recipe uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import QuoradupError
from .data import PAIR, PAIR_CLASS, PairData, contrastive_rows, ranking_rows, to_dataset
from .loss_info import LOSSES, LossInfo  # noqa: F401  (re-exported; the table imports without pandas)
from .sampling import LENGTH_GROUPED

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

AUTO = "auto"
CONTRASTIVE_MARGIN = 0.5  # cosine distance, as in the recipe
LOSS_NAMES = tuple(LOSSES)


def default_loss(kind: str) -> str:
    """The recipe's choice for the data: labelled pairs → multi-task; duplicates/triplets → mnrl."""
    return "multi-task" if kind == PAIR_CLASS else "mnrl"


def resolve_loss(name: str, kind: str) -> str:
    """``name`` checked against the data (``auto`` → :func:`default_loss`)."""
    name = (name or AUTO).strip().lower()
    if name == AUTO:
        return default_loss(kind)
    if name not in LOSSES:
        raise QuoradupError(f"Unknown loss '{name}'.", f"Choose one of: {', '.join(LOSS_NAMES)} (or auto).")
    if LOSSES[name].needs_non_duplicates and kind == PAIR:
        raise QuoradupError(
            f"The {name} loss learns from duplicates and non-duplicates, but the data holds only duplicate pairs.",
            "Choose mnrl or cached-mnrl, or use pairs labelled 1 and 0.",
        )
    return name


@dataclass(frozen=True)
class Objectives:
    """What the trainer takes: a dataset and a loss, or dicts of them keyed by objective name."""

    train_dataset: Any  # datasets.Dataset | dict[str, datasets.Dataset]
    loss: Any  # torch.nn.Module | dict[str, torch.nn.Module]
    batch_sampler: str  # sentence-transformers BatchSamplers value, or sampling.LENGTH_GROUPED
    multi_dataset_batch_sampler: str
    n_rows: int  # training rows over all objectives (after the symmetric copies)


def build_objectives(name: str, model: SentenceTransformer, train: PairData, mini_batch_size: int = 32) -> Objectives:
    from sentence_transformers.sentence_transformer import losses

    name = resolve_loss(name, train.kind)
    if name in ("online-contrastive", "contrastive"):
        cls = losses.OnlineContrastiveLoss if name == "online-contrastive" else losses.ContrastiveLoss
        dataset = to_dataset(contrastive_rows(train))
        return Objectives(dataset, cls(model, margin=CONTRASTIVE_MARGIN), LENGTH_GROUPED, "proportional",
                          len(dataset))
    if name == "cosent":
        rows = contrastive_rows(train)
        rows["score"] = [float(y) for y in rows.pop("label")]
        dataset = to_dataset(rows)
        return Objectives(dataset, losses.CoSENTLoss(model), LENGTH_GROUPED, "proportional", len(dataset))
    if name == "mnrl":
        dataset = to_dataset(ranking_rows(train))
        # No question twice in a batch: a copy of the positive would count as a negative.
        return Objectives(dataset, losses.MultipleNegativesRankingLoss(model), "no_duplicates", "proportional",
                          len(dataset))
    if name == "cached-mnrl":
        dataset = to_dataset(ranking_rows(train))
        loss = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size)
        return Objectives(dataset, loss, "no_duplicates", "proportional", len(dataset))
    # multi-task: one trainer, a dict of datasets and a dict of losses (the recipe's multi-task example)
    # keyed by the names of LOSSES, so the Train tab can title each task's loss curve
    datasets = {"mnrl": to_dataset(ranking_rows(train)), "online-contrastive": to_dataset(contrastive_rows(train))}
    loss = {"mnrl": losses.MultipleNegativesRankingLoss(model),
            "online-contrastive": losses.OnlineContrastiveLoss(model, margin=CONTRASTIVE_MARGIN)}
    return Objectives(datasets, loss, "no_duplicates", "proportional", sum(map(len, datasets.values())))
