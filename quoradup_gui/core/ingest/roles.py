"""Which role a table plays (a collection of questions or labelled pairs) and which columns hold what.

detect_role recognises the well-known pair/triplet layouts by column name, otherwise
guess_question_column picks the column that looks most like questions. parse_labels turns
duplicate labels (1/0, yes/no, true/false, duplicate/not duplicate) into Int8.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from ..errors import ColumnError
from ..wording import plural
from .sniffing import name_key


class Role(str, Enum):
    COLLECTION = "collection"  # one question per row: find duplicates among them
    PAIRS = "pairs"  # labelled / positive pairs: train or evaluate a model


@dataclass(frozen=True)
class PairColumns:
    text1: str
    text2: str
    label: str | None = None  # is_duplicate / label / score; None for anchor,positive
    negative: str | None = None  # anchor,positive,negative
    qid1: str | None = None
    qid2: str | None = None
    layout: str = "custom"  # quora-kaggle | sentence-pair | triplet | anchor-positive | question-pair | custom

    def columns(self) -> list[str]:
        names = (self.text1, self.text2, self.label, self.negative, self.qid1, self.qid2)
        return [name for name in names if name is not None]


def detect_role(frame: pd.DataFrame) -> tuple[Role, str | None, PairColumns | None]:
    """PAIRS for the well-known pair/triplet layouts (by column name), else COLLECTION."""
    keys: dict[str, str] = {}
    for column in frame.columns:
        keys.setdefault(name_key(column), column)

    def find(*names: str) -> str | None:
        return next((keys[n] for n in names if n in keys), None)

    question1, question2 = find("question1"), find("question2")
    if question1 and question2:
        label, qid1, qid2 = find("isduplicate", "duplicate", "label", "isdup"), find("qid1"), find("qid2")
        layout = "quora-kaggle" if qid1 and qid2 and label else "question-pair"
        return Role.PAIRS, None, PairColumns(question1, question2, label=label, qid1=qid1, qid2=qid2, layout=layout)
    sentence1, sentence2 = find("sentence1", "text1"), find("sentence2", "text2")
    if sentence1 and sentence2:
        label = find("label", "score", "similarity", "isduplicate")
        return Role.PAIRS, None, PairColumns(sentence1, sentence2, label=label, layout="sentence-pair")
    anchor, positive = find("anchor"), find("positive")
    if anchor and positive:
        negative = find("negative")
        layout = "triplet" if negative else "anchor-positive"
        return Role.PAIRS, None, PairColumns(anchor, positive, negative=negative, layout=layout)
    named = _numbered_pair(frame)  # "first question, second question, same?", "q1, q2, match"
    if named is not None:
        return Role.PAIRS, None, named
    return Role.COLLECTION, guess_question_column(frame), None


_PAIR_STEMS = ("question", "questions", "questiontext", "q", "ques", "text", "sentence", "query", "title", "prompt",
               "phrase", "utterance")  # note_1, note_2 are two notes, not a pair of questions
_ORDINALS = (("first", "second"), ("1", "2"), ("a", "b"), ("one", "two"), ("left", "right"))
_LABEL_NAMES = {"label", "isduplicate", "duplicate", "isdup", "dup", "same", "issame", "match", "ismatch",
                "paraphrase", "isparaphrase", "equivalent", "target", "similar", "issimilar"}


def _numbered_pair(frame: pd.DataFrame) -> PairColumns | None:
    """Two text columns named like questions but for an ordinal ("first question"/"second
    question", q1/q2, "text a"/"text b") and, when there is one, a label column (by name, its
    values read as labels)."""
    by_key: dict[str, str] = {}
    for column in frame.columns:
        by_key.setdefault(name_key(column).rstrip("?"), column)
    for stem in _PAIR_STEMS:
        for one, two in _ORDINALS:
            for first, second in ((one + stem, two + stem), (stem + one, stem + two)):
                if first in by_key and second in by_key:
                    column1, column2 = by_key[first], by_key[second]
                    if text_score(frame[column1]) is not None and text_score(frame[column2]) is not None:
                        return PairColumns(column1, column2, label=_label_column(frame, {column1, column2}),
                                           layout="custom")
    return None


def _label_column(frame: pd.DataFrame, exclude: set) -> str | None:
    for column in frame.columns:
        if column not in exclude and name_key(column).rstrip("?") in _LABEL_NAMES:
            with suppress(ColumnError):
                parse_label_or_score(frame[column])
                return column
    return None


def suggest_pair_columns(frame: pd.DataFrame) -> PairColumns | None:
    """For a file the user says holds pairs: the two most text-like columns (in file order) and
    a column whose every value reads as a label. None if fewer than two columns hold text."""
    detected = detect_role(frame)[2]
    if detected is not None:
        return detected
    scores = {c: score for c in frame.columns if (score := text_score(frame[c])) is not None}
    if len(scores) < 2:
        return None
    ranked = sorted(scores, key=lambda c: -scores[c])[:2]
    first, second = sorted(ranked, key=list(frame.columns).index)
    label = _label_column(frame, {first, second})
    if label is None:
        for column in frame.columns:
            if column not in (first, second) and not read_labels(frame[column])[1]:
                label = column
                break
    return PairColumns(first, second, label=label, layout="custom")


def label_preview(series: pd.Series, limit: int = 8) -> list[tuple[str, str, int]]:
    """How a label column is read: (value, "duplicate" | "not duplicate" | "no label" |
    "not a label", rows), most frequent values first."""
    labels, _unknown = read_labels(series)
    frame = pd.DataFrame({"value": series.astype("str").fillna(""), "label": labels})
    out = []
    counts = frame.groupby("value", sort=False, dropna=False).size().sort_values(ascending=False)
    for value, n in counts.head(limit).items():
        key = _label_key(value)
        reading = ("duplicate" if key in _POSITIVE else "not duplicate" if key in _NEGATIVE
                   else "no label" if key in _BLANK else "not a label")
        out.append((str(value), reading, int(n)))
    return out


_QUESTION_START = re.compile(
    r"\s*(what|how|why|when|where|which|who|whom|whose|is|are|was|were|am|can|could|do|does|did|"
    r"should|would|will|has|have|had|may|might|must|shall)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\s*[-+]?(\d[\d,. _]*|[.,]\d+)([eE][-+]?\d+)?\s*%?\s*")
_NOT_TEXT = {"true", "false", "nan", "none", "null", "na", "n/a", "yes", "no", "inf", "-inf"}
_HAS_LETTER = re.compile(r"[^\W\d_]")
_PREFERRED_NAMES = {
    "question", "questions", "questiontext", "text", "title", "query", "sentence", "body", "prompt", "content",
}


def guess_question_column(frame: pd.DataFrame) -> str:
    """The column whose values look most like questions; ColumnError if none holds text."""
    scores = {}
    for column in frame.columns:
        score = text_score(frame[column])
        if score is not None:
            scores[column] = score + (0.05 if name_key(column) in _PREFERRED_NAMES else 0.0)
    if not scores:
        raise ColumnError(
            "No column holds text: every column is empty or holds only numbers.",
            hint="quoradup needs a column with one question per row; check that you chose the right file.",
        )
    return max(scores, key=scores.get)  # the first (leftmost) column wins exact ties


def text_score(series: pd.Series, sample_size: int = 5_000) -> float | None:
    """How much a column looks like questions (higher is more), or None if it holds no text.

    Scored on an evenly spaced sample: share of values with letters (numbers, booleans and
    blanks do not count), mean length near 15-300 characters, distinct values, and — the
    strongest signal — the share of values ending in "?" or starting with a question word.
    """
    n = len(series)
    sample = series if n <= sample_size else series.iloc[np.linspace(0, n - 1, sample_size).astype(int)]
    values = [v.strip() for v in sample.tolist() if isinstance(v, str) and v.strip()]
    if not values:
        return None
    texty = [v for v in values if _HAS_LETTER.search(v) and not _NUMBER.fullmatch(v) and v.casefold() not in _NOT_TEXT]
    share_text = len(texty) / len(values)
    if share_text < 0.5:
        return None
    mean_length = sum(map(len, values)) / len(values)
    length_score = 1.0 if 15 <= mean_length <= 300 else mean_length / 15 if mean_length < 15 else 300 / mean_length
    questions = sum(1 for v in values if v.endswith("?") or _QUESTION_START.match(v)) / len(values)
    distinct = len(set(values)) / len(values)
    filled = len(values) / len(sample)
    return share_text * length_score * (0.4 + 0.6 * distinct) * (0.5 + 0.5 * filled) + questions


_POSITIVE = {"1", "yes", "y", "true", "t", "duplicate", "dup", "is duplicate"}
_NEGATIVE = {
    "0", "no", "n", "false", "f", "not duplicate", "non duplicate", "not a duplicate", "not dup", "no duplicate",
}
_BLANK = {"", "nan", "none", "null", "na", "n/a", "<na>"}


def _label_key(value: object) -> str:
    key = re.sub(r"[\s_\-]+", " ", str(value).strip().casefold())
    with suppress(ValueError):
        number = float(key)  # "1.0", "0.00" from float columns
        if number in (0.0, 1.0):
            return str(int(number))
    return key


def parse_labels(series: pd.Series) -> pd.Series:
    """Duplicate labels as Int8 (1, 0, or NA for blank); ColumnError naming unknown values."""
    labels, unknown = read_labels(series)
    if unknown:
        raise ColumnError(
            f'Column "{series.name}" has values that are not duplicate labels: {unknown}.',
            hint="Use 1/0, yes/no, true/false or duplicate/not duplicate; leave a cell blank when unknown.",
        )
    return labels


def read_labels(series: pd.Series) -> tuple[pd.Series, str]:
    """(labels as Int8, NA where blank or unknown; the unknown values listed with their counts, or "")."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = np.full(len(uniques) + 1, np.nan)  # the last slot serves code -1 (missing)
    unknown = []
    for i, value in enumerate(uniques):
        key = _label_key(value)
        if key in _POSITIVE:
            lookup[i] = 1
        elif key in _NEGATIVE:
            lookup[i] = 0
        elif key not in _BLANK:
            unknown.append(i)
    listed = ""
    if unknown:
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        unknown.sort(key=lambda i: -counts[i])
        listed = ", ".join(f'"{uniques[i]}" ({plural(int(counts[i]), "row")})' for i in unknown[:5])
        listed += f" and {len(unknown) - 5:,} other values" if len(unknown) > 5 else ""
    return pd.Series(lookup[codes], index=series.index, name=series.name).astype("Int8"), listed


def parse_label_or_score(series: pd.Series) -> pd.Series:
    """parse_labels, or Float64 scores for a numeric column such as sentence-pair "score"."""
    try:
        return parse_labels(series)
    except ColumnError:
        text = series.astype("str").str.strip()
        blank = (text.fillna("") == "").to_numpy()
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        if numbers.isna().to_numpy()[~blank].any():
            raise
        return numbers.astype("Float64")
