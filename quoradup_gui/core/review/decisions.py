"""Review decisions: must-link / cannot-link pairs, canonical choices and text edits, with undo.

Decisions name questions by a digest of their text, not by row number, so they survive a
threshold change, a re-run with another model and a re-opened file whose rows moved. They
autosave as an append-only journal (one fsynced JSON line per action, undo and redo
included): a killed app loses at most the action being written.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Literal, Sequence, get_args

from ..atomic import atomic_writer, describe_os_error
from ..errors import QuoradupError
from ..ingest.questions import KeyIndex, key_index
from ..mine.clustering import Constraints
from ..text import text_key

# Version 2 added the "answer" decision (Check pairs). A line is written with the oldest version
# that can read it, so a journal without answers stays readable by a quoradup that knows only 1.
JOURNAL_VERSION = 2


ActionKind = Literal["confirm", "unconfirm", "split", "merge", "canonical", "edit", "group", "answer"]
Verdict = Literal["duplicate", "not", "unsure"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
ACTION_KINDS: tuple[ActionKind, ...] = get_args(ActionKind)


@dataclass(frozen=True)
class Action:
    """One user decision; a gesture that makes several (a multi-member split, a drag-move) is one
    ``group`` action: one journal line, one undo step, one label in the Undo menu.

    kind: confirm | unconfirm | split | merge | canonical | edit | group | answer (a pair checked in
    Check pairs: ``keys`` the two questions, ``text`` the verdict, duplicate | not | unsure).
    """

    kind: ActionKind
    keys: tuple[str, ...]  # confirm/merge: the questions joined; split: (removed, *others); canonical/edit: (key,)
    text: str = ""  # edit: the new text of the canonical question; answer: the verdict
    label: str = ""  # what the Undo menu says
    # The row numbers the keys had when decided: used while they still hold those texts, so a
    # choice between rows with identical text stays exact; otherwise the first row with the text.
    rows: tuple[int, ...] = ()
    kept: int = -1  # confirm/split: index into keys of the cluster's kept question, which stays kept
    children: tuple["Action", ...] = ()  # group: the decisions of one gesture, in order

    def to_json(self) -> dict:
        data = {"kind": self.kind, "keys": list(self.keys), "text": self.text, "label": self.label,
                "rows": list(self.rows)}
        if self.kept >= 0:
            data["kept"] = self.kept
        if self.children:
            data["children"] = [child.to_json() for child in self.children]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Action":
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or data.get("kind") not in ACTION_KINDS:
            raise ValueError("not an action")
        children = tuple(cls.from_json(child) for child in data.get("children", ()))
        if data["kind"] == "answer" and (len(data["keys"]) != 2 or data.get("text") not in VERDICTS):
            raise ValueError("not an answer")
        return cls(str(data["kind"]), tuple(map(str, data["keys"])), str(data.get("text", "")),
                   str(data.get("label", "")), tuple(int(r) for r in data.get("rows", ())), int(data.get("kept", -1)),
                   children)

    @property
    def version(self) -> int:
        """The oldest journal version that can read this action."""
        return 2 if any(leaf.kind == "answer" for leaf in self.leaves()) else 1

    def leaves(self) -> tuple["Action", ...]:
        return tuple(leaf for child in self.children for leaf in child.leaves()) if self.kind == "group" else (self,)


def group(actions: Sequence[Action], label: str) -> Action:
    """One gesture's decisions as one action (a single decision stays itself, relabelled)."""
    if len(actions) == 1:
        return replace(actions[0], label=label)
    return Action("group", (), label=label, children=tuple(actions))


class DecisionNotSaved(QuoradupError):
    """A decision could not be written to disk, so it was not made."""


class JournalTooNew(QuoradupError):
    """The journal was written by a newer quoradup; appending to it could corrupt it."""


