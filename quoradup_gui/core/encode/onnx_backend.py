"""A faster CPU encoder: the model's transformer exported to ONNX and quantised to int8.

We do the export ourselves (sentence-transformers' backend="onnx" needs optimum, which does
not work with the installed versions): torch.onnx.export of the transformer taken from the
local model folder, onnxruntime's dynamic int8 quantisation, then our own mean pooling and L2
normalisation in numpy. Only models that are exactly Transformer -> mean Pooling
(-> Normalize) qualify; anything else (CLS pooling, Dense layers...) stays on torch.

An int8 model is only used automatically after an agreement check against torch on a fixed
set of questions; the verdict is remembered per model fingerprint.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_write_text
from ..jobs import JobContext, NullContext
from .models import ModelError, ModelSpec, cpu_count, load_model, model_max_seq_length, read_modules

log = logging.getLogger(__name__)

BACKEND_NAME = "onnx-int8"
ONNX_FILE = "model-int8.onnx"
VERDICT_FILE = "verdict.json"
AGREEMENT_THRESHOLD = 0.99  # mean cosine with torch on CHECK_QUESTIONS
_CHECK_BATCH = 16

# Varied on purpose: short and long, typos, numbers, code, other scripts, one past 256 tokens.
CHECK_QUESTIONS: tuple[str, ...] = (
    "How do I learn Python quickly?",
    "What is the fastest way to learn Python programming?",
    "Why is the sky blue?",
    "What makes the sky look blue during the day?",
    "How can I lose weight without going to the gym?",
    "What are some good ways to lose 10 kg in 3 months?",
    "Is it safe to travel to Egypt in 2024?",
    "Which is the best laptop under $1000 for programming?",
    "What is the difference between a virus and a bacterium?",
    "How does compound interest work?",
    "Who will win the next FIFA World Cup?",
    "what r the best movies of all time??",
    "How do I make my Instagram account private",
    "Can you recommend a good book on machine learning for beginners?",
    "What is the meaning of life?",
    "How do I get rid of acne scars naturally?",
    "What's the capital of Australia?",
    "Is Sydney the capital of Australia?",
    "How to convert a string to an int in Java?",
    "What does `git rebase -i HEAD~3` do?",
    "Why does 0.1 + 0.2 != 0.3 in JavaScript?",
    "How many calories are in a banana?",
    "What is quantum entanglement, explained simply?",
    "How do black holes form?",
    "Should I buy a house or keep renting?",
    "How can I improve my English speaking skills?",
    "Comment apprendre le français rapidement ?",
    "¿Cuál es la mejor manera de aprender español?",
    "Wie lerne ich am besten Deutsch?",
    "日本語を勉強するにはどうすればいいですか？",
    "Как быстро выучить английский язык?",
    "भारत की राजधानी क्या है?",
    "What is 2+2?",
    "Why?",
    "Help",
    "How do I reset my Gmail password if I forgot my recovery phone number?",
    "What are the symptoms of vitamin D deficiency?",
    "Is coffee bad for your heart?",
    "How did the Roman Empire fall?",
    "What caused World War I?",
    "Which programming language should I learn first: C, Python or JavaScript?",
    "How do I start a small business with no money?",
    "What are the pros and cons of electric cars?",
    "How does the stock market work?",
    "What is the best way to invest $10,000?",
    "Why do cats purr?",
    "How long should I boil an egg for a soft yolk?",
    "What is the best programming language for data science, R or Python?",
    "How can I stop procrastinating?",
    "What are good interview questions to ask an employer?",
    "How do vaccines work? 💉",
    "Is it possible to travel faster than light?",
    "What is the GDP of India in 2023 (in USD)?",
    "How do I fix 'ModuleNotFoundError: No module named numpy'?",
    "Which is better: iPhone 15 or Samsung Galaxy S24?",
    "What happens to your body when you stop eating sugar?",
    "How do airplanes stay in the air?",
    "What is the difference between affect and effect?",
    "Why do we dream?",
    "How can I become a better public speaker?",
    "What are the best places to visit in Europe in winter?",
    "What is the difference between machine learning and deep learning?",
    "I have been trying for many months to understand why my sourdough bread does not rise "
    "properly even though I feed the starter twice a day, keep it warm, use strong flour and "
    "follow the recipe exactly; what am I doing wrong?",
    " ".join(["Why does this very long question keep repeating itself over and over again?"] * 30),
)


@dataclass(frozen=True)
class OnnxVerdict:
    ok: bool
    mean_cosine: float
    min_cosine: float
    reason: str = ""  # why it is not used, when not ok


def unsupported_reason(spec: ModelSpec) -> str | None:
    """Why this model cannot run on our ONNX path (None when it can)."""
    if spec.path is None:
        return "the ONNX export needs a local model folder"
    modules = read_modules(spec.path)
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"its modules {kinds or 'are not listed'} are not Transformer + mean Pooling"
    pooling_file = spec.path / modules[1].get("path", "") / "config.json"
    try:
        pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its pooling config cannot be read"
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"} and pooling.get("pooling_mode") != "mean":
        return f"it uses {sorted(modes)} pooling, not mean pooling"
    if not (_transformer_folder(spec) / "tokenizer.json").is_file():
        return "it has no fast tokenizer (tokenizer.json)"
    return None


def _transformer_folder(spec: ModelSpec) -> Path:
    assert spec.path is not None
    modules = read_modules(spec.path)
    return spec.path / (modules[0].get("path", "") if modules else "")


def onnx_folder(cache_root: Path, fingerprint: str) -> Path:
    return Path(cache_root) / fingerprint / "onnx-model"


# ----------------------------------------------------------------------------- export


def export_int8(spec: ModelSpec, folder: Path, ctx: JobContext | None = None) -> Path:
    """Export and quantise the model once into ``folder``; the file appears atomically."""
    target = Path(folder) / ONNX_FILE
    if target.is_file():
        return target
    reason = unsupported_reason(spec)
    if reason:
        raise ModelError(f"The onnx-int8 backend cannot run {spec.describe()}: {reason}.", "Use the torch backend.")
    (ctx or NullContext()).set_status("Exporting the model to ONNX int8 (once per model)…")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    st_model = load_model(spec, "cpu")
    transformer = st_model[0]
    hf_model = getattr(transformer, "auto_model", None) or transformer.model
    # Two lengths on purpose: with padding in the sample the traced graph keeps the attention
    # mask (transformers may skip an all-ones mask, and tracing would bake that in).
    sample = transformer.tokenizer(
        ["a short question?", "a somewhat longer question with more words in it?"],
        padding=True, return_tensors="pt",
    )
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        fp32_path, int8_path = Path(tmp) / "model.onnx", Path(tmp) / ONNX_FILE
        axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python code
            torch.onnx.export(
                _LastHiddenState(hf_model).eval(), tuple(sample[n] for n in names), str(fp32_path),
                input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                opset_version=17, dynamo=False,  # the dynamo exporter needs onnxscript (not installed)
            )
        # per_channel: per-tensor int8 weights gave a mean cosine of only ~0.97 with torch on
        # MiniLM; per-channel scales give ~0.994 at the same speed. MatMul only: the embedding
        # tables (Gather) stay float, which helps short questions and costs nothing in speed.
        with _quiet_quantizer_logs():
            quantize_dynamic(
                str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
        os.replace(int8_path, target)  # the quantiser writes by path: a temp folder beside, then one rename
    return target


class _quiet_quantizer_logs:
    """onnxruntime's quantizer logs dozens of INFO lines and a WARNING on the root logger."""

    @staticmethod
    def filter(record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname.replace("\\", "/").split("/site-packages/")[-1]

    def __enter__(self) -> None:
        logging.getLogger().addFilter(self.filter)

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeFilter(self.filter)


# ----------------------------------------------------------------------------- encoding


class OnnxEncoder:
    """Tokenize with the model's fast tokenizer, run the int8 graph, mean-pool, normalise."""

    name = BACKEND_NAME

    def __init__(self, onnx_path: Path, spec: ModelSpec, max_seq_length: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = _transformer_folder(spec)
        self.max_seq_length = max_seq_length or model_max_seq_length(spec) or 512
        self._lower = _reads_lower_case(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        padding = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")).get("padding") or {}
        self._tokenizer.enable_padding(pad_id=int(padding.get("pad_id", 0)), pad_token=padding.get("pad_token", "[PAD]"))

        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_count()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()  # one run at a time; the session already uses every core

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._lower:
            texts = [t.lower() for t in texts]
        encodings = self._tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        with self._lock:
            hidden = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _reads_lower_case(folder: Path) -> bool:
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(config.get("do_lower_case"))


_encoders: dict[tuple[str, int | None], OnnxEncoder] = {}
_encoders_lock = threading.Lock()


def get_onnx_encoder(
    spec: ModelSpec, fingerprint: str, cache_root: Path, max_seq_length: int | None = None,
    ctx: JobContext | None = None,
) -> OnnxEncoder:
    """The (exported once, then reused) int8 encoder for this model."""
    folder = onnx_folder(cache_root, fingerprint)
    try:
        path = export_int8(spec, folder, ctx)
        key = (str(path), max_seq_length)
        with _encoders_lock:
            if key not in _encoders:
                try:
                    _encoders[key] = OnnxEncoder(path, spec, max_seq_length)
                except Exception:  # a damaged file in the cache: export again, once
                    log.warning("Could not open %s; exporting the model again", path, exc_info=True)
                    path.unlink(missing_ok=True)
                    _encoders[key] = OnnxEncoder(export_int8(spec, path.parent, ctx), spec, max_seq_length)
            return _encoders[key]
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - a full disk, a read-only cache, a file damaged again
        from ..atomic import describe_os_error

        log.warning("The ONNX int8 encoder in %s could not be prepared", folder, exc_info=True)
        reason = describe_os_error(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        raise ModelError(f"The fast CPU encoder (ONNX int8) could not be prepared in {folder}: {reason}.",
                         "Encode with the original model instead (--backend torch, or the Torch backend in the "
                         "app), or free some space and try again.") from exc


# ----------------------------------------------------------------------------- agreement

_verdicts: dict[str, OnnxVerdict] = {}


def load_verdict(cache_root: Path, fingerprint: str) -> OnnxVerdict | None:
    path = onnx_folder(cache_root, fingerprint) / VERDICT_FILE
    if str(path) in _verdicts:
        return _verdicts[str(path)]
    try:
        verdict = OnnxVerdict(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # missing or unreadable: the check runs again
    _verdicts[str(path)] = verdict
    return verdict


def ensure_verdict(spec: ModelSpec, fingerprint: str, cache_root: Path, ctx: JobContext | None = None) -> OnnxVerdict:
    """The remembered verdict, or run the check now (export + encode CHECK_QUESTIONS twice).

    The check runs in a child process: tracing, quantising and loading torch weights hold the
    GIL for hundreds of milliseconds at a time, which would freeze the GUI thread here.
    """
    verdict = load_verdict(cache_root, fingerprint)
    if verdict is None and spec.path is not None and not unsupported_reason(spec):
        _run_check_process(spec, fingerprint, cache_root, ctx or NullContext())
        verdict = load_verdict(cache_root, fingerprint)
    if verdict is None:  # no child process possible, or it failed: check here
        verdict = check_agreement(spec, fingerprint, cache_root, ctx)
        _save_verdict(cache_root, fingerprint, verdict)
    return verdict


CHECK_NICENESS = 10


def _run_check_process(spec: ModelSpec, fingerprint: str, cache_root: Path, ctx: JobContext) -> None:
    import subprocess
    import sys
    import time

    step = "Preparing the fast CPU encoder (ONNX int8, once per model)"
    expected = expected_preparation_seconds(spec)
    ctx.set_status(f"{step}…")
    started = time.monotonic()
    command = [sys.executable, "-m", "quoradup_gui.core.encode.onnx_backend", str(spec.path), fingerprint, str(cache_root)]
    try:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError:
        log.warning("Could not start the ONNX check process", exc_info=True)
        return
    try:
        while child.poll() is None:
            if ctx.is_cancelled():
                child.kill()
                child.wait()
                ctx.check_cancelled()
            time.sleep(0.1)
            elapsed = time.monotonic() - started
            left = expected - elapsed
            ctx.set_status(f"{step}: {elapsed:.0f} s, " + (f"about {left:.0f} s left" if left >= 1 else "nearly done"))
            ctx.set_progress(min(elapsed, expected * 0.99), expected)
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode != 0:
        log.warning("ONNX check process failed (%s): %s", child.returncode, (child.stderr.read() or "")[-2000:])


def expected_preparation_seconds(spec: ModelSpec) -> float:
    """A rough duration of the export, quantisation and agreement check: it grows with the size
    of the weights (about 13 s for the bundled 87 MB all-MiniLM-L6-v2 on 2 cores)."""
    size = 0
    for pattern in ("*.safetensors", "*.bin"):
        for file in Path(spec.path).glob(pattern):
            try:
                size += file.stat().st_size
            except OSError:
                pass
    return 5.0 + 0.1 * size / 1e6


def _main(argv: list[str]) -> int:
    """python -m quoradup_gui.core.encode.onnx_backend MODEL_DIR FINGERPRINT CACHE_ROOT: export, check, save."""
    from .models import resolve_model

    model_dir, fingerprint, cache_root = argv
    _lower_priority()
    spec = resolve_model(model_dir)
    verdict = check_agreement(spec, fingerprint, Path(cache_root))
    _save_verdict(Path(cache_root), fingerprint, verdict)
    return 0


def _lower_priority() -> None:
    """The check process runs below the app that waits for it: on 2 cores its export and
    quantisation otherwise take the CPU from the window (a 118 ms stall of an idle GUI thread)."""
    import os

    try:
        os.nice(CHECK_NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass


def check_agreement(spec: ModelSpec, fingerprint: str, cache_root: Path, ctx: JobContext | None = None) -> OnnxVerdict:
    reason = unsupported_reason(spec)
    if reason:
        return OnnxVerdict(False, 0.0, 0.0, reason)
    try:
        encoder = get_onnx_encoder(spec, fingerprint, cache_root, ctx=ctx)
    except Exception as err:  # export trouble must never stop encoding: torch still works
        log.warning("ONNX export failed for %s", spec.describe(), exc_info=True)
        return OnnxVerdict(False, 0.0, 0.0, f"export failed: {err}")
    (ctx or NullContext()).set_status("Checking that the ONNX int8 encoder agrees with torch…")
    import torch

    model = load_model(spec, "cpu")
    questions = list(CHECK_QUESTIONS)
    with torch.inference_mode():
        reference = model.encode(
            questions, batch_size=_CHECK_BATCH, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
    fast = np.concatenate([encoder.encode(questions[i : i + _CHECK_BATCH]) for i in range(0, len(questions), _CHECK_BATCH)])
    cosines = (fast * reference).sum(axis=1)
    mean, low = float(cosines.mean()), float(cosines.min())
    ok = mean >= AGREEMENT_THRESHOLD
    log.info("ONNX int8 agreement for %s: mean %.4f, min %.4f", spec.describe(), mean, low)
    return OnnxVerdict(ok, mean, low, "" if ok else f"mean cosine {mean:.4f} < {AGREEMENT_THRESHOLD}")


def _save_verdict(cache_root: Path, fingerprint: str, verdict: OnnxVerdict) -> None:
    path = onnx_folder(cache_root, fingerprint) / VERDICT_FILE
    _verdicts[str(path)] = verdict
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(verdict), indent=1))
    except OSError:
        log.warning("Could not save the ONNX verdict in %s", path, exc_info=True)


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
