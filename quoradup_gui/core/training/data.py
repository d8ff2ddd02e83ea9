"""Training data: pairs from a file, from review decisions or from the Hugging Face Hub, split by question.

Every source becomes one :class:`PairData` (question pairs with 1/0 labels, positive pairs, or
triplets). :func:`split_by_question` holds out a share of the pairs such that no question is on
both sides: pairs are linked through the questions they share (union-find over normalised text
and question ids) and whole connected groups go to one side, so the held-out score measures
questions the model has never seen. :func:`loss_datasets` then builds the ``datasets.Dataset``
column layouts the sentence-transformers losses expect, with the symmetric (B, A) copies the
Quora recipe adds for ranking losses.

``datasets`` is imported inside the functions that need it (module import stays cheap).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ColumnError, QuoradupError
from ..ingest.io import LoadedTable, Role, detect_role, read_table
from ..ingest.roles import read_labels
from ..jobs import JobContext, NullContext
from ..text import question_key
from ..unionfind import UnionFind

if TYPE_CHECKING:
    from datasets import Dataset

# Kinds of training data, named after the sentence-transformers/quora-duplicates subsets.
PAIR_CLASS = "pair-class"  # (text1, text2, label 1/0)
PAIR = "pair"  # (anchor, positive): duplicates only
TRIPLET = "triplet"  # (anchor, positive, negative)

QUORA_HUB_ID = "sentence-transformers/quora-duplicates"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[A-Za-z0-9][\w.\-]{0,95}(:[\w.\-]+)?$")
_KNOWN_DEFAULT_SUBSETS = {QUORA_HUB_ID: PAIR_CLASS}
_HUB_HINT = "Use a local pair file instead (CSV with question1, question2, is_duplicate), or connect and try again."


@dataclass(frozen=True)
class PairData:
    """Question pairs ready for training; immutable lists of equal length."""

    text1: tuple[str, ...]  # question / anchor
    text2: tuple[str, ...]  # other question / positive
    labels: tuple[int, ...] | None  # PAIR_CLASS: 1 duplicate, 0 not; None otherwise
    negative: tuple[str, ...] | None  # TRIPLET only
    kind: str
    source: str  # what the user gave, for the record
    ids1: tuple[str, ...] | None = field(default=None, repr=False)  # question ids (quora-kaggle) if known
    ids2: tuple[str, ...] | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.text1)

    @property
    def n_positive(self) -> int:
        return len(self) if self.labels is None else int(sum(self.labels))

    def take(self, rows: np.ndarray | list[int]) -> PairData:
        def pick(values):
            return None if values is None else tuple(values[i] for i in rows)

        return replace(self, text1=pick(self.text1), text2=pick(self.text2), labels=pick(self.labels),
                       negative=pick(self.negative), ids1=pick(self.ids1), ids2=pick(self.ids2))

    def describe(self) -> str:
        if self.kind == PAIR_CLASS:
            return f"{len(self):,} labelled pairs ({self.n_positive:,} duplicates)"
        if self.kind == TRIPLET:
            return f"{len(self):,} triplets (anchor, duplicate, non-duplicate)"
        return f"{len(self):,} duplicate pairs"


@dataclass(frozen=True)
class TrainingSplit:
    train: PairData
    eval: PairData | None  # labelled pairs (1/0) for AP/F1; None when there is nothing to hold out
    n_groups: int  # connected groups of questions
    warnings: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- loading


def load_pairs(source: PairData | LoadedTable | str | Path, ctx: JobContext | None = None,
               max_pairs: int | None = None) -> PairData:
    """Pairs as given, or from a loaded pair table, a pair file path, or a hub dataset id (``org/name[:subset]``).

    Rows with a blank question or without a label are skipped; ``max_pairs`` keeps the first N
    usable pairs (in file order, so a run is reproducible and the rest of the file stays unseen).
    """
    ctx = ctx or NullContext()
    if isinstance(source, PairData):
        data = source
    elif isinstance(source, LoadedTable):
        data = pairs_from_table(source)
    else:
        text = str(source).strip()
        if not text:
            raise QuoradupError("No training data given.", "Choose a pair file, e.g. question1, question2, is_duplicate.")
        if is_hub_dataset_id(text):
            data = pairs_from_hub(text, ctx, max_pairs)
        else:
            data = pairs_from_table(read_table(text, ctx))
    if max_pairs is not None and len(data) > max_pairs:
        data = data.take(list(range(max_pairs)))
    return data


def labelled_pairs(text1, text2, labels, source: str) -> PairData:
    """Labelled question pairs (1 duplicate, 0 not) given as three sequences, e.g. a review's decisions."""
    text1, text2 = tuple(map(str, text1)), tuple(map(str, text2))
    labels = tuple(int(y) for y in labels)
    if not len(text1) == len(text2) == len(labels) or any(y not in (0, 1) for y in labels):
        raise ValueError("labelled_pairs needs three sequences of one length, with labels 1 or 0")
    return PairData(text1, text2, labels, None, PAIR_CLASS, source)


