"""``run_training``: fine-tune a SentenceTransformer on question pairs with SentenceTransformerTrainer.

The trainer is used as sentence-transformers ships it and extended only through callbacks
(callbacks.py). A run writes into a hidden work folder beside the output folder (trainer
checkpoints included) and renames it into place only when it has finished, or was cancelled
and saved; a failed run never replaces a good model. The same function runs under the GUI,
the CLI, ``torchrun`` and ``accelerate launch`` (only the main process reports and saves).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from ..atomic import atomic_write_text, describe_os_error
from ..encode.model_folders import (
    RECORD_FILE,
    destination,
    holds_model,
    is_complete,
    place,
    read_record,
    recover_swap,
    work_dir,
)
from ..encode.models import ModelSpec, check_hub_model, resolve_model
from ..errors import JobCancelled, QuoradupError
from ..ingest.io import LoadedTable
from ..jobs import JobContext, NullContext
from ..resources import app_data_dir
from .config import PRECISIONS, TrainingConfig, TrainingResult
from .hardware import cpu_bf16_units
from .sampling import LENGTH_GROUPED, length_grouped_batch_sampler

__all__ = ["PRECISIONS", "RECORD_FILE", "TrainingConfig", "TrainingResult", "default_output_dir", "destination", "place",
           "read_record", "run_training"]

WORSE_MARGIN = 0.02  # held-out AP this far below the base model's: the run made the model worse

BUNDLED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_AUTO_EVAL_RATIO = 0.1  # eval_steps 0: about ten evaluations per run
_AUTO_LOG_RATIO = 0.005  # logging_steps 0: about 200 loss points per run
_NEVER = 2**62  # "steps" a trainer setting never reaches


# ----------------------------------------------------------------------------- output folders


def default_output_dir(spec: ModelSpec, loss: str, now: datetime | None = None) -> Path:
    return app_data_dir() / "models" / f"{model_short_name(spec)}-{loss}-{(now or datetime.now()):%Y%m%d-%H%M%S}"


def model_short_name(spec: ModelSpec) -> str:
    if spec.kind == "bundled":
        name = BUNDLED_HUB_ID.rsplit("/", 1)[-1]
    elif spec.kind == "hub":
        name = str(spec.hub_id).rsplit("/", 1)[-1]
    else:
        name = Path(spec.path).name
    return re.sub(r"[^\w.\-]+", "_", name).strip("._") or "model"


def _check_output_dir(target: Path) -> None:
    """The output may be new, empty, or a model folder (replaced on success); never an unrelated folder."""
    if target.exists() and not target.is_dir():
        raise QuoradupError(f"The output {target} is a file, not a folder.", "Choose a new folder for the model.")
    if target.is_dir() and any(target.iterdir()) and not holds_model(target):
        raise QuoradupError(f"The output folder {target} already holds other files.",
                            "Choose a new or empty folder; quoradup replaces only a model folder it wrote before.")


def _disk_problem(exc: BaseException) -> str | None:
    """What went wrong writing to disk, in words, or None for other errors. safetensors reports
    a full disk as its own error type, with the OS error only in the message."""
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    text = str(exc)
    if type(exc).__name__ == "SafetensorError" and "I/O error" in text:
        if "No space left" in text or "os error 28" in text:
            return "the disk is full"
        return "the disk reported an error (" + text.split("I/O error:", 1)[-1].strip() + ")"
    return None


def _recover(target: Path) -> str | None:
    """Finish or undo a model swap into ``target`` that a crash interrupted (model_folders.recover_swap)."""
    try:
        action = recover_swap(target)
    except OSError as exc:
        raise QuoradupError(f"An earlier run's model beside {target} could not be put back: {describe_os_error(exc)}.",
                            "Check the folder's permissions and free space, then start again.") from exc
    if action == "completed":
        return f"An earlier run had saved its model but stopped before putting it in place; it is now in {target}."
    if action == "restored":
        return f"An earlier run stopped while replacing {target}; the previous model was put back."
    return None


def _prepare_work_dir(work: Path, target: Path, keep: bool) -> None:
    """Clear an earlier failed run's work folder (unless resuming from it) and check the place is writable."""
    try:
        if work.exists() and not keep:
            if is_complete(work):  # recover_swap left it: its model has nowhere to go; never delete it
                raise QuoradupError(f"{work} holds a finished model that was never put in place.",
                                    f"Move it to a folder of its own (it is a whole model), then train into {target} again.")
            shutil.rmtree(work)  # leftovers of an earlier failed run into the same folder
        work.mkdir(parents=True, exist_ok=True)
        probe = work / ".quoradup-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise QuoradupError(f"The model cannot be written to {target.parent}: {describe_os_error(exc)}.",
                            "Choose an output folder you can write to (--output DIR).") from exc


