"""Improve the model from my review: fine-tune the model in use on the session's labelled pairs.

The labelled pairs are the review's (core.review.labels) plus the file's own labels. Part of
them, split by question, is held out to score the model before and after (core.training does
the split and the scoring). The run continues from the model in use (a fine-tuned model can be
improved again) and writes a new model folder; the model in use is never written to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..encode.models import resolve_model
from ..errors import QuoradupError
from ..resources import app_data_dir
from ..review.labels import LabelledRows, review_pairs
from ..training.config import TrainingConfig
from ..training.data import PairData, labelled_pairs

if TYPE_CHECKING:
    from ..jobs import JobContext
    from ..review.session import ReviewSession
    from ..training.config import TrainingResult

MIN_PAIRS = 20  # labelled pairs below which a held-out score and a training run say nothing
MIN_EACH = 5  # duplicates, and not duplicates, among them
EVAL_FRACTION = 0.2  # held out (split by question): small label sets need a bigger share to score at all


class TooFewLabels(QuoradupError):
    """The review holds too few labelled pairs to train on; the message says how many more."""


@dataclass(frozen=True)
class ReviewTraining:
    """What a run from the review would learn from."""

    rows: LabelledRows
    pairs: PairData

    @property
    def n_needed(self) -> int:
        return answers_needed(self.rows)

    def describe(self) -> str:
        n_file = len(self.rows) - self.rows.n_review
        file_part = f" and {n_file:,} of the file's own" if n_file else ""
        return (f"{self.rows.n_review:,} labelled pairs from your review{file_part}: "
                f"{self.rows.n_duplicates:,} duplicates, {self.rows.n_not:,} not")


def answers_needed(rows: LabelledRows) -> int:
    """How many more answered pairs training needs (0: enough)."""
    return max(MIN_PAIRS - len(rows), MIN_EACH - rows.n_duplicates, MIN_EACH - rows.n_not, 0)


def too_few_message(rows: LabelledRows) -> tuple[str, str]:
    """(message, hint) for a review that cannot train yet."""
    need = answers_needed(rows)
    short = [f"{MIN_EACH - n:,} or more {what}" for n, what in ((rows.n_duplicates, "duplicates"), (rows.n_not, "not"))
             if n < MIN_EACH]
    among = f" ({' and '.join(short)})" if short else ""
    return (f"Improving the model needs at least {MIN_PAIRS} labelled pairs with {MIN_EACH} duplicates and {MIN_EACH} "
            f"non-duplicates; your review has {len(rows):,} ({rows.n_duplicates:,} duplicates, {rows.n_not:,} not).",
            f"Answer {need:,} more pair{'s' if need != 1 else ''}{among} in Check pairs, then try again.")


def review_training(session: ReviewSession) -> ReviewTraining:
    rows = review_pairs(session.collection, session.resolved)
    texts = session.collection.texts
    pairs = labelled_pairs([texts[r] for r in rows.row1], [texts[r] for r in rows.row2], rows.labels.tolist(),
                           source=f"review of {session.collection.path.name} ({session.collection.column})")
    return ReviewTraining(rows, pairs)


SMALL_SET = 2000  # labelled pairs below which the small-set recipe applies


def review_recipe(n_pairs: int) -> dict:
    """Loss, epochs, batch size and learning rate for a label set of ``n_pairs`` (measured by
    benchmarks/active_learning.py): small sets need more passes and a smaller batch to move at all,
    and CoSENT, which only fixes the order of similarities, moved the collection's mining AP as far
    as the multi-task loss in half the steps; larger sets get the Automatic recipe."""
    small = n_pairs < SMALL_SET
    batch = 16 if small else 32
    steps_per_epoch = max(1, -(-n_pairs // batch))
    epochs = float(min(8, max(1, round(120 / steps_per_epoch))))
    return {"loss": "cosent" if small else "auto", "epochs": epochs, "batch_size": batch,
            "learning_rate": 3e-5 if small else 2e-5}


def review_output_dir(model: str, now: datetime | None = None) -> Path:
    """A new folder under the app's models: the base model's name (without an earlier run's
    suffix), "review" and the time."""
    spec = resolve_model(model)
    from ..training.run import model_short_name

    name = re.sub(r"(-[a-z\-]+)?-\d{8}-\d{6}(-.*)?$", "", model_short_name(spec)) or "model"
    return app_data_dir() / "models" / f"{name}-review-{(now or datetime.now()):%Y%m%d-%H%M%S}"


def review_config(model: str, n_pairs: int, output_dir: str | Path | None = None, **overrides) -> TrainingConfig:
    """The run Improve starts: the review recipe (loss and schedule by the number of pairs), a new folder."""
    config = TrainingConfig(model=str(model), eval_fraction=EVAL_FRACTION, **review_recipe(n_pairs))
    config = replace(config, output_dir=str(output_dir or review_output_dir(model)), **overrides)
    check_output_is_new(config.model, Path(config.output_dir))
    return config


def check_output_is_new(model: str, output: Path) -> None:
    """The model in use is never the output of a run that improves it."""
    spec = resolve_model(model)
    if spec.path is not None and Path(output).expanduser().resolve() == Path(spec.path).resolve():
        raise QuoradupError(f"{output} is the model being improved; the improved model goes to a new folder.",
                            "Leave out --output (a new folder is made) or name another folder.")


def train_from_review(session: ReviewSession, model: str = "default", output_dir: str | Path | None = None,
                      ctx: JobContext | None = None, **overrides) -> TrainingResult:
    """Fine-tune ``model`` on the session's labelled pairs (TooFewLabels when there are too few)."""
    from ..training.run import run_training

    data = review_training(session)
    if data.n_needed:
        raise TooFewLabels(*too_few_message(data.rows))
    config = review_config(model, len(data.pairs), output_dir, **overrides)
    return run_training(config, data.pairs, ctx)
