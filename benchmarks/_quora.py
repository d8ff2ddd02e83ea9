"""Real Quora questions for the benchmarks, read from ../shared/data/quora/ (never copied here).

Quora released this data for non-commercial use; the project must not redistribute it, so the
benchmarks read it where it lies, next to the repository, and stop with a clear message when it
is absent.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO.parent / "shared" / "data" / "quora"
FILES = ("quora_kaggle_dev.csv", "quora_train_pairs.csv")  # in this order: the Kaggle file first


def data_dir() -> Path:
    """The folder with the Quora CSV files, or exit with a message saying where it should be."""
    missing = [name for name in FILES if not (DATA_DIR / name).is_file()]
    if missing:
        sys.exit(
            f"Quora data not found: expected {', '.join(missing)} in {DATA_DIR}\n"
            "(the benchmarks read the real questions from ../shared/data/quora/ next to the repository)."
        )
    return DATA_DIR


def distinct_questions() -> list[str]:
    """All distinct non-blank questions of both files, in file order (row by row, question1 then
    question2, so a labelled pair stays together in any prefix). Distinct by the text the encoder
    sees (stripped, whitespace runs collapsed): two spellings of one text would be the same vector."""
    folder = data_dir()
    seen: set[str] = set()
    out: list[str] = []
    for name in FILES:
        with open(folder / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for column in ("question1", "question2"):
                    text = row.get(column) or ""
                    key = " ".join(text.split())
                    if key and key not in seen:
                        seen.add(key)
                        out.append(key)
    return out


def read_dev():
    with open(data_dir() / "quora_kaggle_dev.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows


class Truth:
    """The dev file's truth: its distinct questions (texts, ids) and duplicate groups (``group``:
    questions sharing a qid, or linked by is_duplicate = 1 through shared questions); rows of the
    collection as mining_corpus_from_pairs numbers them."""

    def __init__(self, rows):
        from quoradup_gui.core.evaluate.evaluation import mining_corpus_from_pairs
        from quoradup_gui.core.unionfind import UnionFind

        self.texts, self.ids, self.gold = mining_corpus_from_pairs(
            [r["question1"] for r in rows], [r["question2"] for r in rows], [r["is_duplicate"] for r in rows],
            [r["qid1"] for r in rows], [r["qid2"] for r in rows])
        self.row_of = {qid: i for i, qid in enumerate(self.ids)}
        groups = UnionFind()
        for a, b in self.gold:
            groups.union(self.row_of[a], self.row_of[b])
        self.group = np.array([groups.find(i) for i in range(len(self.ids))], dtype=np.int64)
        pairs = [(self.row_of.get(r["qid1"]), self.row_of.get(r["qid2"]), r["is_duplicate"]) for r in rows]
        pairs = [(a, b, int(y)) for a, b, y in pairs if a is not None and b is not None and a != b and y in ("0", "1")]
        self.labelled = np.array(pairs, dtype=np.int64).reshape(-1, 3)

    def same(self, a: int, b: int) -> bool:
        return bool(self.group[a] == self.group[b])
