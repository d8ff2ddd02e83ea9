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


@dataclass(frozen=True, eq=False)
class QuestionSet:
    """The questions of one file, built once from its table: a collection's rows (with every
    original column), or the distinct questions of a pair file with the labelled pairs between
    them. Mining, the review session, the estimates and the exports all read this one value."""

    path: Path
    column: str
    texts: tuple[str, ...]
    frame: pd.DataFrame  # the rows as exported (all original columns for a collection)
    pair_index: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # (row1, row2, label) of labelled pairs

    @cached_property
    def key_index(self) -> KeyIndex:
        """text key -> rows; hashed on first use (a second at 500k rows), then kept."""
        return KeyIndex(self.texts)

    @property
    def n(self) -> int:
        return len(self.texts)



    @classmethod
    def from_table(cls, table: LoadedTable) -> QuestionSet:
        return _question_set(table)


def _question_set(table: LoadedTable) -> QuestionSet:
    if table.role is Role.COLLECTION:
        column = table.question_column
        texts = tuple(as_strings(table.frame[column]))  # in slices: one 500k-row tolist() stalls the GUI
        return QuestionSet(table.path, column, texts, table.frame, None)
    distinct = table.texts()
    texts = tuple(distinct.tolist())
    frame = pd.DataFrame({"question": distinct.to_numpy()})
    pair_index = None
    labels = table.labels()
    if labels is not None:
        where = {t: i for i, t in enumerate(texts)}
        p = table.pairs
        r1 = np.array([where.get(t, -1) for t in table.frame[p.text1].tolist()])
        r2 = np.array([where.get(t, -1) for t in table.frame[p.text2].tolist()])
        lab = labels.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ok = (r1 >= 0) & (r2 >= 0) & ~np.isnan(lab) & np.isin(lab, (0.0, 1.0))
        if ok.any() and 0 < lab[ok].sum() < ok.sum():
            pair_index = (r1[ok], r2[ok], lab[ok].astype(np.int8))
    return QuestionSet(table.path, "question", texts, frame, pair_index)


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
