"""What changed: the Duplicates tab's page comparing the improved model with the one before.

The clusters that appear, disappear, grow, shrink or change, and the pairs that crossed the
threshold, each listed and browsable (its questions below, marked + joined, − left); then the
user keeps the new model or goes back.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MAX_PAIRS_SHOWN = 500
KIND_WORDS = {"appears": "New cluster", "disappears": "Cluster gone", "grows": "Grows", "shrinks": "Shrinks",
              "reshaped": "Changed"}


class ChangesPanel(QWidget):
    def __init__(self, tab) -> None:
        super().__init__()
        self.setObjectName("changes_panel")
        self._tab = tab
        self.comparison = None
        self.result = None  # the TrainingResult of the improved model
        self.summary_label = QLabel(objectName="changes_summary", wordWrap=True)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.change_table = _table("change_table", ["Change", "Before", "After", "Kept question"])
        self.pair_table = _table("crossed_table", ["Before", "After", "Question", "Other question"])
        self.members = QListWidget(objectName="change_members")
        self.members.setWordWrap(True)
        self.change_table.currentCellChanged.connect(lambda row, *_: self._show_change(row))
        self.pair_table.currentCellChanged.connect(lambda row, *_: self._show_pair(row))
        self.keep_button = QPushButton("&Keep the new model", objectName="keep_new_model_button")
        self.keep_button.setToolTip("Find duplicates with the improved model from now on")
        self.back_button = QPushButton("&Go back to the previous model", objectName="go_back_button")
        self.back_button.setToolTip("Keep the clusters of the model you had; the improved model stays in the model list")
        self.keep_button.clicked.connect(tab.keep_new_model)
        self.back_button.clicked.connect(tab.go_back_to_previous_model)

        lists = QSplitter(Qt.Orientation.Horizontal)
        for title, table in (("Clusters that changed", self.change_table),
                             ("Pairs that crossed the threshold", self.pair_table)):
            box = QWidget()
            inner = QVBoxLayout(box)
            inner.setContentsMargins(0, 0, 0, 0)
            inner.addWidget(QLabel(f"<b>{title}</b>"))
            inner.addWidget(table)
            lists.addWidget(box)
        below = QSplitter(Qt.Orientation.Vertical)
        below.addWidget(lists)
        below.addWidget(self.members)
        below.setSizes([300, 160])
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(below, 1)
        layout.addLayout(buttons)

    def set_comparison(self, comparison, result=None) -> None:
        self.comparison, self.result = comparison, result
        diff = comparison.diff
        texts = self._tab.session.display_texts()
        score = ""
        if result is not None and result.base is not None and result.trained is not None:
            score = (f"Held-out pairs ({result.n_eval_pairs:,}): AP {result.base.ap:.3f} → <b>{result.trained.ap:.3f}</b>. ")
        notes = "".join(f"<br>⚠ {html.escape(n)}" for n in (result.use_warnings() if result is not None else []))
        self.summary_label.setText(
            f"<b>The improved model at threshold {diff.threshold:.3f} ({diff.mode})</b>, your decisions applied to both. "
            f"{score}{html.escape(diff.summary())}.{notes}")
        self.change_table.setRowCount(len(diff.changes))
        for i, change in enumerate(diff.changes):
            cells = (KIND_WORDS[change.kind], str(change.size_before or "—"), str(change.size_after or "—"),
                     texts[change.canonical])
            for j, text in enumerate(cells):
                self.change_table.setItem(i, j, QTableWidgetItem(text))
        pairs = diff.crossed[:MAX_PAIRS_SHOWN]
        self.pair_table.setRowCount(len(pairs))
        for i, pair in enumerate(pairs):
            for j, text in enumerate((f"{pair.before:.3f}", f"{pair.after:.3f}", texts[pair.row1], texts[pair.row2])):
                self.pair_table.setItem(i, j, QTableWidgetItem(text))
        self.members.clear()
        if diff.changes:
            self.change_table.selectRow(0)
        elif pairs:
            self.pair_table.selectRow(0)

    def _show_change(self, row: int) -> None:
        if self.comparison is None or not 0 <= row < len(self.comparison.diff.changes):
            return
        change = self.comparison.diff.changes[row]
        texts = self._tab.session.display_texts()
        gained, lost = set(change.gained), set(change.lost)
        self.members.clear()
        rows = change.rows if change.kind != "disappears" else change.before
        for r in [*rows, *sorted(lost - set(rows))]:
            mark = "− " if r in lost or change.kind == "disappears" else "+ " if r in gained else "   "
            star = " ★" if r == change.canonical else ""
            self.members.addItem(f"{mark}{texts[r]}{star}   (row {r + 1:,})")

    def _show_pair(self, row: int) -> None:
        if self.comparison is None or not 0 <= row < min(len(self.comparison.diff.crossed), MAX_PAIRS_SHOWN):
            return
        pair = self.comparison.diff.crossed[row]
        texts = self._tab.session.display_texts()
        way = "now above the threshold: the new model calls them duplicates" if pair.joined else \
            "now below the threshold: the new model tells them apart"
        self.members.clear()
        self.members.addItem(f"Similarity {pair.before:.3f} → {pair.after:.3f}, {way}")
        for r in (pair.row1, pair.row2):
            self.members.addItem(f"   {texts[r]}   (row {r + 1:,})")


def _table(name: str, headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers), objectName=name)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(len(headers) - 2, QHeaderView.ResizeMode.Stretch)
    return table
