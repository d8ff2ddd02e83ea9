"""Model folders a training run writes: where the result goes, the swap into place, its recovery.

A run saves into a hidden work folder ``.NAME.partial`` beside the output ``NAME``; its record
(``quoradup_training.json``) is written last, so a work folder with a record holds a whole
model. Putting it in place is two renames: ``NAME`` → ``.NAME.old-XXXX``, then the work folder
→ ``NAME``. A crash between them leaves ``NAME`` missing: :func:`recover_swap` finishes the
swap (the new model is whole) or undoes it (the old one comes back), and deletes leftovers only
once a good model is in place. It runs before every training run and model look-up.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

RECORD_FILE = "quoradup_training.json"
MODEL_MARKERS = ("modules.json", "config.json")

_rename = os.replace  # the one rename of a swap; tests replace it to stop a swap halfway


def read_record(folder: Path) -> dict | None:
    try:
        record = json.loads((Path(folder) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def holds_model(folder: Path) -> bool:
    return any((Path(folder) / name).is_file() for name in MODEL_MARKERS)


def work_dir(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def old_dirs(target: Path) -> list[Path]:
    """Models a swap moved aside, oldest first."""
    try:
        found = list(target.parent.glob(f".{target.name}.old-*"))
    except OSError:
        return []
    return sorted((p for p in found if p.is_dir()), key=lambda p: p.stat().st_mtime)


def is_complete(work: Path) -> bool:
    """A work folder holding a whole saved model (its record is written last)."""
    return work.is_dir() and holds_model(work) and read_record(work) is not None


def destination(target: Path, cancelled: bool, worse: bool = False) -> Path:
    """Where a run's model goes: ``target``, except that a cancelled run never replaces a finished model,
    and a run that scored clearly worse than its base never replaces any model."""
    if target.is_dir() and holds_model(target):
        if worse:
            return free_name(target, "worse")
        if cancelled:
            record = read_record(target)
            if record is None or not record.get("cancelled", False):
                return target.with_name(f"{target.name}-cancelled")
    return target


def free_name(target: Path, tag: str) -> Path:
    """``NAME-tag``, or ``NAME-tag-2``, … : a folder name not in use."""
    candidate, n = target.with_name(f"{target.name}-{tag}"), 2
    while candidate.exists():
        candidate, n = target.with_name(f"{target.name}-{tag}-{n}"), n + 1
    return candidate


def place(work: Path, target: Path) -> Path:
    """Rename the finished work folder to ``target``, replacing what was there only once it is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        _rename(target, old)
    try:
        _rename(work, target)
    except OSError:
        if old is not None:
            _rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def recover_swap(target: Path) -> str | None:
    """Finish or undo a swap into ``target`` that a crash interrupted.

    Returns "completed" (the new model was saved whole and is now in place), "restored" (the
    previous model is back), "cleaned" (leftovers removed) or None when there was nothing to do.
    Leftover old copies are deleted only when ``target`` holds a model.
    """
    target = Path(target)
    action = None
    work = work_dir(target)
    if is_complete(work):  # saved whole, then stopped before or between the renames
        dest = _recorded_output(work, target)
        if dest == target or not dest.exists():
            place(work, dest)
            action = "completed"
    olds = old_dirs(target)
    if not target.exists() and olds:
        _rename(olds.pop(), target)
        action = "restored"
    if olds and target.is_dir() and holds_model(target):
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)
        action = action or "cleaned"
    return action


def _recorded_output(work: Path, target: Path) -> Path:
    """Where the run meant its model to go (a cancelled or worse run goes beside ``target``)."""
    recorded = (read_record(work) or {}).get("output")
    if isinstance(recorded, str) and Path(recorded).parent == target.parent:
        return Path(recorded)
    return target


def recover_folder(models_dir: Path) -> list[tuple[Path, str]]:
    """:func:`recover_swap` for every interrupted swap under ``models_dir`` (the app's model folder)."""
    done = []
    try:
        hidden = [p for p in Path(models_dir).iterdir() if p.name.startswith(".")]
    except OSError:
        return done
    names = set()
    for p in hidden:
        if p.name.endswith(".partial"):
            names.add(p.name[1:-len(".partial")])
        elif ".old-" in p.name:
            names.add(p.name[1:p.name.rindex(".old-")])
    for name in sorted(names):
        action = recover_swap(Path(models_dir) / name)
        if action:
            done.append((Path(models_dir) / name, action))
    return done


class TrainedModel:
    """A model folder the Train tab wrote, as the model picker lists it (from its record)."""

    def __init__(self, folder: Path, record: dict) -> None:
        self.folder = Path(folder)
        config = record.get("config") if isinstance(record.get("config"), dict) else {}
        trained = record.get("trained") if isinstance(record.get("trained"), dict) else {}
        base = record.get("base") if isinstance(record.get("base"), dict) else {}
        data = record.get("data") if isinstance(record.get("data"), dict) else {}
        self.name = self.folder.name
        self.base_model = str(record.get("base_model") or config.get("model") or "?")
        self.loss = str(config.get("loss") or "?")
        self.finished_at = str(record.get("finished_at") or "")
        self.ap = _number(trained.get("ap"))
        self.base_ap = _number(base.get("ap"))
        self.n_eval_pairs = int(_number(data.get("n_eval_pairs")) or 0)
        self.cancelled = bool(record.get("cancelled"))
        self.worse_than_base = bool(record.get("worse_than_base"))

    def label(self) -> str:
        """One line for the picker: name · base · loss · date · held-out AP."""
        score = f"AP {self.ap:.3f}" if self.ap is not None else "not scored"
        return f"{self.name} · {self.base_model} · {self.loss} · {self.finished_at[:16].replace('T', ' ')} · {score}"


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def list_trained_models(models_dir: Path) -> list[TrainedModel]:
    """Every whole model under ``models_dir`` that has a training record, newest first."""
    try:
        folders = [p for p in Path(models_dir).iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    found = []
    for folder in folders:
        record = read_record(folder)
        if record is not None and holds_model(folder):
            found.append(TrainedModel(folder, record))
    return sorted(found, key=lambda m: m.finished_at, reverse=True)