def is_hub_dataset_id(text: str) -> bool:
    """``org/name`` or ``org/name:subset`` that is not an existing local path."""
    return bool(_HUB_ID.match(text)) and not Path(text).expanduser().exists() and Path(text).suffix.lower() not in (
        ".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".jsonl")


def pairs_from_table(table: LoadedTable) -> PairData:
    if table.role is not Role.PAIRS or table.pairs is None:
        raise ColumnError(
            f"{table.path.name} is a question collection, not a pair file.",
            hint="Training needs pairs: question1, question2, is_duplicate (e.g. labelled pairs exported from "
                 "review decisions), or anchor, positive[, negative].",
        )
    p, frame = table.pairs, table.frame
    ids = (frame[p.qid1], frame[p.qid2]) if p.qid1 and p.qid2 else None
    labels, label_name, notes = (table.labels() if p.label else None), p.label, []
    if p.label is None and table.ignored_label:
        # The file has a label column the reader could not read whole: train on the labels it
        # can read, never on every pair as a duplicate.
        labels, unknown = read_labels(frame[table.ignored_label])
        label_name = table.ignored_label
        n_known = int(labels.notna().sum())
        if not n_known:
            raise ColumnError(f'Column "{label_name}" holds no duplicate labels that quoradup can read: {unknown}.',
                              hint="Use 1/0, yes/no, true/false or duplicate/not duplicate, or choose another "
                                   "label column.")
        n_left = int(frame[label_name].astype(str).str.strip().ne("").sum()) - n_known
        notes.append(f'Column "{label_name}" has values that are not duplicate labels: {unknown}. Training uses only '
                     f"the {n_known:,} pairs whose labels were read; {n_left:,} were left out.")
    data = _pairs_from_columns(frame[p.text1], frame[p.text2], labels, frame[p.negative] if p.negative else None, ids,
                               source=str(table.path), label_name=label_name)
    notes = [*table.load_warnings, *notes]  # what reading the file had to say reaches the run too
    return replace(data, warnings=tuple(notes) + data.warnings) if notes else data


def pairs_from_hub(spec: str, ctx: JobContext | None = None, max_pairs: int | None = None) -> PairData:
    """A ``datasets`` hub dataset through the real ``datasets.load_dataset`` (cache first, then the Hub)."""
    ctx = ctx or NullContext()
    hub_id, _, subset = spec.partition(":")
    subset = subset or _KNOWN_DEFAULT_SUBSETS.get(hub_id)
    ctx.set_status(f"Loading {hub_id}{f' ({subset})' if subset else ''} from the Hugging Face Hub…")
    try:
        import datasets
        from datasets.exceptions import DatasetNotFoundError

        dataset = datasets.load_dataset(hub_id, subset, split="train")
    except DatasetNotFoundError as err:
        raise QuoradupError(f"There is no dataset '{hub_id}' on the Hugging Face Hub (or it is private).",
                            _HUB_HINT) from err
    except Exception as err:  # offline mode, no network, a hub outage: all look like this
        if _is_unreachable(err):
            raise QuoradupError(
                f"The Hugging Face Hub is unreachable, so the dataset '{hub_id}' cannot be downloaded.", _HUB_HINT,
            ) from err
        raise QuoradupError(f"Could not load the dataset '{spec}' from the Hugging Face Hub: {err}", _HUB_HINT) from err
    if max_pairs is not None and len(dataset) > max_pairs:
        dataset = dataset.select(range(max_pairs))
    frame = dataset.to_pandas()
    role, _, pairs = detect_role(frame.head(0).astype("str"))
    if role is not Role.PAIRS:
        raise QuoradupError(
            f"The dataset '{spec}' has columns {', '.join(map(str, frame.columns))}, which are not pairs.",
            "Use sentence1/sentence2/label, question1/question2/is_duplicate or anchor/positive[/negative].",
        )
    labels = None
    if pairs.label:
        labels = pd.to_numeric(frame[pairs.label], errors="coerce")
        labels = labels.where(labels.isin([0, 1])).astype("Int8")
    return _pairs_from_columns(frame[pairs.text1].astype("str"), frame[pairs.text2].astype("str"), labels,
                               frame[pairs.negative].astype("str") if pairs.negative else None, None,
                               source=spec, label_name=pairs.label)


def _is_unreachable(err: BaseException) -> bool:
    try:
        from ..encode.models import is_connection_problem
    except ImportError:  # pragma: no cover
        return isinstance(err, (OSError, ConnectionError))
    seen = set()
    while err is not None and id(err) not in seen:  # datasets wraps the transport error
        seen.add(id(err))
        if is_connection_problem(err) or "OfflineModeIsEnabled" in str(err) or "Couldn't reach" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def _pairs_from_columns(text1: pd.Series, text2: pd.Series, labels: pd.Series | None, negative: pd.Series | None,
                        ids: tuple[pd.Series, pd.Series] | None, source: str, label_name: str | None) -> PairData:
    text1, text2 = text1.fillna("").astype(str), text2.fillna("").astype(str)
    keep = (text1.str.strip() != "") & (text2.str.strip() != "")
    if negative is not None:
        negative = negative.fillna("").astype(str)
        keep &= negative.str.strip() != ""
    notes = []
    n_blank = int((~keep).sum())
    if n_blank:
        notes.append(f"{n_blank:,} pair{'s' if n_blank != 1 else ''} with a blank question skipped.")
    label_values = None
    if labels is not None:
        if pd.api.types.is_float_dtype(labels.dtype):
            raise ColumnError(
                f'Column "{label_name}" holds similarity scores; training needs duplicate labels (1 or 0).',
                hint="Use a column with 1/0, yes/no or duplicate/not duplicate.",
            )
        has_label = labels.notna().to_numpy()
        n_unlabelled = int((keep.to_numpy() & ~has_label).sum())
        if n_unlabelled:
            notes.append(f"{n_unlabelled:,} pair{'s' if n_unlabelled != 1 else ''} without a label skipped.")
        keep &= has_label
        label_values = labels[keep].astype(int).tolist()
    rows = keep.to_numpy()
    if not rows.any():
        raise QuoradupError(f"{Path(source).name if Path(source).exists() else source} holds no usable pairs.",
                            "Each row needs two questions and, for labelled pairs, a 1/0 label.")
    kind = TRIPLET if negative is not None else PAIR_CLASS if label_values is not None else PAIR
    return PairData(
        text1=tuple(text1[rows].tolist()), text2=tuple(text2[rows].tolist()),
        labels=tuple(label_values) if label_values is not None else None,
        negative=tuple(negative[rows].tolist()) if negative is not None else None,
        kind=kind, source=source,
        ids1=tuple(ids[0][rows].astype(str).tolist()) if ids is not None else None,
        ids2=tuple(ids[1][rows].astype(str).tolist()) if ids is not None else None,
        warnings=tuple(notes),
    )


# ----------------------------------------------------------------------------- split by question


def question_groups(data: PairData) -> np.ndarray:
    """For each pair, the id of its connected group of questions (pairs sharing a question share a group)."""
    sets, ids = UnionFind(), {}

    def node(key: str) -> int:
        return ids.setdefault(key, len(ids))

    firsts = np.empty(len(data), dtype=np.int64)
    for row in range(len(data)):
        nodes = [node("t:" + question_key(data.text1[row])), node("t:" + question_key(data.text2[row]))]
        if data.negative is not None:
            nodes.append(node("t:" + question_key(data.negative[row])))
        if data.ids1 is not None:  # the same question id is the same question, whatever its text
            nodes += [node("q:" + data.ids1[row]), node("q:" + data.ids2[row])]
        for other in nodes[1:]:
            sets.union(nodes[0], other)
        firsts[row] = nodes[0]
    return np.array([sets.find(int(i)) for i in firsts], dtype=np.int64)


def split_by_question(data: PairData, eval_fraction: float = 0.1, seed: int = 42,
                      max_eval_pairs: int | None = None) -> TrainingSplit:
    """Hold out about ``eval_fraction`` of the pairs, whole question groups at a time (deterministic).

    Groups are visited in a seeded random order and go to the held-out side while they fit;
    a group bigger than what is left (a "hub" question linked to many others) stays in training.
    ``max_eval_pairs`` caps the pairs scored during training; the rest of the held-out pairs are
    still kept out of training.
    """
    if eval_fraction <= 0 or len(data) < 2:
        return TrainingSplit(data, None, 0)
    groups = question_groups(data)
    ids, first_row, inverse = np.unique(groups, return_index=True, return_inverse=True)
    positive = np.ones(len(data)) if data.labels is None else np.asarray(data.labels, dtype=float)
    pos = np.bincount(inverse, weights=positive, minlength=len(ids)).astype(np.int64)
    neg = np.bincount(inverse, minlength=len(ids)) - pos
    # Stratified: the held-out pairs get about the data's share of duplicates (at least one of each).
    target = max(1, int(round(len(data) * eval_fraction)))
    target_pos = int(round(target * positive.mean()))
    if 0 < pos.sum() and target >= 2:
        target_pos = min(max(target_pos, 1), target - (1 if neg.sum() else 0))
    target_neg = target - target_pos
    order = np.argsort(first_row, kind="stable")  # file order, independent of node numbering
    order = order[np.random.default_rng(seed).permutation(len(order))]
    held, n_pos, n_neg = [], 0, 0
    for g in order:
        if n_pos >= target_pos and n_neg >= target_neg:
            break
        if n_pos + pos[g] <= target_pos and n_neg + neg[g] <= target_neg:
            held.append(g)
            n_pos, n_neg = n_pos + int(pos[g]), n_neg + int(neg[g])
    in_eval = np.isin(inverse, np.array(held, dtype=np.int64))
    train_rows, eval_rows = np.flatnonzero(~in_eval), np.flatnonzero(in_eval)
    notes = []
    if len(train_rows) == 0:
        raise QuoradupError(f"All {len(data):,} pairs are about the same few questions; nothing is left to train on.",
                            "Use more pairs, or set the held-out share to 0.")
    if len(eval_rows) == 0:
        notes.append("Every question is linked to most others, so no pairs could be held out without sharing "
                     "questions with training; training runs without evaluation.")
        return TrainingSplit(data.take(train_rows), None, len(ids), tuple(notes))
    eval_pairs, more = _labelled_eval_pairs(data.take(eval_rows), seed)
    notes += more
    if eval_pairs is not None and max_eval_pairs is not None and len(eval_pairs) > max_eval_pairs:
        keep = np.sort(np.random.default_rng(seed + 1).choice(len(eval_pairs), max_eval_pairs, replace=False))
        eval_pairs = eval_pairs.take(keep)
    return TrainingSplit(data.take(train_rows), eval_pairs, len(ids), tuple(notes))


def _labelled_eval_pairs(held: PairData, seed: int) -> tuple[PairData | None, list[str]]:
    """Held-out pairs as labelled 1/0 pairs; random non-duplicates where the data has none."""
    if held.kind == PAIR_CLASS:
        text1, text2, labels = list(held.text1), list(held.text2), list(held.labels)
    elif held.kind == TRIPLET:
        text1 = list(held.text1) * 2
        text2 = list(held.text2) + list(held.negative)
        labels = [1] * len(held) + [0] * len(held)
    else:
        text1, text2, labels = list(held.text1), list(held.text2), [1] * len(held)
    if 1 not in labels:
        return None, ["The held-out pairs hold no duplicates, so training runs without evaluation."]
    notes = []
    if 0 not in labels:
        # Two questions from different groups are almost never duplicates (the assumption MNRL makes too).
        groups = question_groups(held)
        rng = np.random.default_rng(seed)
        rows = np.flatnonzero(np.array(labels) == 1)
        partners = rng.permutation(rows)
        added = 0
        for a, b in zip(rows, partners):
            if groups[a] != groups[b]:
                text1.append(held.text1[a])
                text2.append(held.text2[b])
                labels.append(0)
                added += 1
        if not added:
            return None, ["The held-out pairs are all about one question, so training runs without evaluation."]
        notes.append(f"Held-out evaluation uses {added:,} random pairs of different questions as non-duplicates.")
    return PairData(tuple(text1), tuple(text2), tuple(labels), None, PAIR_CLASS, held.source), notes


# ----------------------------------------------------------------------------- datasets per loss


def contrastive_rows(data: PairData) -> dict[str, list[Any]]:
    """(sentence1, sentence2, label) rows: labelled pairs as they are, triplets as a 1 and a 0 pair."""
    if data.kind == PAIR_CLASS:
        return {"sentence1": list(data.text1), "sentence2": list(data.text2), "label": list(data.labels)}
    if data.kind == TRIPLET:
        return {"sentence1": list(data.text1) * 2, "sentence2": list(data.text2) + list(data.negative),
                "label": [1] * len(data) + [0] * len(data)}
    raise QuoradupError(
        "This loss learns from duplicates and non-duplicates, but the data holds only duplicate pairs.",
        "Choose the mnrl or cached-mnrl loss, or use pairs labelled 1 and 0.",
    )


def ranking_rows(data: PairData, symmetric: bool = True) -> dict[str, list[str]]:
    """(anchor, positive[, negative]) rows from the duplicates, plus the swapped (B, A) copies.

    "If A is a duplicate of B, then B is a duplicate of A": the Quora recipe adds both orders.
    """
    if data.kind == PAIR_CLASS:
        rows = [i for i, label in enumerate(data.labels) if label == 1]
    else:
        rows = list(range(len(data)))
    if not rows:
        raise QuoradupError("The training pairs hold no duplicates (label 1), which this loss learns from.",
                            "Add duplicate pairs, or choose the online-contrastive loss.")
    anchor = [data.text1[i] for i in rows]
    positive = [data.text2[i] for i in rows]
    out = {"anchor": anchor + positive if symmetric else anchor,
           "positive": positive + anchor if symmetric else positive}
    if data.kind == TRIPLET:
        negative = [data.negative[i] for i in rows]
        out["negative"] = negative * 2 if symmetric else negative
    return out


def to_dataset(columns: dict[str, list[Any]]) -> Dataset:
    from datasets import Dataset, Features, Value

    kinds = {"label": "int64", "score": "float32"}  # the label column (CoSENT: a float score); the rest are texts
    features = Features({name: Value(kinds.get(name, "string")) for name in columns})
    return Dataset.from_dict(columns, features=features)