def _resume_checkpoint(target: Path) -> tuple[str, list[str]]:
    """The newest whole checkpoint of a cancelled or interrupted run, and notes about broken newer ones."""
    skipped = []
    for folder in (work_dir(target), target):  # a crashed run's work folder, then a cancelled run's model
        if not folder.is_dir():
            continue
        checkpoints = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name[11:].isdigit()]
        for checkpoint in sorted(checkpoints, key=lambda p: -int(p.name[11:])):
            problem = _checkpoint_problem(checkpoint)
            if problem is None:
                return str(checkpoint), skipped
            skipped.append(f"{checkpoint.name} is incomplete ({problem}; the disk may have been full when it was "
                           "written) and was skipped.")
    if skipped:
        raise QuoradupError(f"No checkpoint in {target} is whole, so training cannot resume: " + " ".join(skipped),
                            "Start the run again without --resume (the folder's checkpoints are then replaced).")
    raise QuoradupError(f"There is no checkpoint to resume from in {target}.",
                        "Resume continues a cancelled or interrupted run: give the same output folder.")


def _checkpoint_problem(checkpoint: Path) -> str | None:
    """Why a trainer checkpoint cannot be resumed from (missing or cut-off files), or None."""
    import zipfile

    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            return "its trainer_state.json is damaged"
    except (OSError, ValueError):
        return "its trainer_state.json is missing or damaged"
    weights = list(checkpoint.glob("*.safetensors")) + list(checkpoint.glob("pytorch_model.bin"))
    if not weights:
        return "it holds no model weights"
    for path in weights + list(checkpoint.glob("*.pt")) + list(checkpoint.glob("*.pth")):
        if path.suffix == ".safetensors":
            try:
                from safetensors import safe_open

                with safe_open(str(path), framework="pt") as fh:
                    fh.keys()
            except Exception:  # noqa: BLE001 - any failure means the file cannot be loaded
                return f"{path.name} is cut off"
        elif not zipfile.is_zipfile(path):
            return f"{path.name} is cut off"
    return None


# ----------------------------------------------------------------------------- the run


