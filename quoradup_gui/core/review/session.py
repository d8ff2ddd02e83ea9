"""``ReviewSession``: one collection under review, Qt-free, shared by the window and the CLI.

A session owns the rows under review (:class:`~quoradup_gui.core.ingest.questions.QuestionSet`), the decision journal, the mined
collection once "Find duplicates" ran, and the clustering the user is looking at. Each user
gesture is one method and one journal entry (a group of decisions where the gesture makes
several), so one Undo takes the whole gesture back. Views read immutable values: the clustering,
the display texts and :meth:`marks`. Opening another collection closes the session; a closed
session refuses every change, so an Undo can never reach into another file's journal.

The rules a reviewer relies on:
- a confirmation pins the members the user saw; a question that joins the cluster later (a new
  model, a lower threshold) is *new*: the cluster shows "confirmed, N new" until it is confirmed
  again;
- the kept question (★) changes only when the user chooses one, or takes the kept question itself
  out (the message says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import QuoradupError
from ..ingest.questions import QuestionSet
from ..mine.defaults import DEFAULT_MODE
from .collection import ExportKind, export_review, session_path
from .decisions import VERDICTS, Action, ActionKind, DecisionLog, ResolvedDecisions, Verdict, action_for, group

ANSWER_LABELS: dict[str, str] = {"duplicate": "duplicate pair", "not": "not a duplicate pair", "unsure": "unsure pair"}

if TYPE_CHECKING:
    from ..jobs import JobContext
    from ..mine.clustering import CanonicalPolicy, Clustering, ClusterMode
    from ..mine.mining import MinedCollection


class SessionClosed(QuoradupError):
    """A change was asked of a session whose collection is no longer open."""


@dataclass(frozen=True)
class Marks:
    """What the views show of the decisions on one clustering."""

    confirmed: np.ndarray  # bool (n_clusters,): the cluster holds a confirmation
    n_new: np.ndarray  # int (n_clusters,): members of a confirmed cluster nobody confirmed
    new_rows: frozenset[int]  # those members

    def describe(self, cluster_id: int) -> str:
        if not self.confirmed[cluster_id]:
            return ""
        n = int(self.n_new[cluster_id])
        return "confirmed" if n == 0 else f"confirmed, {n:,} new"


class ReviewSession:
    def __init__(self, collection: QuestionSet, log: DecisionLog) -> None:
        self.collection = collection
        self.log = log
        self.resolved: ResolvedDecisions = log.resolve(collection.texts, collection.key_index)
        self.mined: MinedCollection | None = None
        self.clustering: Clustering | None = None  # the one the user sees; gestures name its clusters
        self.closed = False

    @classmethod
    def open(cls, source, journal: Path | str | bool = True) -> ReviewSession:
        """A session for a loaded table or DatasetView. ``journal``: True for the collection's own
        autosaved decisions (what the app keeps), a path for another journal, False for none."""
        collection = source if isinstance(source, QuestionSet) else getattr(source, "questions", None) \
            or QuestionSet.from_table(getattr(source, "table", source))
        if journal is False:
            log = DecisionLog()
        else:
            path = session_path(collection.path, collection.column) if journal is True else Path(journal)
            log = DecisionLog.open(path)
        return cls(collection, log)

    def close(self) -> None:
        self.closed = True

    @property
    def path(self) -> Path:
        return self.collection.path

    # ----- mining and clustering -------------------------------------------------------------
    def set_mined(self, mined: MinedCollection) -> None:
        self.mined, self.clustering = mined, None

    def cluster(self, threshold: float, mode: ClusterMode = DEFAULT_MODE, canonical_policy: CanonicalPolicy = "central",
                resolved: ResolvedDecisions | None = None, ctx: JobContext | None = None) -> Clustering:
        """The clustering at ``threshold`` with the decisions applied (safe to run on a worker:
        pass the ``resolved`` decisions of the moment; the session is not changed)."""
        if self.mined is None:
            raise QuoradupError("Find duplicates first: nothing has been mined yet.")
        constraints = (resolved or self.resolved).constraints
        return self.mined.cluster(threshold, mode=mode, canonical_policy=canonical_policy, constraints=constraints,
                                  ctx=ctx)

    def show(self, clustering: Clustering) -> None:
        """The clustering the user now sees: gestures name its clusters."""
        self.clustering = clustering

    # ----- what the views show ---------------------------------------------------------------
    def display_texts(self) -> Sequence[str]:
        if not self.resolved.edits:
            return self.collection.texts
        texts = list(self.collection.texts)
        for row, text in self.resolved.edits.items():
            texts[row] = text
        return texts

    def marks(self, clustering: Clustering) -> Marks:
        n = clustering.n_clusters
        pinned = np.zeros(clustering.n, bool)
        confirmed = np.zeros(n, bool)
        for pin in self.resolved.confirmed_groups:
            rows = np.fromiter(pin, np.int64, len(pin))
            labels = clustering.labels[rows]
            # Members split apart by a later decision no longer make a confirmation together.
            majority = np.bincount(labels).argmax()
            confirmed[majority] = True
            pinned[rows[labels == majority]] = True
        in_confirmed = confirmed[clustering.labels]
        new = in_confirmed & ~pinned
        n_new = np.bincount(clustering.labels[new], minlength=n)
        return Marks(confirmed, n_new, frozenset(np.flatnonzero(new).tolist()))

    def can_undo(self) -> bool:
        return not self.closed and self.log.can_undo()

    def can_redo(self) -> bool:
        return not self.closed and self.log.can_redo()

    def undo_label(self) -> str:
        return self.log.applied[-1].label if self.can_undo() else ""

    def redo_label(self) -> str:
        return self.log.undone[-1].label if self.can_redo() else ""

    # ----- gestures: each is one journal entry and one undo step -----------------------------
    def confirm(self, cluster_id: int) -> str:
        rows, kept = self._members(cluster_id)
        if len(rows) < 2:
            return ""
        ordered = [kept] + [r for r in rows if r != kept]
        self._do(self._action("confirm", ordered, f"confirm cluster of {len(rows)}", kept=0))
        return f"Confirmed a cluster of {len(rows)} questions: they stay together at any threshold."

    def unconfirm(self, cluster_id: int) -> str:
        rows, _ = self._members(cluster_id)
        pinned = [r for r in rows if r in self.resolved.confirmed_rows]
        if not pinned:
            return ""
        self._do(self._action("unconfirm", pinned, f"unconfirm cluster of {len(rows)}"))
        return "Unconfirmed the cluster: the threshold decides its members again."

    def split(self, cluster_id: int, members: Sequence[int]) -> str:
        """The selected members are not duplicates of the rest of their cluster."""
        rows, kept = self._members(cluster_id)
        out = [int(m) for m in members if int(m) in set(rows)]
        if not out:
            return ""
        stay = [r for r in rows if r not in set(out)]
        if kept in out and stay:  # the kept question goes: the cluster gets another one, and says so
            actions = [self._action("split", [m, *stay], "not a duplicate") for m in out]
            message = "The kept question was taken out: the cluster keeps another question now (★)."
        else:
            ordered = [kept] + [r for r in stay if r != kept]
            actions = [self._action("split", [m, *ordered], "not a duplicate", kept=1) for m in out]
            message = f"Took {len(out)} question{'s' if len(out) != 1 else ''} out of the cluster."
        self._do(group(actions, "not a duplicate" if len(out) == 1 else f"{len(out)} not duplicates"))
        return message

    def merge(self, cluster_ids: Sequence[int]) -> str:
        ids = sorted({int(c) for c in cluster_ids})
        if len(ids) < 2 or self.clustering is None:
            return ""
        canonicals = [int(self.clustering.canonical[c]) for c in ids]
        self._do(self._action("merge", canonicals, f"merge {len(ids)} clusters"))
        return f"Merged {len(ids)} clusters."

    def move(self, members: Sequence[int], target_cluster: int) -> str:
        """Members dragged onto another cluster: not duplicates of their old cluster, duplicates of the new."""
        if self.clustering is None:
            return ""
        target = int(self.clustering.canonical[target_cluster])
        actions: list[Action] = []
        for row in (int(m) for m in members):
            old = [int(r) for r in self.clustering.members(int(self.clustering.labels[row])) if r != row]
            if int(self.clustering.labels[row]) == target_cluster:
                continue  # already there
            if old:
                actions.append(self._action("split", [row, *old], "move out"))
            actions.append(self._action("merge", [target, row], "move into cluster"))
        if not actions:
            return ""
        n = len(members)
        self._do(group(actions, f"move {n} question{'s' if n != 1 else ''}"))
        return f"Moved {n} question{'s' if n != 1 else ''} into another cluster."

    def answer(self, row1: int, row2: int, verdict: Verdict) -> str:
        """A pair checked in Check pairs (or read from an answers file): duplicate (a must-link),
        not (a cannot-link) or unsure (asked no more, learnt nothing from). One entry, one undo."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        a, b = sorted((int(row1), int(row2)))
        if a == b or not 0 <= a < len(self.collection.texts) or b >= len(self.collection.texts):
            return ""
        self._do(self._action("answer", [a, b], ANSWER_LABELS[verdict], text=verdict))
        return f"Recorded: {ANSWER_LABELS[verdict]}."

    def keep(self, row: int) -> str:
        self._do(self._action("canonical", [int(row)], "choose kept question"))
        return "The export keeps this question for its cluster."

    def edit(self, cluster_id: int, text: str) -> str:
        text = text.strip()
        if not text or self.clustering is None:
            return ""
        self._do(self._action("edit", [int(self.clustering.canonical[cluster_id])], "edit kept question", text=text))
        return "The export writes the edited text for this cluster's kept question."

    def undo(self) -> str:
        if not self.can_undo():
            return ""
        self._check_open()
        action = self.log.undo()
        self._resolve()
        return f"Undid: {action.label}" if action else ""

    def redo(self) -> str:
        if not self.can_redo():
            return ""
        self._check_open()
        action = self.log.redo()
        self._resolve()
        return f"Redid: {action.label}" if action else ""

    # ----- export ----------------------------------------------------------------------------
    def export(self, kind: ExportKind, path: str | Path, clustering: Clustering | None = None, overwrite_input: bool = False,
               raw_text: bool = False):
        clustering = clustering or self.clustering
        if clustering is None:
            raise QuoradupError("Find duplicates first: there is nothing to export yet.")
        return export_review(kind, Path(path), self.collection, clustering, self.resolved, overwrite_input,
                             raw_text=raw_text)

    # ----- inside ----------------------------------------------------------------------------
    def _members(self, cluster_id: int) -> tuple[list[int], int]:
        if self.clustering is None:
            raise QuoradupError("Find duplicates first: there are no clusters to review yet.")
        rows = [int(r) for r in self.clustering.members(int(cluster_id))]
        return rows, int(self.clustering.canonical[int(cluster_id)])

    def _action(self, kind: ActionKind, rows: Sequence[int], label: str, text: str = "", kept: int = -1) -> Action:
        return action_for(kind, self.collection.texts, rows, label, text, kept)

    def _do(self, action: Action) -> None:
        self._check_open()
        self.log.do(action)  # raises DecisionNotSaved, and then nothing changed
        self._resolve()

    def _resolve(self) -> None:
        self.resolved = self.log.resolve(self.collection.texts, self.collection.key_index)

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosed(f"{self.collection.path.name} is no longer open, so this change was not made.")
