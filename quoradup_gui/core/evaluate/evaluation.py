"""Evaluation metrics computed from numbers: pair classification and duplicate mining.

Encoding happens elsewhere; these functions take similarity scores, labels and id pairs.
They reproduce the numbers of sentence-transformers' ``BinaryClassificationEvaluator``
(cosine similarity) and ``ParaphraseMiningEvaluator`` exactly, so a figure shown by
quoradup can be put next to one from a sentence-transformers training log.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import QuoradupError

PairKey = tuple[Hashable, Hashable]


# --------------------------------------------------------------------------- pair metrics


@dataclass(frozen=True)
class PairMetrics:
    """Metrics of labelled pairs scored by similarity (higher = more alike)."""

    ap: float
    f1: float  # best F1 over all thresholds ...
    precision: float  # ... with the precision and recall there
    recall: float
    threshold: float  # predict "duplicate" when score >= threshold
    accuracy: float
    accuracy_threshold: float
    n_pairs: int  # after dropping pairs without a label
    n_positive: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def pair_metrics(scores: Any, labels: Any) -> PairMetrics:
    """AP, best-F1 and best-accuracy thresholds, as BinaryClassificationEvaluator computes them."""
    scores, labels = _clean_scored_pairs(scores, labels)
    n_pairs = len(labels)
    n_positive = int(labels.sum())
    n_negative = n_pairs - n_positive
    if n_positive == 0 or n_negative == 0:
        raise QuoradupError(
            f"Cannot evaluate: the {n_pairs:,} labelled pairs contain {n_positive:,} duplicates "
            f"and {n_negative:,} non-duplicates.",
            "Evaluation needs at least one pair labelled 1 and one labelled 0.",
        )

    # Highest score first; ties keep their order, like Python's sorted(reverse=True).
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # Thresholds can only fall between groups of equal scores: evaluate at each group's end.
    ends = _group_ends(sorted_scores)
    positives_so_far = np.cumsum(sorted_labels)[ends]

    # Best F1 (find_best_f1_and_threshold): the first strict maximum wins.
    extracted = ends + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = positives_so_far / extracted
        recall = positives_so_far / n_positive
        f1 = 2 * precision * recall / (precision + recall)
    f1 = np.where(positives_so_far > 0, f1, -1.0)
    best = int(np.argmax(f1))

    # Best accuracy (find_best_acc_and_threshold): start from "everything is dissimilar".
    negatives_so_far = extracted - positives_so_far
    correct = positives_so_far + (n_negative - negatives_so_far)
    best_acc = int(np.argmax(correct))
    if correct[best_acc] > n_negative:
        accuracy = correct[best_acc] / n_pairs
        accuracy_threshold = _cut_threshold(sorted_scores, int(ends[best_acc]))
    else:
        accuracy = n_negative / n_pairs
        score_dtype = np.result_type(scores.dtype, np.float16)
        accuracy_threshold = np.nextafter(sorted_scores[0], np.inf, dtype=score_dtype)

    from sklearn.metrics import average_precision_score  # slow import, only needed here

    return PairMetrics(
        ap=float(average_precision_score(labels, scores)),
        f1=float(f1[best]),
        precision=float(precision[best]),
        recall=float(recall[best]),
        threshold=float(_cut_threshold(sorted_scores, int(ends[best]))),
        accuracy=float(accuracy),
        accuracy_threshold=float(accuracy_threshold),
        n_pairs=n_pairs,
        n_positive=n_positive,
    )


def precision_recall_at(scores: Any, labels: Any, threshold: float) -> tuple[float, float]:
    """Precision and recall when pairs with score >= threshold are called duplicates.

    Undefined ratios (nothing predicted, no positives) are 0.0: this feeds a live estimate.
    """
    scores, labels = _clean_scored_pairs(scores, labels)
    predicted = scores.astype(np.float64) >= float(threshold)
    true_positives = int(np.count_nonzero(predicted & (labels == 1)))
    n_predicted = int(np.count_nonzero(predicted))
    n_positive = int(labels.sum())
    precision = true_positives / n_predicted if n_predicted else 0.0
    recall = true_positives / n_positive if n_positive else 0.0
    return precision, recall


def _group_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Indices of the last element of each run of equal scores in a sorted array."""
    if len(sorted_scores) == 0:
        return np.zeros(0, dtype=np.int64)
    changes = np.flatnonzero(sorted_scores[:-1] != sorted_scores[1:])
    return np.append(changes, len(sorted_scores) - 1)


def _cut_threshold(sorted_scores: np.ndarray, i: int) -> np.floating:
    """Threshold keeping items 0..i: the midpoint to the next score, in the scores' dtype."""
    if i == len(sorted_scores) - 1:
        return sorted_scores[i]
    midpoint = (sorted_scores[i] + sorted_scores[i + 1]) / 2
    # A midpoint rounded onto the next score would let that score's group in.
    return sorted_scores[i] if midpoint == sorted_scores[i + 1] else midpoint


