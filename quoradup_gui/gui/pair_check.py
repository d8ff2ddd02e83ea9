"""Check pairs: the Duplicates tab's mode that asks about one candidate pair at a time.

The pairs come from core.review.queue (worked out on the cluster lane); each answer is one
session gesture (one journal entry, one undo), applied to the clusters at once. Keys: Y duplicate,
N not a duplicate, U unsure, S skip; Ctrl+Z undoes the last answer and asks it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.wording import plural

if TYPE_CHECKING:
    from ..core.review.queue import QueuePair

BATCH = 20  # pairs worked out at a time; more are asked for when few are left, so the queue follows
# the answers (where the model is unsure moves with them: core.review.queue.even_score)
REFILL_BELOW = 5


class PairCheckPanel(QWidget):
    sig_pair_shown = Signal(object)  # QueuePair or None (nothing left to ask)

    def __init__(self, tab) -> None:
        super().__init__()
        self.setObjectName("pair_check")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._tab = tab
        self._pairs: list[QueuePair] = []
        self._skipped: set[tuple[int, int]] = set()
        self._job = None
        self._refill_when_done = False
        self._built_at: float | None = None  # the threshold the queue was worked out at
        self.current: QueuePair | None = None

        self.count_label = QLabel(objectName="answer_count_label")
        self.count_label.setMinimumWidth(  # room for the longest count: it grows with every answer
            self.count_label.fontMetrics().horizontalAdvance("00,000 answered · 00,000 duplicates · 00,000 not · "
                                                             "00,000 unsure"))
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        title = QLabel("<b>Are these two questions duplicates?</b>")
        self.text_labels = []
        self.row_labels = []
        boxes = QVBoxLayout()
        for which in ("a", "b"):
            text = QLabel(objectName=f"pair_text_{which}", wordWrap=True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setTextFormat(Qt.TextFormat.PlainText)  # a question such as "<b>why</b>?" is shown as typed
            font = QFont(text.font())
            font.setPointSizeF(font.pointSizeF() * 1.25)
            text.setFont(font)
            row = QLabel(objectName=f"pair_row_{which}")
            row.setStyleSheet("color: #666;")
            frame = QFrame(frameShape=QFrame.Shape.StyledPanel)
            inner = QVBoxLayout(frame)
            inner.addWidget(row)
            inner.addWidget(text)
            boxes.addWidget(frame)
            self.text_labels.append(text)
            self.row_labels.append(row)
        self.info_label = QLabel(objectName="pair_info_label", wordWrap=True)

        buttons = QHBoxLayout()
        self.buttons = {}
        for key, name, label, tip in (
                ("Y", "duplicate", "&Yes, duplicates", "The two ask the same thing: keep them in one cluster (Y)"),
                ("N", "not", "&No, not duplicates", "They ask different things: never in one cluster (N)"),
                ("U", "unsure", "&Unsure", "Cannot tell: not asked again, not learnt from (U)"),
                ("S", "skip", "&Skip", "Ask about this pair later (S)")):
            button = QPushButton(label, objectName=f"answer_{name}_button")
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, n=name: self.answer(n))
            buttons.addWidget(button)
            self.buttons[name] = button
            act = QAction(label.replace("&", ""), self, shortcut=QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _c=False, n=name: self.answer(n))
            self.addAction(act)
        buttons.addStretch(1)
        self.undo_button = QPushButton("Undo (Ctrl+Z)", objectName="answer_undo_button")
        self.undo_button.clicked.connect(tab.undo)
        buttons.addWidget(self.undo_button)

        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.count_label)
        layout.addLayout(header)
        layout.addLayout(boxes)
        layout.addWidget(self.info_label)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._show(None, "Press <b>Find duplicates</b> first: the pairs to check come from its clusters.")

    # ----- the queue --------------------------------------------------------------------------
    def start(self) -> None:
        """Shown: ask about the next pair (work out a queue when there is none)."""
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.update_count()
        if self.current is None or self._is_decided(self.current):
            self._next()

    def reset(self) -> None:
        """A new file, model or threshold: the queue is worked out again."""
        self._pairs, self.current = [], None
        if self._job is not None:
            self._job.cancel()
            self._job = None
        if self.isVisible():
            self._next()

    def refill(self) -> None:
        tab = self._tab
        if tab.session is None or tab.session.mined is None or tab.session.clustering is None:
            self._show(None, "Press <b>Find duplicates</b> first: the pairs to check come from its clusters.")
            return
        if self._job is not None:
            self._refill_when_done = True
            return
        session = tab.session
        shown = {(p.row1, p.row2) for p in self._pairs} | self._skipped
        if self.current is not None:
            shown.add((self.current.row1, self.current.row2))
        self._built_at = tab.threshold()
        self._job = tab._runner.submit("Choosing pairs to check", _queue_in_worker, session.mined, session.clustering,
                                       session.resolved, BATCH, tab.threshold(), frozenset(shown), lane="cluster",
                                       on_result=lambda pairs, s=session: self._on_queue(pairs, s),
                                       on_error=tab._error_handler("Choosing pairs to check failed"))
        self._job.sig_done.connect(self._on_job_done)
        if self.current is None:
            self._show(None, "Choosing the pairs worth checking…")

    def _on_job_done(self) -> None:
        self._job = None
        if self._refill_when_done:
            self._refill_when_done = False
            self.refill()

    def _on_queue(self, pairs, session) -> None:
        if session is not self._tab.session:
            return
        known = {(p.row1, p.row2) for p in self._pairs}
        self._pairs += [p for p in pairs if (p.row1, p.row2) not in known]
        if self.current is None:
            self._next(refill=False)
            if self.current is None:
                if self._skipped:
                    self._skipped.clear()  # the skipped ones come round again
                    self.refill()
                    return
                self._show(None, "No pairs are left to check near this threshold: every candidate pair is "
                                 "answered or follows from your decisions. Move the threshold to check others.")

    def _is_decided(self, pair: QueuePair) -> bool:
        from ..core.review.queue import DecidedPairs

        session = self._tab.session
        return session is None or (pair.row1, pair.row2) in DecidedPairs(session.resolved, session.collection.n)

    def _next(self, refill: bool = True) -> None:
        from ..core.review.queue import DecidedPairs

        if self._built_at is not None and abs(self._built_at - self._tab.threshold()) > 1e-9:
            self._pairs = []  # the threshold moved: other pairs are near it now
        session = self._tab.session
        decided = DecidedPairs(session.resolved, session.collection.n) if session is not None else None
        while self._pairs and decided is not None and (self._pairs[0].row1, self._pairs[0].row2) in decided:
            self._pairs.pop(0)
        self.current = self._pairs.pop(0) if self._pairs else None
        if self.current is not None:
            self._show(self.current)
        if refill and len(self._pairs) < REFILL_BELOW:
            self.refill()

    # ----- answering --------------------------------------------------------------------------
    def answer(self, verdict: str) -> None:
        pair, tab = self.current, self._tab
        if pair is None or tab.session is None:
            return
        if verdict == "skip":
            self._skipped.add((pair.row1, pair.row2))
            tab.sig_status_message.emit("Skipped: this pair is asked again later.")
        elif not tab._gesture(tab.session.answer, pair.row1, pair.row2, verdict):
            return  # not saved: the banner says why, and the pair stays
        self.current = None
        self.update_count()
        self._next()

    def after_undo(self, action) -> None:
        """Ctrl+Z took an answer back: ask about that pair again, first."""
        from ..core.review.queue import QueuePair

        if action is None or action.kind != "answer" or len(action.rows) != 2:
            self.update_count()
            return
        session = self._tab.session
        a, b = sorted(action.rows)
        score = 0.0
        if session.mined is not None:
            score = float(session.mined.embeddings[a] @ session.mined.embeddings[b])
        together = bool(session.clustering is not None and session.clustering.labels[a] == session.clustering.labels[b])
        if self.current is not None:
            self._pairs.insert(0, self.current)
        self.current = QueuePair(a, b, score, together)
        self._show(self.current)
        self.update_count()

    def update_count(self) -> None:
        session = self._tab.session
        if session is None:
            self.count_label.clear()
            return
        dup, not_dup, unsure = session.resolved.answer_counts()
        text = f"{dup + not_dup + unsure:,} answered · {plural(dup, 'duplicate')} · {not_dup:,} not"
        self.count_label.setText(text + (f" · {unsure:,} unsure" if unsure else ""))

    # ----- showing ----------------------------------------------------------------------------
    def _show(self, pair: QueuePair | None, message: str = "") -> None:
        tab = self._tab
        for name, button in self.buttons.items():
            button.setEnabled(pair is not None)
        if pair is None:
            for label in (*self.text_labels, *self.row_labels):
                label.clear()
            self.info_label.setText(message)
        else:
            texts = tab.session.display_texts()
            for row, text_label, row_label in zip((pair.row1, pair.row2), self.text_labels, self.row_labels):
                text_label.setText(texts[row] or "(blank)")
                row_label.setText(f"Row {row + 1:,}")
            where = "in one cluster" if pair.together else "in different clusters"
            t = tab.threshold()
            side = "above" if pair.score >= t else "below"
            self.info_label.setText(f"Similarity <b>{pair.score:.3f}</b>, {side} the threshold {t:.3f}; now {where}. "
                                    "Y duplicate · N not · U unsure · S skip · Ctrl+Z undo")
        self.sig_pair_shown.emit(pair)


def _queue_in_worker(mined, clustering, resolved, n, threshold, skip, ctx):
    from ..core.review.queue import pair_queue

    return pair_queue(mined, clustering, resolved, n, threshold, skip)
