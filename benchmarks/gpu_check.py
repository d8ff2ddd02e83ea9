"""The GPU check, prepared for a session that is lent a machine with an NVIDIA GPU.

It measures two things, with quoradup's own code on the chosen device:
  1. encoding throughput of the model (torch backend, fp32 and, on CUDA, fp16), on the
     distinct questions of the pair file;
  2. one training epoch (multi-task loss, the Quora recipe) on every usable pair of the file,
     with the held-out AP/F1 before and after.
It prints a summary and, with --json OUT, the numbers.

Here (no GPU), check that it works:
    .venv/bin/python benchmarks/gpu_check.py --device cpu --max-pairs 300 --encode 500

On the device machine the image has torch, sentence-transformers, transformers, accelerate,
pandas, pyarrow and scikit-learn, but not `datasets` (and its `dill`, `multiprocess`), nor the
bundled model's package, nor ../shared. Prepare here, once, what travels (about 55 MB; the
device tool's `carry` takes 64 MiB in all):
    echo /.gpu/ >> .git/info/exclude
    .venv/bin/python benchmarks/gpu_check.py --prepare .gpu     # pairs file + the model in fp16
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
        datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
(datasets 5.2 wants pyarrow >= 24 there: `python3 -m pip show pyarrow` first, and carry its wheel if older)
and run (one call, about 5 minutes on an H100):
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl && export PYTHONPATH=/tmp/site:$PWD;
    python3 benchmarks/gpu_check.py --pairs .gpu/quora_train_pairs.csv --model .gpu/model --json $OUT/gpu.json
The model travels in fp16 to fit; training loads it in fp32 (the weights' fp16 rounding is
far below what one epoch changes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
QUORA_PAIRS = REPO.parent / "shared" / "data" / "quora" / "quora_train_pairs.csv"


def encoding(model_name: str, texts: list[str], device: str, batch_size: int) -> dict:
    """Texts per second, the cache off, after one warm-up batch; fp16 too on CUDA."""
    from quoradup_gui.core.encode.models import load_model, resolve_model

    model = load_model(resolve_model(model_name), device)
    out = {}
    for label in ("fp32", "fp16") if device.startswith("cuda") else ("fp32",):
        if label == "fp16":
            model = model.half()
        else:
            model = model.float()
        model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up: kernels, allocator
        _sync(device)
        start = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        _sync(device)
        seconds = time.perf_counter() - start
        out[label] = {"texts": len(texts), "seconds": round(seconds, 3), "texts_per_s": round(len(texts) / seconds, 1)}
    model.float()
    return out


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def training(args, device: str) -> dict:
    from quoradup_gui.core.training.config import TrainingConfig
    from quoradup_gui.core.training.run import run_training

    with tempfile.TemporaryDirectory() as tmp:
        config = TrainingConfig(model=args.model, pairs=str(args.pairs), loss="multi-task", epochs=1.0,
                                batch_size=args.batch_size, max_pairs=args.max_pairs, device=device,
                                output_dir=str(Path(tmp) / "model"), checkpoint_minutes=0)
        result = run_training(config, progress_bar=True)
    return result.as_dict() | {"output": None}


def prepare(folder: Path, pairs: Path) -> None:
    import shutil

    from sentence_transformers import SentenceTransformer

    from quoradup_gui.core.encode.models import bundled_model_path

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(pairs, folder / pairs.name)
    SentenceTransformer(str(bundled_model_path()), device="cpu").half().save(str(folder / "model"))
    # Weights travel in fp16 (half the size); the config says float32, so that the model loads
    # (and trains, with fp32 master weights) in float32, as the bundled one does.
    config_path = folder / "model" / "config.json"
    config = json.loads(config_path.read_text())
    for key in ("dtype", "torch_dtype"):
        if key in config:
            config[key] = "float32"
    config_path.write_text(json.dumps(config, indent=2))
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"{folder}: {size / 2**20:.1f} MiB (pairs file and the bundled model in fp16)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=QUORA_PAIRS)
    parser.add_argument("--model", default="default")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu | mps")
    parser.add_argument("--max-pairs", type=int, default=None, help="default: every usable pair (59,260 for Quora)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encode", type=int, default=20_000, help="distinct questions to encode")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--prepare", type=Path, default=None, metavar="DIR",
                        help="write what the device machine needs into DIR (pairs file, fp16 model) and stop")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.pairs)
        return

    from quoradup_gui.core.encode.models import device_description, pick_device
    from quoradup_gui.core.training.data import load_pairs

    device = pick_device(None if args.device == "auto" else args.device)
    report: dict = {"device": device_description(device)}
    print(f"device: {report['device']}", flush=True)

    pairs = load_pairs(str(args.pairs))
    texts = list(dict.fromkeys(pairs.text1 + pairs.text2))[: args.encode]
    report["encoding"] = encoding(args.model, texts, device, batch_size=256 if device != "cpu" else 64)
    for label, row in report["encoding"].items():
        print(f"encoding {label}: {row['texts_per_s']:,.0f} texts/s ({row['texts']:,} texts, {row['seconds']:.1f} s)",
              flush=True)

    report["training"] = training(args, device)
    t = report["training"]
    base, trained = t["base"] or {}, t["trained"] or {}
    print(f"training, one epoch, multi-task, batch {args.batch_size}: {t['n_train_pairs']:,} pairs, {t['steps']:,} steps, "
          f"{t['seconds']:.1f} s in all, {t['samples_per_s']:,.1f} pairs/s; held-out AP {base.get('ap', float('nan')):.3f} "
          f"-> {trained.get('ap', float('nan')):.3f}, F1 {base.get('f1', float('nan')):.3f} -> "
          f"{trained.get('f1', float('nan')):.3f} ({t['n_eval_pairs']:,} pairs)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
