"""Answers from a file (`quoradup review FILE --answers ANSWERS.csv`): the same decisions the
Check pairs keys make, recorded into the same journal.

Columns: ``text1, text2, is_duplicate`` or ``row1, row2, is_duplicate`` (rows numbered from 1,
as in the clusters export). ``is_duplicate``: 1/0, yes/no, true/false, duplicate/not; "unsure"
(or ``?``) records an unsure answer; a blank one is skipped. Every row that cannot be used is
reported with its row number and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ColumnError
from ..ingest.roles import read_labels
from ..text import text_key
from ..wording import plural

if TYPE_CHECKING:
    from ..jobs import JobContext
    from .session import ReviewSession

UNSURE = {"unsure", "?", "maybe", "u", "not sure", "don't know", "dont know"}


@dataclass
class RecordedAnswers:
    n_duplicate: int = 0
    n_not: int = 0
    n_unsure: int = 0
    n_same_as_before: int = 0  # rows whose answer the journal already held
    problems: list[str] = field(default_factory=list)

    @property
    def n_recorded(self) -> int:
        return self.n_duplicate + self.n_not + self.n_unsure


def read_answer_rows(path: str | Path, session: ReviewSession, ctx: JobContext | None = None) \
        -> tuple[list[tuple[int, int, str]], list[str]]:
    """(row1, row2, verdict) with 0-based rows, and a note per row that cannot be used."""
    import pandas as pd

    from ..ingest.io import read_frame

    frame, _format, read_notes, _cells = read_frame(path, ctx, header=True)
    columns = {str(c).strip().lower(): c for c in frame.columns}
    label = next((columns[c] for c in ("is_duplicate", "label", "duplicate", "answer") if c in columns), None)
    by_text = "text1" in columns and "text2" in columns
    by_row = "row1" in columns and "row2" in columns
    if label is None or not (by_text or by_row):
        raise ColumnError(f"{Path(path).name} needs the columns text1, text2, is_duplicate (or row1, row2, "
                          f"is_duplicate); it has {', '.join(map(str, frame.columns))}.",
                          "Name the columns so, one answered pair per row.")
    notes = list(read_notes)
    raw = frame[label].astype("str").fillna("").str.strip()
    unsure = raw.str.lower().isin(UNSURE)
    labels, _unknown = read_labels(raw.where(~unsure, pd.NA))
    texts = session.collection.texts
    index = session.collection.key_index
    n = len(texts)
    first, second = (columns["text1"], columns["text2"]) if by_text else (columns["row1"], columns["row2"])
    out: list[tuple[int, int, str]] = []
    for i, (x, y) in enumerate(zip(frame[first].tolist(), frame[second].tolist())):
        line = i + 1  # the answers' data rows, counted from 1
        if unsure.iat[i]:
            verdict = "unsure"
        elif pd.isna(labels.iat[i]):
            if raw.iat[i]:
                notes.append(f"Answer row {line:,}: the answer '{raw.iat[i][:40]}' is not 1/0, yes/no or unsure; skipped.")
            continue
        else:
            verdict = "duplicate" if int(labels.iat[i]) == 1 else "not"
        rows = []
        for value in (x, y):
            if by_text:
                key = text_key(str(value))
                rows.append(index[key][0] if str(value).strip() and key in index else None)
            else:
                try:
                    number = int(str(value).strip())
                except ValueError:
                    number = 0
                rows.append(number - 1 if 1 <= number <= n else None)
        if None in rows:
            what = "a question that is not in the collection" if by_text else f"a row number outside 1 to {n:,}"
            notes.append(f"Answer row {line:,}: names {what}; skipped.")
            continue
        if rows[0] == rows[1]:
            notes.append(f"Answer row {line:,}: both sides are the same question; skipped.")
            continue
        out.append((rows[0], rows[1], verdict))
    return out, notes


def record_answers(session: ReviewSession, path: str | Path, ctx: JobContext | None = None) -> RecordedAnswers:
    """Record every usable answer of ``path`` as the Check pairs keys would: one journal entry each."""
    rows, notes = read_answer_rows(path, session, ctx)
    result = RecordedAnswers(problems=notes)
    value = {"duplicate": 1, "not": 0, "unsure": -1}
    for a, b, verdict in rows:
        pair = (min(a, b), max(a, b))
        if session.resolved.answers.get(pair) == value[verdict]:
            result.n_same_as_before += 1
            continue
        session.answer(a, b, verdict)
        if verdict == "duplicate":
            result.n_duplicate += 1
        elif verdict == "not":
            result.n_not += 1
        else:
            result.n_unsure += 1
    return result


def describe(result: RecordedAnswers) -> str:
    text = (f"Recorded {plural(result.n_recorded, 'answer')}: {result.n_duplicate:,} duplicates, {result.n_not:,} not, "
            f"{result.n_unsure:,} unsure")
    if result.n_same_as_before:
        text += f" ({plural(result.n_same_as_before, 'row')} already recorded)"
    return text