def run_training(config: TrainingConfig, source: LoadedTable | str | Path | None = None,
                 ctx: JobContext | None = None, *, progress_bar: bool = False,
                 callbacks: Sequence[Any] = ()) -> TrainingResult:
    """Fine-tune ``config.model`` on ``source`` (a pair table, pair file or hub dataset id).

    ``progress_bar`` shows the trainer's own tqdm bar (off for the GUI and the CLI, which show
    ``ctx`` progress); ``callbacks`` are extra ``transformers.TrainerCallback`` objects.
    Raises QuoradupError for bad input and a diverged (NaN) run, and JobCancelled when cancelled
    before the first step; a cancel during training returns a saved model with ``cancelled=True``.
    """
    ctx = ctx or NullContext()
    started = time.perf_counter()
    config.validate()
    source = source if source is not None else config.pairs
    if source is None or (isinstance(source, str) and not source.strip()):
        raise QuoradupError("No training pairs given.", "Choose a pair file (question1, question2, is_duplicate).")

    from .callbacks import EvaluationCancelled, as_pair_metrics, make_evaluator, make_job_callback, metrics_from_logs
    from .data import load_pairs, split_by_question
    from .losses import resolve_loss

    spec = resolve_model(config.model)
    check_hub_model(spec)  # a bad hub name fails in seconds, before the data is read and the hub retried for minutes
    ctx.set_status("Reading the training pairs…")
    data = load_pairs(source, ctx, config.max_pairs)
    split = split_by_question(data, config.eval_fraction, config.seed, config.max_eval_pairs)
    loss_name = resolve_loss(config.loss, data.kind)
    ctx.check_cancelled()

    dist = _Distributed()
    target = Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(spec, loss_name)
    target = Path(dist.shared(str(target.resolve())))
    notes = list(config.warnings())
    if dist.is_main:
        recovered = _recover(target)
        if recovered:
            notes.append(recovered)
    dist.barrier()
    _check_output_dir(target)
    work = work_dir(target)
    resume_from = None
    if config.resume:
        resume_from, skipped = _resume_checkpoint(target)
        notes += skipped
    if dist.is_main:
        _prepare_work_dir(work, target, keep=resume_from is not None)
    dist.barrier()

    device, precision = _device_and_precision(config)
    ctx.set_status(f"Loading {spec.describe()}…")
    model = _load_model_for_training(spec)
    if config.max_seq_length:
        model.max_seq_length = config.max_seq_length
    ctx.check_cancelled()

    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from .losses import build_objectives

    ctx.set_status("Preparing the training data…")
    objectives = build_objectives(loss_name, model, split.train, config.mini_batch_size)
    evaluator = make_evaluator(split.eval, config.batch_size, ctx.is_cancelled) if split.eval is not None else None
    job = make_job_callback(ctx, config.batch_size, objectives.n_rows, config.epochs, evaluator,
                            checkpoint_seconds=60.0 * config.checkpoint_minutes,
                            task_losses=objectives.loss if isinstance(objectives.loss, dict) else None)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # transformers 5: a value below 1 is a share of the steps
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler=(length_grouped_batch_sampler if objectives.batch_sampler == LENGTH_GROUPED
                       else objectives.batch_sampler),
        multi_dataset_batch_sampler=objectives.multi_dataset_batch_sampler,
        eval_strategy="steps" if evaluator is not None else "no",
        eval_steps=(config.eval_steps or _AUTO_EVAL_RATIO) if evaluator is not None else None,
        eval_on_start=evaluator is not None and resume_from is None,
        save_strategy="steps",  # at the end; the callback adds one every checkpoint_minutes and on Cancel
        save_steps=_NEVER,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps or _AUTO_LOG_RATIO,
        logging_nan_inf_filter=False,  # a NaN must reach the guard, not be averaged away
        report_to=[],
        disable_tqdm=not progress_bar,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        fp16=precision == "fp16",
        bf16=precision == "bf16",
        run_name=target.name,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=objectives.train_dataset, loss=objectives.loss,
        evaluator=evaluator, callbacks=[job, *callbacks],
    )
    trainer.remove_callback(PrinterCallback)  # it prints log dicts on stdout (the CLI's --json channel)
    if not progress_bar:
        trainer.remove_callback(ProgressCallback)

    ctx.set_status("Scoring the base model on the held-out pairs…" if evaluator else "Training…")
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    except EvaluationCancelled:
        job.cancelled = True
    except BaseException as exc:
        if dist.is_main and not any(work.glob("checkpoint-*")):
            shutil.rmtree(work, ignore_errors=True)  # nothing worth resuming from
        problem = _disk_problem(exc)
        if problem:  # a checkpoint on a full or read-only disk
            raise QuoradupError(f"Training stopped: a checkpoint could not be written to {work}: {problem}.",
                                "No model was replaced. Free some space (a checkpoint takes a few hundred MB) and "
                                "start again, or choose another output folder.") from exc
        raise
    if job.cancelled and job.first_step is None:  # cancelled before a single step: nothing new to save
        if dist.is_main and not any(work.glob("checkpoint-*")):
            shutil.rmtree(work, ignore_errors=True)
        raise JobCancelled()
    if job.failure:
        if dist.is_main:
            shutil.rmtree(work, ignore_errors=True)
        lr = config.learning_rate
        raise QuoradupError(job.failure, f"Try a lower learning rate, e.g. {lr / 4:g} instead of {lr:g}; the model "
                                         "folder was not written.")

    history = _history(trainer.state.log_history, job.history, metrics_from_logs)
    evals = [h for h in history if h["kind"] == "eval"]
    base = as_pair_metrics(evals[0]["metrics"]) if evals and evals[0]["step"] == 0 else None
    trained = as_pair_metrics(evals[-1]["metrics"]) if evals and evals[-1]["step"] > 0 else None
    samples_per_s = job.samples_seen() / job.training_seconds() if job.first_step is not None else 0.0
    worse = base is not None and trained is not None and trained.ap < base.ap - WORSE_MARGIN
    output = destination(target, job.cancelled, worse)
    if worse:
        beside = f"It was saved beside the previous model, in {output}, which is left as it was." if output != target \
            else f"It was saved in {output}; do not use it in place of the base model."
        notes.append(f"The trained model scores worse than the base model on the held-out pairs (AP {trained.ap:.3f} "
                     f"against {base.ap:.3f}): training made it worse. {beside} Try a lower learning rate "
                     f"(the default is {TrainingConfig.learning_rate:g}) or more pairs.")
    if dist.is_main:
        ctx.set_status("Saving the model…")
        try:
            output = _save(trainer, model, work, output, config, spec, loss_name, data, split, job.cancelled, base,
                           trained, history, device, samples_per_s, time.perf_counter() - started, dist.world_size,
                           notes, worse)
        except Exception as exc:
            problem = _disk_problem(exc)
            if not problem:
                raise
            raise QuoradupError(f"The trained model could not be saved to {output}: {problem}.",
                                "No model was replaced. Free some space or choose another output folder; the last "
                                f"checkpoint in {work} lets --resume continue from there.") from exc
    return TrainingResult(
        output=output, base=base, trained=trained, seconds=time.perf_counter() - started,
        samples_per_s=samples_per_s, cancelled=job.cancelled, history=tuple(history), loss=loss_name,
        steps=trainer.state.global_step, n_train_pairs=len(split.train),
        n_eval_pairs=len(split.eval) if split.eval is not None else 0, device=device, precision=precision,
        world_size=dist.world_size, is_main_process=dist.is_main,
        warnings=data.warnings + split.warnings + tuple(notes),
    )


