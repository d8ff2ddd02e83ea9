"""Real Quora questions for the benchmarks, read from ../shared/data/quora/ (never copied here).

Quora released this data for non-commercial use; the project must not redistribute it, so the
benchmarks read it where it lies, next to the repository, and stop with a clear message when it
is absent.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

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
