"""The parameters of a training run and its result: plain dataclasses, validated in one place.

``TrainingConfig`` is what the Train tab saves as JSON and ``quoradup train --config`` reads
(a run's ``quoradup_training.json`` works too: its ``config`` is used).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..encode.models import DEFAULT_MODEL
from ..errors import QuoradupError
from ..evaluate.evaluation import PairMetrics

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


LEARNING_RATE_USUAL = (1e-6, 5e-4)  # fine-tuning a pretrained sentence encoder


@dataclass
class TrainingConfig:
    """Everything a run needs besides the data; what the Train tab saves and ``--config`` reads."""

    model: str = DEFAULT_MODEL  # 'default', a model folder or a hub id
    pairs: str | None = None  # data source for the CLI: a pair file or hub dataset id[:subset]
    loss: str = "auto"  # auto | online-contrastive | contrastive | mnrl | cached-mnrl | multi-task
    epochs: float = 1.0
    batch_size: int = 32  # pairs per step (per process)
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_seq_length: int | None = None  # None: the model's own
    eval_steps: int = 0  # 0: about ten evaluations per run
    max_pairs: int | None = None  # use the first N usable pairs of the data
    eval_fraction: float = 0.1  # share of the pairs held out, split by question
    max_eval_pairs: int = 2000  # held-out pairs scored during training
    seed: int = 42
    output_dir: str | None = None  # None: $XDG_DATA_HOME/quoradup/models/<name>-<timestamp>
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto: bf16 on GPUs and CPUs that support it, else fp16 on CUDA, fp32 elsewhere
    resume: bool = False  # continue from the last checkpoint of output_dir
    mini_batch_size: int = 32  # cached-mnrl only
    logging_steps: int = 0  # 0: about 200 loss points per run
    checkpoint_minutes: float = 10.0  # a trainer checkpoint this often (0: only at the end and on Cancel)
    save_total_limit: int = 1  # trainer checkpoints kept under the output folder

    def validate(self) -> None:
        from .losses import AUTO, LOSS_NAMES

        def need(ok: bool, message: str, hint: str = "") -> None:
            if not ok:
                raise QuoradupError(message, hint)

        need(bool(str(self.model).strip()), "No model given.", "Use 'default' for the bundled all-MiniLM-L6-v2.")
        need(self.loss in (AUTO, *LOSS_NAMES), f"Unknown loss '{self.loss}'.",
             f"Choose one of: {', '.join(LOSS_NAMES)} (or auto).")
        need(_number(self.epochs) and 0 < self.epochs <= 1000, f"Epochs must be more than 0, not {self.epochs}.")
        need(_integer(self.batch_size) and self.batch_size >= 1, f"The batch size must be 1 or more, not {self.batch_size}.")
        need(_number(self.learning_rate) and 0 < self.learning_rate < 1,
             f"The learning rate must be between 0 and 1, not {self.learning_rate}.", "Typical values: 1e-5 to 1e-4.")
        need(_number(self.warmup_ratio) and 0 <= self.warmup_ratio < 1,
             f"The warm-up share must be at least 0 and below 1, not {self.warmup_ratio}.")
        need(self.max_seq_length is None or (_integer(self.max_seq_length) and 8 <= self.max_seq_length <= 8192),
             f"The maximum text length must be 8 to 8192 tokens, not {self.max_seq_length}.")
        need(_integer(self.eval_steps) and self.eval_steps >= 0, f"Evaluation steps must be 0 or more, not {self.eval_steps}.")
        need(self.max_pairs is None or (_integer(self.max_pairs) and self.max_pairs >= 2),
             f"The maximum number of pairs must be at least 2, not {self.max_pairs}.")
        need(_number(self.eval_fraction) and 0 <= self.eval_fraction <= 0.5,
             f"The held-out share must be between 0 and 0.5, not {self.eval_fraction}.")
        need(_integer(self.max_eval_pairs) and self.max_eval_pairs >= 2,
             f"The held-out pairs scored must be at least 2, not {self.max_eval_pairs}.")
        need(_integer(self.seed), f"The seed must be a whole number, not {self.seed}.")
        need(self.precision in PRECISIONS, f"Unknown precision '{self.precision}'.", f"Use {', '.join(PRECISIONS)}.")
        need(_integer(self.mini_batch_size) and self.mini_batch_size >= 1,
             f"The mini-batch size must be 1 or more, not {self.mini_batch_size}.")
        need(_integer(self.logging_steps) and self.logging_steps >= 0, "Logging steps must be 0 or more.")
        need(_number(self.checkpoint_minutes) and self.checkpoint_minutes >= 0, "Checkpoint minutes must be 0 or more.")
        need(_integer(self.save_total_limit) and self.save_total_limit >= 1, "Keep at least one checkpoint.")
        need(isinstance(self.resume, bool), "resume must be true or false.")

    def warnings(self) -> list[str]:
        """Settings that are allowed but likely a mistake (said when a run starts)."""
        notes = []
        lr = self.learning_rate
        if _number(lr) and not LEARNING_RATE_USUAL[0] <= lr <= LEARNING_RATE_USUAL[1]:
            side = "far above" if lr > LEARNING_RATE_USUAL[1] else "far below"
            effect = ("it can ruin the model in a few steps" if lr > LEARNING_RATE_USUAL[1]
                      else "the model will hardly change")
            notes.append(f"The learning rate {lr:g} is {side} the usual range for fine-tuning "
                         f"({LEARNING_RATE_USUAL[0]:g} to {LEARNING_RATE_USUAL[1]:g}; the default is "
                         f"{type(self).learning_rate:g}): {effect}.")
        return notes

    # ----- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        if not isinstance(data, dict):
            raise QuoradupError("A training configuration must be a JSON object.")
        if isinstance(data.get("config"), dict):  # a quoradup_training.json record: its config
            data = data["config"]
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise QuoradupError(f"Unknown training setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
                                f"Known settings: {', '.join(sorted(names))}.")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TrainingConfig:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise QuoradupError(f"The training configuration is not valid JSON ({err.msg}, line {err.lineno}).") from err

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainingConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise QuoradupError(f"Cannot read the training configuration {path} ({err.strerror or err}).") from err
        except UnicodeDecodeError as err:
            raise QuoradupError(f"The training configuration {path} is not a text file.",
                                "Give the JSON file the app saved (last-training-config.json) or one written "
                                "like it.") from err
        return cls.from_json(text)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


SMALL_EVAL_SET = 500  # held-out pairs below which an AP says little (roughly ±0.05 or worse)


def ap_interval(ap: float, n_positive: int) -> tuple[float, float]:
    """A rough 95% interval of an average precision measured on ``n_positive`` duplicates (the
    normal approximation of a proportion: enough to tell a small held-out set from a big one)."""
    import math

    half = 1.96 * math.sqrt(max(ap * (1 - ap), 1e-6) / max(n_positive, 1))
    return max(0.0, ap - half), min(1.0, ap + half)


@dataclass(frozen=True)
class TrainingResult:
    output: Path  # the saved model folder (also on other DDP ranks, which do not write it)
    base: PairMetrics | None  # held-out score of the model before training (None without evaluation)
    trained: PairMetrics | None  # ... after training (the last evaluation when cancelled)
    seconds: float  # the whole run, data loading and saving included
    samples_per_s: float  # training pairs per second in the optimisation steps (evaluation left out)
    cancelled: bool
    history: tuple[dict, ...]  # the loss and eval points emitted during the run
    loss: str
    steps: int
    n_train_pairs: int
    n_eval_pairs: int
    device: str
    world_size: int = 1
    is_main_process: bool = True
    warnings: tuple[str, ...] = field(default=(), repr=False)
    precision: str = "fp32"  # what "auto" became: fp32, bf16 or fp16

    def use_warnings(self, uncertainty: bool = True) -> list[str]:
        """What to say before this model replaces the one in use ("Use this model"); ``uncertainty``:
        also how little a small held-out set tells."""
        notes = []
        scored_after_training = any(p.get("kind") == "eval" and int(p.get("step") or 0) > 0 for p in self.history)
        if self.trained is None or not scored_after_training:
            notes.append("It was stopped before it was scored on the held-out pairs, so nobody knows yet whether it "
                         "is better than the base model.")
        elif self.base is not None and self.trained.ap < self.base.ap:
            notes.append(f"It scored worse than the base model on the held-out pairs: AP {self.trained.ap:.3f} "
                         f"against {self.base.ap:.3f}.")
        if uncertainty and self.trained is not None and self.n_eval_pairs < SMALL_EVAL_SET:
            low, high = ap_interval(self.trained.ap, self.trained.n_positive)
            notes.append(f"The held-out set has only {self.n_eval_pairs:,} pairs ({self.trained.n_positive:,} duplicates): "
                         f"its AP {self.trained.ap:.3f} could well be anywhere from {low:.2f} to {high:.2f}.")
        return notes

    def as_dict(self) -> dict[str, Any]:
        def short(m: PairMetrics | None) -> dict | None:
            return None if m is None else {"ap": m.ap, "f1": m.f1, "threshold": m.threshold, "n_pairs": m.n_pairs}

        return {"output": str(self.output), "base": short(self.base), "trained": short(self.trained),
                "seconds": round(self.seconds, 3), "samples_per_s": round(self.samples_per_s, 3),
                "cancelled": self.cancelled, "loss": self.loss, "steps": self.steps,
                "n_train_pairs": self.n_train_pairs, "n_eval_pairs": self.n_eval_pairs, "device": self.device,
                "precision": self.precision, "world_size": self.world_size, "warnings": list(self.warnings)}
