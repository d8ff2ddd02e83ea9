"""Review decisions: must-link / cannot-link pairs, canonical choices and text edits, with undo.

Decisions name questions by a digest of their text, not by row number, so they survive a
threshold change, a re-run with another model and a re-opened file whose rows moved. They
autosave as an append-only journal (one fsynced JSON line per action, undo and redo
included): a killed app loses at most the action being written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .clustering import Constraints

JOURNAL_VERSION = 1


def text_key(text: str) -> str:
    """Digest naming a question in decisions: whitespace-normalised text (like the embedding cache)."""
    return hashlib.blake2b(" ".join(str(text).split()).encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


@dataclass(frozen=True)
class Action:
    """One user decision. kind: confirm | split | merge | canonical | edit."""

    kind: str
    keys: tuple[str, ...]  # confirm/merge: the questions joined; split: (removed, *others); canonical/edit: (key,)
    text: str = ""  # edit: the new text of the canonical question
    label: str = ""  # what the Undo menu says
    # The row numbers the keys had when decided: used while they still hold those texts, so a
    # choice between rows with identical text stays exact; otherwise the first row with the text.
    rows: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return {"kind": self.kind, "keys": list(self.keys), "text": self.text, "label": self.label,
                "rows": list(self.rows)}

    @classmethod
    def from_json(cls, data: dict) -> "Action":
        return cls(str(data["kind"]), tuple(map(str, data["keys"])), str(data.get("text", "")),
                   str(data.get("label", "")), tuple(int(r) for r in data.get("rows", ())))


@dataclass
class DecisionLog:
    """The applied actions plus a redo stack; optionally journaled to ``path``."""

    path: Path | None = None
    applied: list[Action] = field(default_factory=list)
    undone: list[Action] = field(default_factory=list)

    # ----- persistence ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> "DecisionLog":
        """Replay the journal at ``path`` (a torn last line from a crash is ignored)."""
        log = cls(path=None)
        if path.exists():
            content = path.read_text(encoding="utf-8", errors="replace")
            if content and not content.endswith("\n"):
                with open(path, "a", encoding="utf-8") as fh:  # end the torn line before appending
                    fh.write("\n")
            for line in content.splitlines():
                try:
                    entry = json.loads(line)
                    op = entry.get("op")
                    if op == "do":
                        log.do(Action.from_json(entry["action"]))
                    elif op == "undo":
                        log.undo()
                    elif op == "redo":
                        log.redo()
                except (ValueError, KeyError, TypeError):
                    continue  # a partial line written as the app was killed
        log.path = path
        return log

    def _journal(self, entry: dict) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"v": JOURNAL_VERSION, **entry}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # ----- editing -------------------------------------------------------------------------
    def do(self, action: Action) -> None:
        self.applied.append(action)
        self.undone.clear()
        self._journal({"op": "do", "action": action.to_json()})

    def undo(self) -> Action | None:
        if not self.applied:
            return None
        action = self.applied.pop()
        self.undone.append(action)
        self._journal({"op": "undo"})
        return action

    def redo(self) -> Action | None:
        if not self.undone:
            return None
        action = self.undone.pop()
        self.applied.append(action)
        self._journal({"op": "redo"})
        return action

    def can_undo(self) -> bool:
        return bool(self.applied)

    def can_redo(self) -> bool:
        return bool(self.undone)

    def __len__(self) -> int:
        return len(self.applied)

    # ----- meaning ---------------------------------------------------------------------------
    def resolve(self, texts: Sequence[str], index: "KeyIndex | None" = None) -> "ResolvedDecisions":
        """Turn the applied actions into row-level constraints for these texts.

        ``index`` is ``key_index(texts)``, computed once per collection by callers that resolve
        after every decision (hashing 500,000 texts each time would be far too slow)."""
        rows_of = index if index is not None else key_index(texts)
        must: set[tuple[int, int]] = set()
        cannot: set[tuple[int, int]] = set()
        canonical: dict[str, int] = {}
        edits: dict[int, str] = {}
        confirmed: set[int] = set()
        def row_for(key: str, hint: int | None) -> int:
            candidates = rows_of[key]
            return hint if hint is not None and hint in candidates else candidates[0]

        for action in self.applied:
            hints = list(action.rows) + [None] * (len(action.keys) - len(action.rows))
            rows = [row_for(k, h) for k, h in zip(action.keys, hints) if k in rows_of]
            if action.kind in ("confirm", "merge") and len(rows) >= 2:
                must.update(_pair(rows[0], r) for r in rows[1:])
                cannot.difference_update(_pair(a, b) for a in rows for b in rows)
                if action.kind == "confirm":
                    confirmed.update(rows)
            elif action.kind == "split" and rows and action.keys[0] in rows_of:
                removed, others = rows[0], rows[1:]
                pairs = {_pair(removed, r) for r in others}
                cannot.update(pairs)
                must.difference_update(pairs)
                # a must-link chained through another row would defeat the split: drop those too
                must = {p for p in must if removed not in p}
                confirmed.discard(removed)
            elif action.kind == "canonical" and rows:
                canonical[action.keys[0]] = rows[0]
            elif action.kind == "edit" and rows:
                edits[rows[0]] = action.text
        return ResolvedDecisions(
            Constraints(must_link=tuple(sorted(must)), cannot_link=tuple(sorted(cannot)),
                        canonical=tuple(sorted(canonical.values()))),
            edits, frozenset(confirmed))


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


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True)
class ResolvedDecisions:
    constraints: Constraints
    edits: dict[int, str]  # row -> edited text of a canonical question
    confirmed_rows: frozenset[int]

    def labelled_pairs(self, texts: Sequence[str]) -> list[tuple[str, str, int]]:
        """The decisions as training pairs: must-links are duplicates (1), cannot-links are not (0)."""
        out = [(texts[a], texts[b], 1) for a, b in self.constraints.must_link]
        out += [(texts[a], texts[b], 0) for a, b in self.constraints.cannot_link]
        return out


def keys_of(texts: Sequence[str], rows: Iterable[int]) -> tuple[str, ...]:
    return tuple(text_key(texts[int(r)]) for r in rows)


def action_for(kind: str, texts: Sequence[str], rows: Iterable[int], label: str = "", text: str = "") -> Action:
    rows = tuple(int(r) for r in rows)
    return Action(kind, keys_of(texts, rows), text, label, rows)
