"""Training throughput: quoradup's run_training against a plain SentenceTransformerTrainer script.

Both train the bundled all-MiniLM-L6-v2 on the same pairs (the first --pairs usable pairs of
../shared/data/quora/quora_train_pairs.csv, minus the same held-out split by question) with the
same loss, batch size, learning rate, seed and number of steps, each in a fresh process, in
alternating order. Throughput is training pairs per second from the first step's start to the
last step's end; quoradup's held-out evaluations are left out of its figure (they are reported
separately), its progress/loss/cancel callbacks and periodic checkpoints are not.

Run: .venv/bin/python benchmarks/training.py [--pairs 2000] [--batch-size 32] [--repeats 1] [--precision auto]
quoradup runs with its own defaults (precision auto: bf16 autocast on CPUs with bf16 units), the
plain script as the docs write it (fp32); both are scored on the same held-out pairs.
Target: ratio (quoradup / plain) >= 1.5 with the held-out AP within 0.005.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUORA_PAIRS = REPO.parent / "shared" / "data" / "quora" / "quora_train_pairs.csv"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train_split(settings: dict):
    from quoradup_gui.core.training.data import load_pairs, split_by_question

    data = load_pairs(str(QUORA_PAIRS), max_pairs=settings["pairs"])
    return split_by_question(data, settings["eval_fraction"], settings["seed"], settings["max_eval_pairs"])


def worker_ours(settings: dict) -> dict:
    from quoradup_gui.core.jobs import NullContext
    from quoradup_gui.core.training.run import TrainingConfig, run_training

    with tempfile.TemporaryDirectory() as tmp:
        config = TrainingConfig(loss=settings["loss"], batch_size=settings["batch_size"], max_pairs=settings["pairs"],
                                learning_rate=settings["lr"], seed=settings["seed"], eval_fraction=settings["eval_fraction"],
                                max_eval_pairs=settings["max_eval_pairs"], output_dir=str(Path(tmp) / "model"),
                                device="cpu", precision=settings.get("precision", "auto"))
        start = time.perf_counter()
        result = run_training(config, str(QUORA_PAIRS), NullContext())
        wall = time.perf_counter() - start
    evals = [p for p in result.history if p["kind"] == "eval"]
    return {"samples_per_s": result.samples_per_s, "steps": result.steps, "n_train_pairs": result.n_train_pairs,
            "end_to_end_s": wall, "n_evaluations": len(evals), "peak_rss_mib": peak_rss_mib(),
            "precision": result.precision, "base_ap": result.base.ap if result.base else None,
            "trained_ap": result.trained.ap if result.trained else None}


def worker_plain(settings: dict) -> dict:
    """What a user would write from the sentence-transformers docs, plus a timing callback."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import OnlineContrastiveLoss
    from transformers import TrainerCallback

    from quoradup_gui.core.encode.models import bundled_model_path
    from quoradup_gui.core.training.data import contrastive_rows, to_dataset

    if settings["loss"] != "online-contrastive":
        raise SystemExit("the plain baseline is written for online-contrastive")
    split = train_split(settings)
    dataset = to_dataset(contrastive_rows(split.train))
    model = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)

    class Timing(TrainerCallback):
        first = last = None
        steps = 0

        def on_step_begin(self, args, state, control, **kwargs):
            if Timing.first is None:
                Timing.first = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            Timing.last = time.perf_counter()
            Timing.steps = state.global_step

    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=1, per_device_train_batch_size=settings["batch_size"],
            learning_rate=settings["lr"], warmup_steps=0.1, seed=settings["seed"], data_seed=settings["seed"],
            save_strategy="steps", save_steps=2**62, save_total_limit=1,  # one checkpoint at the end, as quoradup
            logging_steps=0.005, report_to=[], disable_tqdm=True, dataloader_num_workers=0, use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                             loss=OnlineContrastiveLoss(model, margin=0.5), callbacks=[Timing()])
        start = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - start
    # Scored on the same held-out pairs as quoradup's run, with the same evaluator (not timed).
    from quoradup_gui.core.training.callbacks import make_evaluator

    trained = make_evaluator(split.eval, settings["batch_size"]).metrics(model)
    return {"samples_per_s": len(dataset) / (Timing.last - Timing.first), "steps": Timing.steps,
            "n_train_pairs": len(dataset), "train_call_s": wall, "peak_rss_mib": peak_rss_mib(),
            "trained_ap": trained.ap if trained else None}


