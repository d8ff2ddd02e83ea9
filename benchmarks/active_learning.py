"""Active learning: does Check pairs spend a reviewer's answers better than random pairs?

A simulated reviewer answers from the truth of ../shared/data/quora/quora_kaggle_dev.csv:
questions sharing a qid are one question, and questions linked by ``is_duplicate = 1`` (through
shared questions too) are duplicates; any other pair is not. The collection is the file's
distinct questions, opened as the app opens a one-column spreadsheet.

Strategies, each with its own journal, its answers growing to every size in --sizes:
  queue   the Check pairs queue (core.review.queue.pair_queue) at the app's default threshold
          and mode, re-asked every BATCH answers as the window does (its centre follows the answers)
  queue@t (a variant) the queue held at the threshold (pair_queue(..., calibrate=False))
  random  the same number of random candidate pairs of the neighbour graph (similarity >= 0.5)
  file    (reference) the same number of the file's own labelled pairs

After each size the run trains from the review exactly as "Improve the model" does
(core.loop.improve.train_from_review: the recipe, the held-out split by question), re-mines the
collection with the new model and reports
  mining AP/F1   on the whole collection (candidate pairs of the graph against the true pairs)
  pair AP        on the file's labelled pairs whose questions the reviewer was never shown
                 (with the base model's pair AP on the same pairs beside it)
  held-out AP    the run's own before/after score on the user's held-out answers
  CPU min        process CPU time of the round (training and re-mining)

Run: .venv/bin/python benchmarks/active_learning.py [--sizes 100,200,400,800] [--strategies queue,random,file]
     [--seed 0] [--json results.json] [--loss L --epochs E --lr LR (instead of the review recipe)]
All strategies are scored on one set of unseen pairs: the labelled pairs none of them showed.
About 15 minutes on 2 cores for the default sizes and strategies.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._quora import Truth, read_dev  # noqa: E402

BATCH = 20  # answers between two re-asks of the queue (the window asks again about as often)


def mine(texts, model: str, cache: Path):
    from quoradup_gui.core.mine.mining import MiningParams, mine_collection

    return mine_collection(texts, MiningParams(model=model, backend="torch", cache_dir=cache))


def scores_of(mined, truth: Truth, shown: set[int]) -> dict:
    from quoradup_gui.core.evaluate.evaluation import mining_metrics, pair_metrics

    g = mined.graph
    candidates = ((truth.ids[a], truth.ids[b], s) for a, b, s in zip(g.sources.tolist(), g.targets.tolist(), g.scores.tolist()))
    mining = mining_metrics(candidates, truth.gold, n_questions=len(truth.ids))
    lab = truth.labelled
    unseen = np.array([a not in shown and b not in shown for a, b in lab[:, :2].tolist()], dtype=bool)
    e = mined.embeddings
    cos = np.einsum("ij,ij->i", e[lab[unseen, 0]], e[lab[unseen, 1]])
    pair = pair_metrics(cos, lab[unseen, 2])
    return {"mining_ap": mining.ap, "mining_f1": mining.f1, "pair_ap": pair.ap, "unseen": np.flatnonzero(unseen)}


class Strategy:
    def __init__(self, name: str, session, truth: Truth, base_mined, threshold: float, mode: str, seed: int):
        self.name, self.session, self.truth, self.mined = name, session, truth, base_mined
        self.threshold, self.mode = threshold, mode
        self.rng = np.random.default_rng(seed)
        self.n_answers = 0
        self.shown: set[int] = set()
        g = base_mined.graph
        ok = (g.sources != g.targets) & ~base_mined.blank[g.sources] & ~base_mined.blank[g.targets]
        self.edges = self.rng.permutation(np.flatnonzero(ok))
        self.file_rows = self.rng.permutation(len(truth.labelled))
        self.cursor = 0
        self.centre: float | None = None  # the queue's even score after the last batch

    def answer(self, a: int, b: int, label: int | None = None) -> None:
        same = self.truth.same(a, b) if label is None else bool(label)
        self.session.answer(a, b, "duplicate" if same else "not")
        self.shown.update((a, b))
        self.n_answers += 1

    def grow_to(self, n: int) -> None:
        if self.name.startswith("queue"):
            from quoradup_gui.core.review.queue import even_score, pair_queue

            while self.n_answers < n:
                clustering = self.session.cluster(self.threshold, self.mode)
                self.session.show(clustering)
                batch = pair_queue(self.mined, clustering, self.session.resolved, min(BATCH, n - self.n_answers),
                                   calibrate=self.name != "queue@t")
                if not batch:
                    break
                for p in batch:
                    self.answer(p.row1, p.row2)
            self.centre = even_score(self.mined.embeddings, self.session.resolved, self.threshold)
            return
        answered = set(self.session.resolved.answers)
        g = self.mined.graph
        while self.n_answers < n and self.cursor < (len(self.edges) if self.name == "random" else len(self.file_rows)):
            if self.name == "random":
                e = self.edges[self.cursor]
                a, b, label = int(g.sources[e]), int(g.targets[e]), None
            else:
                a, b, label = (int(x) for x in self.truth.labelled[self.file_rows[self.cursor]])
            self.cursor += 1
            if (min(a, b), max(a, b)) in answered:
                continue
            answered.add((min(a, b), max(a, b)))
            self.answer(a, b, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,200,400,800")
    parser.add_argument("--strategies", default="queue,random,file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every number here as well")
    parser.add_argument("--loss", help="train with this loss instead of the recipe's (auto)")
    parser.add_argument("--epochs", type=float, help="instead of the recipe's epochs")
    parser.add_argument("--lr", type=float, help="instead of the recipe's learning rate")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [s.strip() for s in args.strategies.split(",")]

    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="quoradup-al-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # models and journals of this run only
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from quoradup_gui.core.ingest.io import read_table
    from quoradup_gui.core.jobs import NullContext
    from quoradup_gui.core.loop.improve import review_recipe, train_from_review
    from quoradup_gui.core.mine.defaults import DEFAULT_THRESHOLD
    from quoradup_gui.core.review.queue import NEAR
    from quoradup_gui.core.review.session import ReviewSession

    truth = Truth(read_dev())
    path = work / "dev-questions.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question"])
        writer.writerows([t] for t in truth.texts)
    cache = work / "cache"
    t0 = time.process_time()
    base = mine(truth.texts, "default", cache)
    base_scores = scores_of(base, truth, set())
    print(f"collection: {len(truth.texts):,} questions, {len(truth.gold):,} true duplicate pairs, "
          f"{len(truth.labelled):,} labelled pairs; graph {len(base.graph.scores):,} candidate pairs "
          f"(base mining {time.process_time() - t0:.0f} s CPU)")
    print(f"base model: mining AP {base_scores['mining_ap']:.4f}  F1 {base_scores['mining_f1']:.4f}  "
          f"pair AP {base_scores['pair_ap']:.4f}")
    print(f"queue: threshold {DEFAULT_THRESHOLD}, mode connected, near {NEAR}, re-asked every {BATCH} answers; "
          f"recipe per size: " + ", ".join(f"{n}: {review_recipe(int(n * 0.8))}" for n in sizes))
    print(flush=True)

    overrides = {k: v for k, v in (("loss", args.loss), ("epochs", args.epochs), ("learning_rate", args.lr)) if v}
    if overrides:
        print(f"recipe overridden: {overrides}")
    results: dict[str, list[dict]] = {name: [] for name in names}
    strategies = {}
    for name in names:
        session = ReviewSession.open(read_table(path), journal=work / f"{name}.jsonl")
        session.set_mined(base)
        strategies[name] = Strategy(name, session, truth, base, DEFAULT_THRESHOLD, "connected", args.seed)
    for n in sizes:
        for strategy in strategies.values():
            strategy.grow_to(n)
        # one unseen set for every strategy: the labelled pairs none of them showed the reviewer
        shown = set().union(*(s.shown for s in strategies.values()))
        base_unseen = scores_of(base, truth, shown)
        for name, strategy in strategies.items():
            session = strategy.session
            start, wall = time.process_time(), time.perf_counter()
            dup, not_dup, _ = session.resolved.answer_counts()
            out = work / "models" / f"{name}-{n}"
            result = train_from_review(session, "default", out, NullContext(), **overrides)
            mined = mine(truth.texts, str(out), cache)
            got = scores_of(mined, truth, shown)
            row = {"answers": strategy.n_answers, "duplicates": dup, "not": not_dup,
                   "mining_ap": got["mining_ap"], "mining_f1": got["mining_f1"], "pair_ap": got["pair_ap"],
                   "pair_ap_base": base_unseen["pair_ap"], "n_unseen": int(len(got["unseen"])),
                   "heldout_before": result.base.ap if result.base else None,
                   "heldout_after": result.trained.ap if result.trained else None,
                   "centre": strategy.centre, "loss": result.loss, "steps": result.steps,
                   "cpu_min": (time.process_time() - start) / 60, "wall_min": (time.perf_counter() - wall) / 60}
            results[name].append(row)
            print(f"{name:>7} {row['answers']:>4} answers ({dup} dup / {not_dup} not)  mining AP {row['mining_ap']:.4f}  "
                  f"F1 {row['mining_f1']:.4f}  pair AP {row['pair_ap']:.4f} (base {row['pair_ap_base']:.4f}, "
                  f"{row['n_unseen']:,} unseen)  held-out {row['heldout_before'] or 0:.3f}->{row['heldout_after'] or 0:.3f}  "
                  + (f"centre {strategy.centre:.3f}  " if strategy.centre else "")
                  + f"{row['loss']} {row['steps']} steps  {row['cpu_min']:.1f} CPU min", flush=True)
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cache / "graphs", ignore_errors=True)
    for strategy in strategies.values():
        strategy.session.close()

    print()
    print("curves (answers: mining AP / mining F1 / unseen pair AP)")
    for name, rows in results.items():
        print(f"  {name:>7}: " + "   ".join(f"{r['answers']}: {r['mining_ap']:.4f} / {r['mining_f1']:.4f} / {r['pair_ap']:.4f}"
                                          for r in rows))
    if "queue" in results and "random" in results:
        q, r = results["queue"], results["random"]
        wins = [a["mining_ap"] > b["mining_ap"] and a["pair_ap"] > b["pair_ap"] for a, b in zip(q, r)]
        target = r[-1]["mining_ap"]
        reached = next((a["answers"] for a in q if a["mining_ap"] >= target), None)
        print(f"queue beats random (mining AP and unseen pair AP) at {sum(wins)} of {len(wins)} sizes: "
              + ", ".join(f"{a['answers']}: {'yes' if w else 'no'}" for a, w in zip(q, wins)))
        print(f"answers the queue needs to reach random's mining AP at {r[-1]['answers']} ({target:.4f}): "
              + (f"{reached}" if reached is not None else f"not reached within {q[-1]['answers']}"))
    if args.json:
        args.json.write_text(json.dumps({"base": {k: v for k, v in base_scores.items() if k != "unseen"},
                                         "results": results}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
