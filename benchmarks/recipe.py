"""Which training recipe: every loss the app offers (and MNRL with mined hard negatives), epochs
and learning rate, at several training sizes, scored on pairs and questions never trained on.

Run: .venv/bin/python benchmarks/recipe.py [--sizes 1000,10000] [--losses L1,L2] [--variants]
     [--json OUT]

Trains the bundled all-MiniLM-L6-v2 with quoradup's run_training (the app's defaults: batch 32,
1 epoch, lr 2e-5, precision auto) on the first N usable pairs of
../shared/data/quora/quora_train_pairs.csv, then scores the model on
../shared/data/quora/quora_kaggle_dev.csv, none of whose questions occurs in the training pairs:
  pair AP / F1     on the 5,000 labelled dev pairs (cosine of the two questions)
  mining AP / F1   on the dev collection's 9,859 distinct questions (neighbour graph against the
                   truth: shared qids and is_duplicate links)
  min              wall minutes of the training run (encoding the dev set for the scores excluded)
Configurations: online-contrastive, contrastive, mnrl (duplicates only), cached-mnrl (batch 128,
mini-batches of 32), multi-task (mnrl + online contrastive), cosent, and mnrl-hard (each
duplicate pair with one hard negative mined by sentence_transformers.util.mine_hard_negatives
with the base model). --variants adds, for the best loss of each size by mining F1, 2 epochs and
lr 5e-5. The base model's scores come first. Sizes: 1,000 ~12 min, 10,000 ~40 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._quora import Truth, data_dir, read_dev  # noqa: E402

LOSSES = ("online-contrastive", "contrastive", "mnrl", "cached-mnrl", "multi-task", "cosent", "mnrl-hard")


def dev_scores(model: str, truth: Truth, cache: Path) -> dict:
    from quoradup_gui.core.evaluate.evaluation import mining_metrics, pair_metrics
    from quoradup_gui.core.mine.mining import MiningParams, mine_collection

    mined = mine_collection(truth.texts, MiningParams(model=model, backend="torch", cache_dir=cache))
    g = mined.graph
    candidates = ((truth.ids[a], truth.ids[b], s) for a, b, s in zip(g.sources.tolist(), g.targets.tolist(),
                                                                      g.scores.tolist()))
    mining = mining_metrics(candidates, truth.gold, n_questions=len(truth.ids))
    lab = truth.labelled
    e = mined.embeddings
    pair = pair_metrics(np.einsum("ij,ij->i", e[lab[:, 0]], e[lab[:, 1]]), lab[:, 2])
    return {"pair_ap": pair.ap, "pair_f1": pair.f1, "mining_ap": mining.ap, "mining_f1": mining.f1}


def pairs_file(size: int, folder: Path) -> Path:
    """The first ``size`` usable training pairs as a CSV (what the app's data loader reads)."""
    import pandas as pd

    frame = pd.read_csv(data_dir() / "quora_train_pairs.csv", dtype=str, keep_default_na=False)
    frame = frame[frame["is_duplicate"].isin(["0", "1"]) & (frame["question1"] != "") & (frame["question2"] != "")]
    path = folder / f"pairs-{size}.csv"
    frame.head(size).to_csv(path, index=False)
    return path


def hard_negative_file(pairs: Path, folder: Path) -> Path:
    """(anchor, positive, negative): each duplicate pair with the most similar other question the
    base model finds among all questions of the training pairs (util.mine_hard_negatives)."""
    import pandas as pd
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from quoradup_gui.core.encode.models import bundled_model_path

    frame = pd.read_csv(pairs, dtype=str, keep_default_na=False)
    duplicates = frame[frame["is_duplicate"] == "1"]
    corpus = sorted(set(frame["question1"]) | set(frame["question2"]))
    model = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    dataset = Dataset.from_dict({"anchor": duplicates["question1"].tolist(), "positive": duplicates["question2"].tolist()})
    mined = mine_hard_negatives(dataset, model, corpus=corpus, num_negatives=1, range_min=1, max_score=0.95,
                                sampling_strategy="top", output_format="triplet", verbose=False)
    path = folder / (pairs.stem + "-hard.csv")
    pd.DataFrame({k: mined[k] for k in ("anchor", "positive", "negative")}).to_csv(path, index=False)
    return path


def train(pairs: Path, folder: Path, loss: str, epochs: float = 1.0, lr: float = 2e-5) -> tuple[Path, float, str]:
    from quoradup_gui.core.jobs import NullContext
    from quoradup_gui.core.training.run import TrainingConfig, run_training

    data = pairs
    real_loss, batch = loss, 32
    if loss == "mnrl-hard":
        data, real_loss = hard_negative_file(pairs, folder), "mnrl"
    elif loss == "cached-mnrl":
        batch = 128
    out = folder / f"model-{pairs.stem}-{loss}-{epochs:g}-{lr:g}"
    config = TrainingConfig(loss=real_loss, epochs=epochs, learning_rate=lr, batch_size=batch, mini_batch_size=32,
                            output_dir=str(out), eval_fraction=0.05, max_eval_pairs=500, checkpoint_minutes=0)
    started = time.perf_counter()
    result = run_training(config, str(data), NullContext())
    return result.output, (time.perf_counter() - started) / 60, result.precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated training sizes (59260: all)")
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--variants", action="store_true", help="also 2 epochs and lr 5e-5 for each size's best loss")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    truth = Truth(read_dev())
    rows = []
    with tempfile.TemporaryDirectory(prefix="quoradup-recipe-") as tmp:
        folder = Path(tmp)
        cache = folder / "cache"
        base = dev_scores("default", truth, cache)
        rows.append({"size": 0, "config": "base model", **base, "minutes": 0.0})
        print(f"{'pairs':>6s} {'configuration':34s} {'pair AP':>7s} {'pair F1':>7s} {'mine AP':>7s} {'mine F1':>7s} "
              f"{'min':>5s}", flush=True)

        def show(row: dict) -> None:
            print(f"{row['size']:6d} {row['config']:34s} {row['pair_ap']:7.4f} {row['pair_f1']:7.4f} "
                  f"{row['mining_ap']:7.4f} {row['mining_f1']:7.4f} {row['minutes']:5.1f}", flush=True)

        show(rows[0])
        for size in (int(s) for s in args.sizes.split(",")):
            pairs = pairs_file(size, folder)
            done = []
            for loss in args.losses.split(","):
                model, minutes, precision = train(pairs, folder, loss)
                row = {"size": size, "config": f"{loss} (1 epoch, lr 2e-5, {precision})", "loss": loss,
                       **dev_scores(str(model), truth, cache), "minutes": minutes}
                rows.append(row)
                done.append(row)
                show(row)
            if args.variants and done:
                best = max(done, key=lambda r: r["mining_f1"])
                for epochs, lr in ((2.0, 2e-5), (1.0, 5e-5)):
                    model, minutes, precision = train(pairs, folder, best["loss"], epochs, lr)
                    row = {"size": size, "config": f"{best['loss']} ({epochs:g} epochs, lr {lr:g}, {precision})",
                           "loss": best["loss"], **dev_scores(str(model), truth, cache), "minutes": minutes}
                    rows.append(row)
                    show(row)
    for size in sorted({r["size"] for r in rows if r["size"]}):
        of_size = [r for r in rows if r["size"] == size]
        best = max(of_size, key=lambda r: r["mining_f1"])
        best_pair = max(of_size, key=lambda r: r["pair_ap"])
        print(f"best at {size:,} pairs: mining F1 {best['config']} ({best['mining_f1']:.4f}); "
              f"pair AP {best_pair['config']} ({best_pair['pair_ap']:.4f})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