def _clean_scored_pairs(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Drop pairs without a label; check scores are finite numbers and labels 0/1."""
    scores = np.asarray(scores)
    if scores.ndim != 1:
        raise QuoradupError(f"Expected one score per pair, got an array of shape {scores.shape}.")
    if not np.issubdtype(scores.dtype, np.floating):
        try:
            scores = scores.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise QuoradupError(f"Similarity scores must be numbers ({err}).") from None
    has_label, labels = _clean_labels(labels)
    if len(has_label) != len(scores):
        raise QuoradupError(f"Got {len(scores):,} scores for {len(has_label):,} labels.")
    scores = scores[has_label]
    if not np.isfinite(scores).all():
        raise QuoradupError("Some similarity scores are not finite numbers (NaN or infinity).")
    return scores, labels


def _clean_labels(labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(mask of rows that have a label, those labels as int64 0/1)."""
    raw = np.asarray(labels, dtype=object).ravel()
    has_label = ~pd.isna(raw).astype(bool)
    try:
        values = raw[has_label].astype(np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or not np.isin(values, (0.0, 1.0)).all():
        bad = sorted({repr(v) for v in raw[has_label] if not _is_binary_label(v)})
        raise QuoradupError(
            f"Labels must be 0 (not duplicate) or 1 (duplicate); found {', '.join(bad[:5])}.",
            "Leave a cell empty for a pair without a label.",
        )
    return has_label, values.astype(np.int64)


def _is_binary_label(value: Any) -> bool:
    try:
        return float(value) in (0.0, 1.0)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- mining metrics


@dataclass(frozen=True)
class MiningMetrics:
    """How well a ranked list of candidate pairs recovers the known duplicate pairs."""

    ap: float
    f1: float
    precision: float
    recall: float
    threshold: float
    n_questions: int
    n_gold_pairs: int
    n_candidate_pairs: int  # distinct unordered pairs

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def unordered_pair(a: Hashable, b: Hashable) -> PairKey:
    """The canonical (smaller, larger) form of an id pair; numpy scalars become Python ones."""
    a, b = _plain(a), _plain(b)
    try:
        return (a, b) if a <= b else (b, a)
    except TypeError:  # ids of mixed types: order them by type name, then text
        key_a, key_b = (type(a).__name__, repr(a)), (type(b).__name__, repr(b))
        return (a, b) if key_a <= key_b else (b, a)


def gold_pairs_from_labelled(
    ids1: Iterable[Hashable], ids2: Iterable[Hashable], labels: Any, transitive: bool = True
) -> set[PairKey]:
    """Unordered id pairs labelled 1, plus (transitive=True) every pair inside a duplicate group.

    Pairs without a label are ignored; a question paired with itself is not a pair.
    """
    ids1, ids2 = list(ids1), list(ids2)
    has_label, clean = _clean_labels(labels)
    if not len(ids1) == len(ids2) == len(has_label):
        raise QuoradupError(f"Got {len(ids1):,} / {len(ids2):,} ids for {len(has_label):,} labels.")
    label_of_row = np.zeros(len(has_label), dtype=np.int64)
    label_of_row[has_label] = clean

    direct: set[PairKey] = set()
    for row, (a, b) in enumerate(zip(ids1, ids2)):
        if label_of_row[row] != 1:
            continue
        if _is_missing(a) or _is_missing(b):
            raise QuoradupError(f"Duplicate pair in row {row + 1:,} lacks a question id.")
        if a != b:
            direct.add(unordered_pair(a, b))
    return _transitive_closure(direct) if transitive else direct


def _transitive_closure(pairs: set[PairKey]) -> set[PairKey]:
    """Every pair inside each connected group of the duplicate relation (union-find)."""
    parent: dict[Hashable, Hashable] = {}

    def find(x: Hashable) -> Hashable:
        root = parent.setdefault(x, x)
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[root_a] = root_b

    groups: dict[Hashable, list[Hashable]] = defaultdict(list)
    for node in list(parent):
        groups[find(node)].append(node)
    return {
        unordered_pair(a, b)
        for members in groups.values()
        for i, a in enumerate(members)
        for b in members[i + 1:]
    }


def mining_metrics(
    candidates: Iterable[tuple[Hashable, Hashable, float]],
    gold_pairs: Iterable[PairKey],
    n_questions: int | None = None,
) -> MiningMetrics:
    """ParaphraseMiningEvaluator's numbers for candidate (id1, id2, score) triples.

    Candidates are ranked by score, highest first; a pair listed twice (in either order)
    counts once, with its highest score. ``n_questions`` is only reported; by default it
    is the number of distinct ids among the candidates and gold pairs.
    """
    gold = {unordered_pair(a, b) for a, b in gold_pairs if a != b}
    if not gold:
        raise QuoradupError(
            "Cannot evaluate mining: there are no known duplicate pairs to find.",
            "Use a pair file with some pairs labelled 1.",
        )
    best_score: dict[PairKey, float] = {}
    for id1, id2, score in candidates:
        if id1 == id2:
            continue
        key, score = unordered_pair(id1, id2), float(score)
        if not math.isfinite(score):
            raise QuoradupError(f"Candidate pair {key} has a score that is not a finite number.")
        if score > best_score.get(key, -math.inf):
            best_score[key] = score
    if n_questions is None:
        n_questions = len({i for pair in (*best_score, *gold) for i in pair})

    n_gold, n_candidates = len(gold), len(best_score)
    scores = np.fromiter(best_score.values(), dtype=np.float64, count=n_candidates)
    hits = np.fromiter((key in gold for key in best_score), dtype=bool, count=n_candidates)
    order = np.argsort(-scores, kind="stable")
    scores, hits = scores[order], hits[order]

    # Walk down the ranking, evaluating at the end of each run of equal scores that adds hits.
    ends = _group_ends(scores)
    correct = np.cumsum(hits)[ends]
    new_hits = np.diff(correct, prepend=0)
    scoring = new_hits > 0
    if not scoring.any():
        return MiningMetrics(0.0, 0.0, 0.0, 0.0, 0.0, n_questions, n_gold, n_candidates)
    ends, correct, new_hits = ends[scoring], correct[scoring], new_hits[scoring]
    precision = correct / (ends + 1)
    recall = correct / n_gold
    f1 = 2 * precision * recall / (precision + recall)
    # The evaluator sums precision * new hits one step at a time; cumsum keeps that order.
    average_precision = float(np.cumsum(precision * new_hits)[-1]) / n_gold

    best = int(np.argmax(f1))  # the first strict maximum, as `if f1 > best_f1`
    cut = int(ends[best])
    threshold = (scores[cut] + scores[min(cut + 1, n_candidates - 1)]) / 2
    return MiningMetrics(
        ap=average_precision,
        f1=float(f1[best]),
        precision=float(precision[best]),
        recall=float(recall[best]),
        threshold=float(threshold),
        n_questions=n_questions,
        n_gold_pairs=n_gold,
        n_candidate_pairs=n_candidates,
    )


def mining_corpus_from_pairs(
    text1: Sequence[Any],
    text2: Sequence[Any],
    labels: Any,
    qid1: Sequence[Any] | None = None,
    qid2: Sequence[Any] | None = None,
) -> tuple[list[str], list[Hashable], set[PairKey]]:
    """The distinct questions of a labelled pair file, their ids, and the gold duplicate pairs.

    With question ids (the Quora Kaggle qid1/qid2 layout) those are the ids and the first
    text seen for an id is kept; without, identical texts are one question whose id is its
    position in the returned list. Missing or blank texts are left out, and so are their
    pairs. Gold = transitive closure of the pairs labelled 1.
    """
    if (qid1 is None) != (qid2 is None):
        raise QuoradupError("Give question ids for both columns of the pairs, or for neither.")
    text1, text2 = list(text1), list(text2)
    if qid1 is None:
        qid1 = qid2 = [None] * len(text1)
    qid1, qid2 = list(qid1), list(qid2)
    if not len(text1) == len(text2) == len(qid1) == len(qid2):
        raise QuoradupError("The two question columns (and their ids) must have the same length.")

    texts: list[str] = []
    ids: list[Hashable] = []
    id_seen: set[Hashable] = set()
    id_of_text: dict[str, int] = {}

    def question_id(row: int, text: Any, qid: Any) -> Hashable | None:
        if _is_missing(text) or not str(text).strip():
            return None
        text = str(text)
        if qid is None:  # no id column: exact text identity
            if text not in id_of_text:
                id_of_text[text] = len(texts)
                texts.append(text)
                ids.append(id_of_text[text])
            return id_of_text[text]
        if _is_missing(qid):
            raise QuoradupError(f"Row {row + 1:,} has a question without a question id.")
        qid = _plain(qid)
        if qid not in id_seen:
            id_seen.add(qid)
            texts.append(text)
            ids.append(qid)
        return qid

    pair_ids1, pair_ids2, row_of_pair = [], [], []
    for row in range(len(text1)):
        a = question_id(row, text1[row], qid1[row])
        b = question_id(row, text2[row], qid2[row])
        if a is not None and b is not None:
            pair_ids1.append(a)
            pair_ids2.append(b)
            row_of_pair.append(row)

    raw_labels = np.asarray(labels, dtype=object).ravel()
    if len(raw_labels) != len(text1):
        raise QuoradupError(f"Got {len(raw_labels):,} labels for {len(text1):,} pairs.")
    gold = gold_pairs_from_labelled(pair_ids1, pair_ids2, raw_labels[np.asarray(row_of_pair, dtype=np.int64)], transitive=True)
    return texts, ids, gold


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so ids compare, hash and serialise as expected."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)
