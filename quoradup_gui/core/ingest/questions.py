"""QuestionSet: the questions of one loaded file, and the index from text keys to rows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..text import as_strings, text_key
from .io import LoadedTable
from .roles import Role
from .xlsx import SheetCells


@dataclass(frozen=True, eq=False)
class PairRows:
    """Every row of a pair file as two rows of the QuestionSet (-1 where a question is blank),
    with its label (NaN where it has none) and the file's question ids when it has them."""

    row1: np.ndarray
    row2: np.ndarray
    labels: np.ndarray | None  # float: 1/0 (or a score), NaN unlabelled; None without a label column
    qid1: pd.Series | None = None
    qid2: pd.Series | None = None

    def __len__(self) -> int:
        return len(self.row1)


@dataclass(frozen=True, eq=False)
class QuestionSet:
    """The questions of one file, built once from its table: a collection's rows (with every
    original column), or the distinct questions of a pair file with its pairs between them.
    Mining, the review session, the estimates, evaluation and the exports all read this one value."""

    path: Path
    column: str
    texts: tuple[str, ...]
    frame: pd.DataFrame  # the rows as exported (all original columns for a collection)
    pairs: PairRows | None = None  # pair files only
    cells: SheetCells | None = None  # a collection read from Excel: its sheet and typed cells, row for row

    @cached_property
    def key_index(self) -> KeyIndex:
        """text key -> rows; hashed on first use (a second at 500k rows), then kept."""
        return KeyIndex(self.texts)

    @cached_property
    def pair_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(row1, row2, label) of the pairs labelled 1 or 0, when both labels occur; else None."""
        p = self.pairs
        if p is None or p.labels is None:
            return None
        lab = p.labels
        ok = (p.row1 >= 0) & (p.row2 >= 0) & ~np.isnan(lab) & np.isin(lab, (0.0, 1.0))
        if not ok.any() or not 0 < lab[ok].sum() < ok.sum():
            return None
        return p.row1[ok], p.row2[ok], lab[ok].astype(np.int8)

    @property
    def n(self) -> int:
        return len(self.texts)

    def pair_texts(self) -> tuple[list[str], list[str]]:
        """The two questions of every pair row ("" where blank), in file order."""
        if self.pairs is None:
            raise ValueError("not a pair file")
        texts = self.texts

        def side(rows: np.ndarray) -> list[str]:
            return [texts[r] if r >= 0 else "" for r in rows.tolist()]

        return side(self.pairs.row1), side(self.pairs.row2)

    @classmethod
    def from_table(cls, table: LoadedTable) -> QuestionSet:
        return _question_set(table)


def _question_set(table: LoadedTable) -> QuestionSet:
    if table.role is Role.COLLECTION:
        column = table.question_column
        texts = tuple(as_strings(table.frame[column]))  # in slices: one 500k-row tolist() stalls the GUI
        return QuestionSet(table.path, column, texts, table.frame, cells=table.cells)
    distinct = table.texts()
    texts = tuple(distinct.tolist())
    frame = pd.DataFrame({"question": distinct.to_numpy()})
    where = {t: i for i, t in enumerate(texts)}
    p = table.pairs
    row1 = np.array([where.get(t, -1) for t in table.frame[p.text1].tolist()], dtype=np.int64)
    row2 = np.array([where.get(t, -1) for t in table.frame[p.text2].tolist()], dtype=np.int64)
    labels = table.labels()
    lab = None if labels is None else labels.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    rows = PairRows(row1, row2, lab, table.frame[p.qid1] if p.qid1 else None, table.frame[p.qid2] if p.qid2 else None)
    return QuestionSet(table.path, "question", texts, frame, rows)


class KeyIndex:
    """text key -> rows holding that text, in file order.

    One dict of ints plus lists only for repeated texts: a list per row would create 500,000
    objects for the garbage collector to walk, a pause of a second with the GIL held.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self._first: dict[str, int] = {}
        self._more: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            key = text_key(text)
            first = self._first.setdefault(key, row)
            if first != row:
                self._more.setdefault(key, [first]).append(row)

    def __contains__(self, key: str) -> bool:
        return key in self._first

    def __getitem__(self, key: str) -> list[int]:
        return self._more.get(key) or [self._first[key]]


def key_index(texts: Sequence[str]) -> KeyIndex:
    return KeyIndex(texts)