def _history(log_history: list[dict], emitted: list[dict], metrics_from_logs) -> list[dict]:
    """Loss and eval points of the whole run, a resumed run's earlier part (from the trainer state) included."""
    points: dict[tuple[str, int], dict] = {}
    for entry in log_history:
        step = int(entry.get("step", 0))
        if "loss" in entry:
            points[("loss", step)] = {"kind": "loss", "step": step, "epoch": float(entry.get("epoch", 0.0)),
                                      "loss": float(entry["loss"]), "learning_rate": float(entry.get("learning_rate", 0))}
        values = metrics_from_logs(entry)
        if values is not None:
            points[("eval", step)] = {"kind": "eval", "step": step, "epoch": float(entry.get("epoch", 0.0)),
                                      "ap": values["ap"], "f1": values.get("f1"), "base": step == 0, "metrics": values}
    for point in emitted:  # the same points, as emitted; they win
        points[(point["kind"], point["step"])] = point
    return sorted(points.values(), key=lambda p: (p["step"], p["kind"] != "eval"))


def _save(trainer, model, work: Path, output: Path, config: TrainingConfig, spec: ModelSpec, loss_name: str, data,
          split, cancelled: bool, base, trained, history, device: str, samples_per_s: float, seconds: float,
          world_size: int, notes: list[str], worse: bool) -> Path:
    """The model (with its model card) and the record into the work folder, then the folder into place.

    The record is written last: a work folder with a record holds a whole model (model_folders)."""
    import sentence_transformers

    from ... import __version__ as quoradup_version

    model.save(str(work))
    eval_dir = work / "eval"
    if eval_dir.is_dir() and not any(eval_dir.iterdir()):
        eval_dir.rmdir()
    record = {
        "quoradup_version": quoradup_version,
        "sentence_transformers_version": sentence_transformers.__version__,
        "finished_at": datetime.now().isoformat(timespec="seconds"),
        "cancelled": cancelled,
        "worse_than_base": worse,
        "config": {**config.to_dict(), "loss": loss_name},  # as given: reusing it starts a new folder
        "output": str(output),
        "base_model": spec.describe(),
        "data": {"source": data.source, "kind": data.kind, "n_pairs": len(data), "n_train_pairs": len(split.train),
                 "n_eval_pairs": len(split.eval) if split.eval is not None else 0, "n_question_groups": split.n_groups,
                 "warnings": list(data.warnings + split.warnings + tuple(notes))},
        "base": base.as_dict() if base else None,
        "trained": trained.as_dict() if trained else None,
        "steps": trainer.state.global_step,
        "max_steps": trainer.state.max_steps,
        "device": device,
        "world_size": world_size,
        "seconds": round(seconds, 3),
        "samples_per_s": round(samples_per_s, 3),
        "history": history,
    }
    atomic_write_text(work / RECORD_FILE, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return place(work, output)


def _device_and_precision(config: TrainingConfig) -> tuple[str, str]:
    from ..encode.models import pick_device

    device = pick_device(config.device)
    if device.startswith("cuda:") and device != "cuda:0":
        raise QuoradupError(f"Training uses the first visible GPU; '{config.device}' cannot be chosen here.",
                            f"Run with CUDA_VISIBLE_DEVICES={device.split(':')[1]} and device 'cuda'.")
    device = "cuda" if device.startswith("cuda") else device
    precision = config.precision
    if precision == "auto":
        if device == "cuda":
            import torch

            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:  # bf16 autocast where the CPU multiplies bf16 in hardware (2-3x the fp32 matmuls)
            precision = "bf16" if device == "cpu" and cpu_bf16_units() else "fp32"
    elif precision == "fp16" and device != "cuda":
        raise QuoradupError("fp16 training needs a CUDA GPU.", "Use precision auto or fp32 on this device.")
    return device, precision


def _load_model_for_training(spec: ModelSpec):
    """A fresh copy (the shared model cache must not see the weights change)."""
    from ..encode.models import load_uncached

    source = str(spec.path) if spec.path is not None else str(spec.hub_id)
    model = load_uncached(spec, source, "cpu")  # the trainer moves it to its device
    card = model.model_card_data
    card.local_files_only = True  # no Hub look-ups while writing the model card
    if spec.kind == "bundled":
        card.base_model = BUNDLED_HUB_ID
    elif spec.kind == "hub":
        card.base_model = spec.hub_id
    return model


class _Distributed:
    """The process group torchrun / accelerate launch set up (a single process otherwise)."""

    def __init__(self) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
        self.rank = int(os.environ.get("RANK", "0") or 0)
        self.is_main = self.rank == 0
        if self.world_size > 1:
            from accelerate import PartialState

            PartialState()  # joins the group; the trainer uses the same state

    def shared(self, value: Any) -> Any:
        """Rank 0's value on every rank (a default output folder carries a timestamp)."""
        if self.world_size <= 1:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value])[0]

    def barrier(self) -> None:
        if self.world_size > 1:
            from accelerate import PartialState

            PartialState().wait_for_everyone()
