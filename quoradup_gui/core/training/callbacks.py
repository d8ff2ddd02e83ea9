"""How a training run talks to quoradup: an evaluator and a TrainerCallback, nothing else.

* :class:`HeldOutEvaluator` is a sentence-transformers evaluator: cosine similarity of the
  held-out pairs, scored with quoradup's own :func:`pair_metrics` (AP, best F1), so the figure
  in the Train tab is the figure ``quoradup evaluate`` prints. The trainer runs it on step 0
  (the base model), every ``eval_steps`` and at the end; under DDP it runs on rank 0 with the
  other ranks sharing the encoding (sentence-transformers' distributed evaluation).
* :class:`JobCallback` maps the trainer's events to the JobContext: loss points, evaluation
  points, progress/ETA/samples per second, Cancel → ``control.should_training_stop`` at the
  end of the running step (plus a checkpoint), a checkpoint every few minutes, and a NaN/inf
  loss or gradient norm, or NaN held-out scores → stop with a message. Only the main process
  reports.

Partial results (``ctx.emit_partial``), all plain dicts:
  {"kind": "loss", "step", "epoch", "loss", "learning_rate"[, "tasks"]} every logging step; a multi-task
                                                                     run adds {task: its mean loss}
  {"kind": "eval", "step", "epoch", "ap", "f1", "precision", "recall", "threshold", "accuracy",
   "base": step == 0, "metrics": {all PairMetrics fields}}           step 0, every eval_steps, last step
  {"kind": "progress", "step", "max_steps", "epoch", "samples_per_s", "elapsed_s", "eta_s"}  ≤ 5 Hz
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..evaluate.evaluation import PairMetrics, pair_metrics
from ..jobs import JobContext, Throttle
from .data import PairData

EVAL_NAME = "heldout"
_METRIC_FIELDS = ("ap", "f1", "precision", "recall", "threshold", "accuracy", "accuracy_threshold", "n_pairs",
                  "n_positive")
_ENCODE_CHUNK = 256  # texts between two cancel checks while evaluating


class EvaluationCancelled(Exception):
    """Raised inside the evaluator when the user cancels; run_training treats it as Cancel."""


def make_evaluator(pairs: PairData, batch_size: int = 64, should_stop: Callable[[], bool] | None = None):
    """A :class:`HeldOutEvaluator` that is also a sentence-transformers ``BaseEvaluator``."""
    return _trainer_classes()[0](pairs, batch_size, should_stop)


def make_job_callback(ctx: JobContext, batch_size: int, n_rows: int, epochs: float,
                      evaluator: HeldOutEvaluator | None = None, checkpoint_seconds: float = 0.0,
                      task_losses: dict[str, Any] | None = None):
    """A :class:`JobCallback` that is also a ``transformers.TrainerCallback``."""
    return _trainer_classes()[1](ctx, batch_size, n_rows, epochs, evaluator, checkpoint_seconds, task_losses)


@functools.cache
def _trainer_classes() -> tuple[type, type]:
    # Built on first use: importing transformers/sentence-transformers takes seconds (torch).
    from sentence_transformers.base.evaluation import BaseEvaluator
    from transformers import TrainerCallback

    class Evaluator(HeldOutEvaluator, BaseEvaluator):
        pass

    class Callback(JobCallback, TrainerCallback):
        pass

    return Evaluator, Callback


class HeldOutEvaluator:
    """The held-out scoring; :func:`make_evaluator` mixes it into ``BaseEvaluator``."""

    def __init__(self, pairs: PairData, batch_size: int = 64, should_stop: Callable[[], bool] | None = None,
                 name: str = EVAL_NAME) -> None:
        self.name = name
        self.greater_is_better = True
        self.primary_metric = f"{name}_ap"
        self.batch_size = batch_size
        self._should_stop = should_stop or (lambda: False)
        self.texts = sorted(set(pairs.text1) | set(pairs.text2))
        index = {text: i for i, text in enumerate(self.texts)}
        self.rows1 = np.array([index[t] for t in pairs.text1], dtype=np.int64)
        self.rows2 = np.array([index[t] for t in pairs.text2], dtype=np.int64)
        self.labels = np.array(pairs.labels, dtype=np.int64)

    @property
    def n_pairs(self) -> int:
        return len(self.labels)

    def __call__(self, model, output_path: str | None = None, epoch: float = -1, steps: int = -1) -> dict[str, float]:
        metrics = self.metrics(model)
        values = {name: float(getattr(metrics, name)) for name in _METRIC_FIELDS} if metrics else {
            "ap": float("nan"), "f1": float("nan")}
        return {f"{self.name}_{key}": value for key, value in values.items()}

    def metrics(self, model) -> PairMetrics | None:
        chunks = []
        for start in range(0, len(self.texts), _ENCODE_CHUNK):
            if self._should_stop():
                raise EvaluationCancelled()
            chunks.append(model.encode(self.texts[start:start + _ENCODE_CHUNK], batch_size=self.batch_size,
                                       convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False))
        embeddings = np.concatenate(chunks).astype(np.float32, copy=False)
        scores = np.einsum("ij,ij->i", embeddings[self.rows1], embeddings[self.rows2])
        if not np.isfinite(scores).all():  # a diverged model: reported as NaN, the loss guard says why
            return None
        return pair_metrics(scores, self.labels)

    @property
    def description(self) -> str:
        return "Held-out pair classification (quoradup)"

    def get_config_dict(self) -> dict[str, Any]:
        return {"pairs": self.n_pairs}


def metrics_from_logs(logs: dict[str, Any], prefix: str = f"eval_{EVAL_NAME}_") -> dict[str, float] | None:
    """The held-out metrics in a trainer metrics/log dict, without the prefix (None if absent)."""
    found = {key[len(prefix):]: float(value) for key, value in logs.items() if key.startswith(prefix)}
    return found if "ap" in found else None


def as_pair_metrics(values: dict[str, float] | None) -> PairMetrics | None:
    if not values or any(name not in values for name in _METRIC_FIELDS) or not math.isfinite(values["ap"]):
        return None
    return PairMetrics(**{name: int(values[name]) if name.startswith("n_") else float(values[name])
                          for name in _METRIC_FIELDS})


class JobCallback:
    """Reports a run to a JobContext and stops it on Cancel or on a non-finite loss.

    :func:`make_job_callback` mixes it into ``transformers.TrainerCallback``.
    """

    def __init__(self, ctx: JobContext, batch_size: int, n_rows: int, epochs: float,
                 evaluator: HeldOutEvaluator | None = None, checkpoint_seconds: float = 0.0,
                 task_losses: dict[str, Any] | None = None) -> None:
        self.ctx = ctx
        self.batch_size = batch_size
        self.n_rows = n_rows
        self.epochs = epochs
        self.evaluator = evaluator
        self.checkpoint_seconds = checkpoint_seconds  # 0: checkpoints only at the end and on Cancel
        self.history: list[dict] = []
        self.cancelled = False
        self.failure: str | None = None
        self.first_step: int | None = None
        self.last_step = 0
        self.world_size = 1
        self._t0: float | None = None
        self._t_last = 0.0
        self._eval_wall = self._eval_wall_at_last = 0.0  # whole trainer evaluations after a step
        self._last_checkpoint = time.monotonic()
        self._throttle = Throttle(5.0)
        self._main = True
        # A multi-task run alternates batches of its tasks, and the trainer logs one loss mixed
        # over them: each task's loss module is watched to report its own mean as well.
        self._task_losses = dict(task_losses or {}) if task_losses and len(task_losses) > 1 else {}
        self._task_sums: dict[str, list] = {}
        self._hooks: list = []

    # ----- helpers ------------------------------------------------------------------------
    def _emit(self, value: dict) -> None:
        self.history.append(value)
        if self._main:
            self.ctx.emit_partial(value)

    def training_seconds(self) -> float:
        """Wall time from the first step's start to the last step's end, evaluations left out."""
        if self._t0 is None:
            return 0.0
        return max(1e-9, self._t_last - self._t0 - self._eval_wall_at_last)

    def samples_seen(self) -> int:
        """Training rows processed by this run, over all processes."""
        if self.first_step is None:
            return 0
        steps = self.last_step - self.first_step
        return int(min(steps * self.batch_size * self.world_size, self.n_rows * self.epochs))

    # ----- trainer events -----------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        self._main = state.is_world_process_zero
        self.world_size = max(1, args.world_size)
        for name, module in self._task_losses.items():
            self._hooks.append(module.register_forward_hook(functools.partial(self._on_task_loss, name)))
        if self._main:
            self.ctx.set_progress(state.global_step, state.max_steps)
            self.ctx.set_status(f"Training: step {state.global_step:,} of {state.max_steps:,}…")
        return control

    def on_train_end(self, args, state, control, **kwargs):
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        return control

    def _on_task_loss(self, name: str, module, inputs, output) -> None:
        value = sum(output.values()) if isinstance(output, dict) else output
        total = self._task_sums.setdefault(name, [0.0, 0])
        total[0] = total[0] + value.detach()  # a tensor: no device sync per step, only when logged
        total[1] += 1

    def _task_means(self) -> dict[str, float]:
        means = {name: float(total) / count for name, (total, count) in self._task_sums.items() if count}
        self._task_sums.clear()
        return means

    def on_step_begin(self, args, state, control, **kwargs):
        if self._t0 is None:  # time from the first step: model loading and the base evaluation excluded
            self._t0 = time.perf_counter()
            self.first_step = state.global_step
        return control

    def on_step_end(self, args, state, control, **kwargs):
        self.last_step = state.global_step
        self._t_last = time.perf_counter()
        self._eval_wall_at_last = self._eval_wall
        if self.checkpoint_seconds and time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            control.should_save = True  # a checkpoint every few minutes: a crash loses little
        if self._main:
            self._report_progress(state)
        if self.ctx.is_cancelled():
            self.cancelled = True
            control.should_training_stop = True
            control.should_evaluate = False
            control.should_save = True  # a checkpoint to resume from
            return control
        if state.global_step >= state.max_steps and self.evaluator is not None and state.eval_steps:
            control.should_evaluate = True  # the trained model's score, whatever eval_steps is
        return control

    def on_save(self, args, state, control, **kwargs):
        self._last_checkpoint = time.monotonic()
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return control
        loss = float(logs["loss"])
        grad_norm = float(logs.get("grad_norm", 0.0) or 0.0)
        if not math.isfinite(loss):
            return self._fail(args, state, control, "the loss became " + _what(loss))
        if not math.isfinite(grad_norm) and not args.fp16:  # fp16 skips overflowing steps by design
            return self._fail(args, state, control, "the gradients became " + _what(grad_norm))
        point = {"kind": "loss", "step": state.global_step, "epoch": float(state.epoch or 0.0), "loss": loss,
                 "learning_rate": float(logs.get("learning_rate", 0.0))}
        tasks = self._task_means()
        if tasks:
            point["tasks"] = tasks
        self._emit(point)
        return control

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._t0 is not None:  # the trainer evaluates right after a step's end: all of it is evaluation
            self._eval_wall += time.perf_counter() - self._t_last
        values = metrics_from_logs(metrics or {})
        if values is not None and not math.isfinite(values["ap"]):
            return self._fail(args, state, control, "the model's similarity scores became NaN (not a number)")
        if values is not None:
            self._emit({"kind": "eval", "step": state.global_step, "epoch": float(state.epoch or 0.0),
                        **{k: values[k] for k in ("ap", "f1", "precision", "recall", "threshold", "accuracy")
                           if k in values},
                        "base": state.global_step == 0, "metrics": values})
        return control

    def _fail(self, args, state, control, what: str):
        self.failure = (f"Training stopped at step {state.global_step:,}: {what}, so the model stopped learning "
                        f"(learning rate {args.learning_rate:g}).")
        control.should_training_stop = True
        control.should_evaluate = False
        control.should_save = False
        return control

    def _report_progress(self, state) -> None:
        done, total = state.global_step, state.max_steps
        self.ctx.set_progress(done, total)
        if not self._throttle.ready(force=done >= total):
            return
        seconds = self.training_seconds()
        rate = self.samples_seen() / seconds if seconds > 0 else 0.0
        steps_done = max(1, done - (self.first_step or 0))
        eta = (self._t_last - (self._t0 or self._t_last)) / steps_done * max(0, total - done)
        self.ctx.emit_partial({"kind": "progress", "step": done, "max_steps": total,
                               "epoch": float(state.epoch or 0.0), "samples_per_s": rate,
                               "elapsed_s": seconds, "eta_s": eta})
        self.ctx.set_status(f"Training: step {done:,} of {total:,} · {rate:.1f} pairs/s · "
                            f"about {_duration(eta)} left")


def _what(value: float) -> str:
    return "NaN (not a number)" if math.isnan(value) else "infinite"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