def run_worker(kind: str, settings: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--settings", json.dumps(settings)],
                         capture_output=True, text=True, cwd=REPO, timeout=7200)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--precision", default="auto", help="quoradup's precision (auto: bf16 on CPUs with bf16 units)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument("--worker", choices=("ours", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        settings = json.loads(args.settings)
        result = worker_ours(settings) if args.worker == "ours" else worker_plain(settings)
        print(json.dumps(result))
        return
    if not QUORA_PAIRS.exists():
        raise SystemExit(f"needs {QUORA_PAIRS} (real Quora pairs, not part of the repo)")
    settings = {"pairs": args.pairs, "batch_size": args.batch_size, "loss": "online-contrastive", "lr": 2e-5,
                "seed": 42, "eval_fraction": 0.1, "max_eval_pairs": 2000, "precision": args.precision}
    import torch

    runs: dict[str, list[dict]] = {"ours": [], "plain": []}
    for repeat in range(args.repeats):
        order = ("plain", "ours") if repeat % 2 == 0 else ("ours", "plain")
        for kind in order:
            runs[kind].append(run_worker(kind, settings))
            print(f"  {kind}: {runs[kind][-1]}", file=sys.stderr)
    ours = statistics.median(r["samples_per_s"] for r in runs["ours"])
    plain = statistics.median(r["samples_per_s"] for r in runs["plain"])
    summary = {
        "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "settings": settings,
        "steps": runs["ours"][0]["steps"], "plain_steps": runs["plain"][0]["steps"],
        "n_train_pairs": runs["ours"][0]["n_train_pairs"],
        "ours_samples_per_s": ours, "plain_samples_per_s": plain, "ratio": ours / plain,
        "ours_peak_rss_mib": max(r["peak_rss_mib"] for r in runs["ours"]),
        "plain_peak_rss_mib": max(r["peak_rss_mib"] for r in runs["plain"]),
        "ours_end_to_end_s": statistics.median(r["end_to_end_s"] for r in runs["ours"]),
        "ours_evaluations": runs["ours"][0]["n_evaluations"], "runs": runs,
    }
    print(f"{settings['pairs']:,} pairs ({summary['n_train_pairs']:,} after the held-out split), batch "
          f"{args.batch_size}, {summary['steps']} steps, {summary['cores']} cores, torch threads "
          f"{summary['torch_threads']}")
    plain_ap = statistics.median(r["trained_ap"] for r in runs["plain"])
    ours_ap = statistics.median(r["trained_ap"] for r in runs["ours"])
    summary.update(plain_ap=plain_ap, ours_ap=ours_ap, ours_precision=runs["ours"][0]["precision"])
    print(f"plain SentenceTransformerTrainer (fp32): {plain:.2f} pairs/s, peak RSS {summary['plain_peak_rss_mib']:.0f} MiB, "
          f"held-out AP {plain_ap:.4f}")
    print(f"quoradup run_training ({summary['ours_precision']}):{' ' * max(1, 10 - len(summary['ours_precision']))}"
          f"{ours:.2f} pairs/s, peak RSS {summary['ours_peak_rss_mib']:.0f} MiB, held-out AP {ours_ap:.4f} "
          f"(+{summary['ours_evaluations']} held-out evaluations, end to end {summary['ours_end_to_end_s']:.0f} s)")
    same_ap = abs(ours_ap - plain_ap) <= 0.005
    print(f"ratio {summary['ratio']:.3f}, AP difference {ours_ap - plain_ap:+.4f}  (target: >= 1.5 with the AP within "
          f"0.005: {'met' if summary['ratio'] >= 1.5 and same_ap else 'MISSED'})")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