def _write_all(fd: int, data: bytes) -> None:
    """os.write until everything is written (tests replace it to inject a full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@dataclass
class DecisionLog:
    """The applied actions plus a redo stack; optionally journaled to ``path``.

    A decision counts as made only once its journal line is on disk (written and fsynced):
    ``do``, ``undo`` and ``redo`` write first and change the log after, and raise
    DecisionNotSaved when the write fails. A failed write's torn tail is cut off before the
    next line is appended, so the next decision is never glued to it.
    """

    path: Path | None = None
    applied: list[Action] = field(default_factory=list)
    undone: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what opening the journal had to tell the user
    _good_end: int = 0  # bytes of the journal that hold whole, acknowledged lines

    # ----- persistence ---------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> "DecisionLog":
        """Replay the journal at ``path``: every good entry; damaged ones are set aside in a side file."""
        log = cls(path=None)
        path = Path(path)
        try:
            data = path.read_bytes() if path.exists() else None
        except OSError as exc:
            raise QuoradupError(f"The saved review decisions ({path}) cannot be read: {describe_os_error(exc)}.",
                                "Check the disk and its permissions, then open the file again.") from exc
        if data is not None:
            if not data:
                log.notes.append(f"The saved review decisions of this file were empty (0 bytes, {path.name}): an "
                                 "earlier save may have failed, so no decisions were restored.")
            good, bad = log._replay(data)
            if bad:
                log._set_aside(path, good, bad)
        log.path = path
        log._good_end = path.stat().st_size if path.exists() else 0
        return log

    def _replay(self, data: bytes) -> tuple[list[bytes], list[bytes]]:
        """Apply every readable entry; (good lines, bad lines). A newer version is refused whole."""
        good, bad = [], []
        pieces = data.split(b"\n")
        for i, raw in enumerate(pieces):
            if not raw.strip():
                continue
            torn = i == len(pieces) - 1  # no line end: the write of this line never finished
            entry = None if torn else _parse_entry(raw)
            if entry is None:
                bad.append(raw)
                continue
            version = entry.get("v", 1)
            if version > JOURNAL_VERSION:
                raise JournalTooNew(
                    f"These review decisions were saved by a newer version of quoradup (journal version {version}; "
                    f"this one reads version {JOURNAL_VERSION}).",
                    "Update quoradup to review this file; the decisions are left as they are.")
            try:
                op = entry["op"]
                if op == "do":
                    self.do(Action.from_json(entry["action"]))
                elif op == "undo":
                    self.undo()
                elif op == "redo":
                    self.redo()
                else:
                    raise ValueError(op)
            except (ValueError, KeyError, TypeError, AttributeError):
                bad.append(raw)
                continue
            good.append(raw)
        return good, bad

    def _set_aside(self, path: Path, good: list[bytes], bad: list[bytes]) -> None:
        """Move damaged lines into a side file and keep only the good ones in the journal (atomically)."""
        side = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
        try:
            with atomic_writer(side, "wb") as fh:
                fh.write(b"\n".join(bad) + b"\n")
            with atomic_writer(path, "wb") as fh:
                fh.write(b"".join(line + b"\n" for line in good))
            where = f"set aside in {side}"
        except OSError as exc:
            where = f"left in place ({describe_os_error(exc)} while setting them aside)"
        n = len(bad)
        self.notes.append(f"{n:,} saved review entr{'y' if n == 1 else 'ies'} of this file could not be read "
                          f"(damaged, or cut off when the app stopped) and {'was' if n == 1 else 'were'} {where}; "
                          f"the other {len(good):,} {'was' if len(good) == 1 else 'were'} restored.")

    def _journal(self, entry: dict, version: int = 1) -> None:
        """Append one line durably, or raise DecisionNotSaved (the log is then left unchanged)."""
        if self.path is None:
            return
        line = (json.dumps({"v": version, **entry}, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
            try:
                size = os.fstat(fd).st_size
                if size > self._good_end:  # the torn tail of a write that failed
                    os.ftruncate(fd, self._good_end)
                else:
                    self._good_end = size
                os.lseek(fd, self._good_end, os.SEEK_SET)
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            with suppress(OSError):
                os.truncate(self.path, self._good_end)
            raise DecisionNotSaved(f"This decision was not saved: {describe_os_error(exc)}.",
                                   f"Your earlier decisions are safe in {self.path}. Free some space or fix the "
                                   "folder's permissions, then make the decision again.") from exc
        self._good_end += len(line)

    # ----- editing -------------------------------------------------------------------------
    def do(self, action: Action) -> None:
        self._journal({"op": "do", "action": action.to_json()}, action.version)
        self.applied.append(action)
        self.undone.clear()

    def undo(self) -> Action | None:
        if not self.applied:
            return None
        self._journal({"op": "undo"})
        action = self.applied.pop()
        self.undone.append(action)
        return action

    def redo(self) -> Action | None:
        if not self.undone:
            return None
        self._journal({"op": "redo"})
        action = self.undone.pop()
        self.applied.append(action)
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
        must: dict[tuple[int, int], str] = {}  # pair -> the kind of decision that joined it
        cannot: set[tuple[int, int]] = set()
        canonical: dict[str, tuple[int, str]] = {}  # key -> (row, the kind of decision that chose it)
        edits: dict[int, str] = {}
        pins: list[set[int]] = []  # each confirmation: the members the user saw
        answers: dict[tuple[int, int], int] = {}  # pair -> 1 duplicate, 0 not, -1 unsure (the latest answer)

        def row_for(key: str, hint: int | None) -> int:
            candidates = rows_of[key]
            return hint if hint is not None and hint in candidates else candidates[0]

        for action in (leaf for applied in self.applied for leaf in applied.leaves()):
            hints = list(action.rows) + [None] * (len(action.keys) - len(action.rows))
            known = [(i, row_for(k, h)) for i, (k, h) in enumerate(zip(action.keys, hints)) if k in rows_of]
            rows = [r for _, r in known]
            kept = next((r for i, r in known if i == action.kept), None)
            if action.kind in ("confirm", "merge") and len(rows) >= 2:
                for r in rows[1:]:
                    must.setdefault(_pair(rows[0], r), action.kind)
                cannot.difference_update(_pair(a, b) for a in rows for b in rows)
                if action.kind == "confirm":
                    pins = [p for p in pins if not p <= set(rows)]
                    pins.append(set(rows))
            elif action.kind == "unconfirm" and rows:
                members = set(rows)
                must = {p: kind for p, kind in must.items() if kind != "confirm" or not set(p) <= members}
                pins = [p for p in pins if not p <= members]
                canonical = {k: v for k, v in canonical.items() if v[1] != "confirm" or v[0] not in members}
                kept = None
            elif action.kind == "split" and rows and action.keys[0] in rows_of:
                removed, others = rows[0], rows[1:]
                pairs = {_pair(removed, r) for r in others}
                cannot.update(pairs)
                # a must-link chained through another row would defeat the split: drop those too
                must = {p: kind for p, kind in must.items() if removed not in p}
                for pin in pins:
                    pin.discard(removed)
                pins = [p for p in pins if len(p) >= 2]
                if kept == removed:
                    kept = None
            elif action.kind == "answer" and len(rows) == 2 and rows[0] != rows[1]:
                pair = _pair(rows[0], rows[1])
                verdict = {"duplicate": 1, "not": 0}.get(action.text, -1)
                answers[pair] = verdict
                if verdict == 1:
                    must.setdefault(pair, "answer")
                    cannot.discard(pair)
                elif verdict == 0:
                    must.pop(pair, None)
                    cannot.add(pair)
            elif action.kind == "canonical" and rows:
                canonical[action.keys[0]] = (rows[0], "canonical")
            elif action.kind == "edit" and rows:
                edits[rows[0]] = action.text
            if kept is not None and action.kind in ("confirm", "split"):
                # The kept question stays kept until the user chooses another (or takes it out).
                key = action.keys[action.kept]
                if canonical.get(key, (None, ""))[1] != "canonical":
                    canonical[key] = (kept, action.kind)
        confirmed = frozenset(r for p in pins for r in p)
        chosen = sorted(row for row, kind in canonical.values() if kind == "canonical")
        kept_rows = sorted(row for row, kind in canonical.values() if kind != "canonical")
        return ResolvedDecisions(
            Constraints(must_link=tuple(sorted(must)), cannot_link=tuple(sorted(cannot)), canonical=tuple(chosen),
                        kept=tuple(kept_rows)),
            edits, confirmed, tuple(frozenset(p) for p in pins), answers)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True)
class ResolvedDecisions:
    constraints: Constraints
    edits: dict[int, str]  # row -> edited text of a canonical question
    confirmed_rows: frozenset[int]  # every row a confirmation pinned
    confirmed_groups: tuple[frozenset[int], ...] = ()  # each confirmation: the members the user saw
    answers: dict[tuple[int, int], int] = field(default_factory=dict)  # Check pairs: 1 duplicate, 0 not, -1 unsure

    def answer_counts(self) -> tuple[int, int, int]:
        """(duplicates, not duplicates, unsure) among the pairs answered in Check pairs."""
        values = list(self.answers.values())
        return values.count(1), values.count(0), values.count(-1)

    def labelled_pairs(self, texts: Sequence[str]) -> list[tuple[str, str, int]]:
        """The decisions as training pairs: must-links are duplicates (1), cannot-links are not (0)."""
        out = [(texts[a], texts[b], 1) for a, b in self.constraints.must_link]
        out += [(texts[a], texts[b], 0) for a, b in self.constraints.cannot_link]
        return out


def _parse_entry(raw: bytes) -> dict | None:
    """One journal line as a dict with a known op and an integer version, else None."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("op") not in ("do", "undo", "redo"):
        return None
    version = entry.get("v", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return None
    return entry


def keys_of(texts: Sequence[str], rows: Iterable[int]) -> tuple[str, ...]:
    return tuple(text_key(texts[int(r)]) for r in rows)


def action_for(kind: ActionKind, texts: Sequence[str], rows: Iterable[int], label: str = "", text: str = "",
               kept: int = -1) -> Action:
    rows = tuple(int(r) for r in rows)
    return Action(kind, keys_of(texts, rows), text, label, rows, kept)
