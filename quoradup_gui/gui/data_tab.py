"""Data tab: the loaded file, its detected role and columns, a summary and a lazy preview."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.wording import plural
from .jobs import Job, JobRunner
from .table_models import DataFrameModel
from .widgets import LengthHistogram

if TYPE_CHECKING:
    from ..core.ingest.dataset import DatasetView

ROLE_COLLECTION, ROLE_PAIRS = 0, 1
NO_COLUMN = "(none)"
FORMATS_HINT = "CSV, TSV, TXT, XLSX, Parquet or JSONL"


class DataTab(QWidget):
    """Loads files through the JobRunner and shows what was understood of them."""

    sig_view_changed = Signal(object)  # DatasetView
    sig_open_requested = Signal()
    sig_error_raised = Signal(str, object, str)  # title, exception or message, details (traceback)
    sig_load_failed = Signal(str)  # the file that could not be opened

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("data_tab")
        self._runner = runner
        self._job: Job | None = None
        self._view: DatasetView | None = None
        self._updating = False  # True while combos are filled from a view (no override then)
        self.last_error: str | None = None
        self._loading: Path | None = None  # the file a load job is reading

        self._stack = QStackedWidget()
        self._stack.addWidget(self._build_empty_page())
        self._stack.addWidget(self._build_content_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    # ----- building -------------------------------------------------------------------
    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        hint = QLabel(f"<h2>Drop a question file here</h2><p>{FORMATS_HINT}: a collection of "
                      "questions, or labelled pairs for training.</p>")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        button = QPushButton("Open a file…  (Ctrl+O)")
        button.clicked.connect(self.sig_open_requested)
        layout.addStretch(1)
        layout.addWidget(hint)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
        return page

    def _build_content_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)

        self.file_label = QLabel()
        self.file_label.setObjectName("file_label")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_label.setWordWrap(True)
        self.format_label = QLabel()
        self.format_label.setObjectName("format_label")
        self.format_label.setWordWrap(True)
        outer.addWidget(self.file_label)
        outer.addWidget(self.format_label)

        columns_row = QHBoxLayout()
        self.sheet_combo = QComboBox(objectName="sheet_combo")
        self.sheet_combo.setToolTip("The workbook sheet that is read")
        self._sheet_box = _labelled_row([("Sheet", self.sheet_combo)])
        columns_row.addWidget(self._sheet_box)
        self._sheet_box.hide()
        self.role_combo = QComboBox(objectName="role_combo")
        self.role_combo.addItems(["Question collection", "Labelled pairs"])
        self.role_combo.setToolTip("What this file is: questions to deduplicate, or labelled pairs to train and evaluate on")
        self.question_combo = QComboBox(objectName="question_column_combo")
        self.text1_combo = QComboBox(objectName="text1_combo")
        self.text2_combo = QComboBox(objectName="text2_combo")
        self.label_combo = QComboBox(objectName="label_combo")
        self._collection_box = _labelled_row([("Questions in column", self.question_combo)])
        self._pairs_box = _labelled_row([("Question 1", self.text1_combo), ("Question 2", self.text2_combo),
                                         ("Label", self.label_combo)])
        self.header_check = QCheckBox("First row is a header", objectName="header_check")
        self.header_check.setToolTip("Whether the first row holds column names (detected; untick it when the first "
                                     "row is data)")
        columns_row.addWidget(self.header_check)
        columns_row.addSpacing(16)
        columns_row.addWidget(QLabel("This file is a"))
        columns_row.addWidget(self.role_combo)
        columns_row.addSpacing(16)
        columns_row.addWidget(self._collection_box)
        columns_row.addWidget(self._pairs_box)
        columns_row.addStretch(1)
        outer.addLayout(columns_row)
        self._show_column_boxes(ROLE_COLLECTION)

        self.label_reading = QLabel(objectName="label_reading_label")
        self.label_reading.setWordWrap(True)
        self.label_reading.setToolTip("How the label column's values are read (the most frequent values)")
        self.label_reading.hide()
        outer.addWidget(self.label_reading)

        self.warnings_label = QLabel(objectName="warnings_label")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #7a4b00; background: #fff4d6; padding: 4px; border-radius: 3px;")
        self.warnings_label.hide()
        outer.addWidget(self.warnings_label)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        summary_box = QGroupBox("Summary")
        form = QVBoxLayout(summary_box)
        self.summary_label = QLabel(objectName="summary_label")
        self.summary_label.setWordWrap(True)
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.histogram = LengthHistogram()
        form.addWidget(self.summary_label)
        form.addWidget(QLabel("Question length (characters)"))
        form.addWidget(self.histogram)
        form.addStretch(1)
        summary_box.setMinimumWidth(260)

        self.model = DataFrameModel(self)
        self.table = QTableView(objectName="preview_table")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring at 500k rows
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        splitter.addWidget(summary_box)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        outer.addWidget(splitter, 1)

        self.sheet_combo.currentTextChanged.connect(self._on_sheet_combo_changed)
        self.header_check.toggled.connect(self._on_header_toggled)
        self.role_combo.currentIndexChanged.connect(self._on_role_combo_changed)
        self.question_combo.currentTextChanged.connect(self._on_column_combo_changed)
        for combo in (self.text1_combo, self.text2_combo, self.label_combo):
            combo.currentTextChanged.connect(self._on_column_combo_changed)
        return page

    # ----- public -----------------------------------------------------------------------
    def view(self) -> "DatasetView | None":
        return self._view

    def is_busy(self) -> bool:
        return self._job is not None

    def load(self, path: str | Path, sheet: str | None = None, header: bool | None = None) -> Job:
        """Read ``path`` (``sheet`` of a workbook; ``header``: is the first row a header, None to
        detect) in the background; the previous load, if any, is cancelled."""
        self._cancel_running()
        self.last_error = None
        self._loading = Path(path)
        job = self._runner.submit(f"Opening {Path(path).name}", _load_in_worker, Path(path), sheet, header, lane="io",
                                  on_result=self._on_view_ready, on_error=self._on_job_error)
        self._track(job)
        return job

    # ----- overrides ----------------------------------------------------------------------
    def _on_sheet_combo_changed(self, sheet: str) -> None:
        if self._updating or self._view is None or not sheet or sheet == self._view.table.format.sheet:
            return
        self.load(self._view.table.path, sheet)

    def _on_header_toggled(self, on: bool) -> None:
        if self._updating or self._view is None or on == self._view.table.format.has_header:
            return
        self.load(self._view.table.path, self._view.table.format.sheet, header=on)

    def _on_role_combo_changed(self, index: int) -> None:
        self._show_column_boxes(index)
        if self._updating or self._view is None:
            return
        if index == ROLE_PAIRS and self._view.table.role.value != "pairs":
            from ..core.ingest.dataset import suggested_pairs_view  # the best guess of the pair columns

            self._cancel_running()
            self._track(self._runner.submit("Reading the pairs", suggested_pairs_view, self._view.table, lane="io",
                                            on_result=self._on_view_ready, on_error=self._on_override_error))
            return
        self._on_column_combo_changed()

    def _on_column_combo_changed(self, *_args) -> None:
        if self._updating or self._view is None:
            return
        from ..core.ingest.dataset import override_collection, override_pairs
        from ..core.ingest.roles import PairColumns

        table = self._view.table
        if self.role_combo.currentIndex() == ROLE_COLLECTION:
            column = self.question_combo.currentText()
            if table.role.value == "collection" and column == table.question_column:
                return
            fn, arg = override_collection, column
        else:
            label = self.label_combo.currentText()
            current = table.pairs
            pairs = PairColumns(
                text1=self.text1_combo.currentText(), text2=self.text2_combo.currentText(),
                label=None if label == NO_COLUMN else label,
                negative=current.negative if current else None,
                qid1=current.qid1 if current else None, qid2=current.qid2 if current else None,
                layout=current.layout if current and (current.text1, current.text2) == (
                    self.text1_combo.currentText(), self.text2_combo.currentText()) else "custom",
            )
            if table.role.value == "pairs" and pairs == current:
                return
            fn, arg = override_pairs, pairs
        self._cancel_running()
        job = self._runner.submit("Applying columns", fn, table, arg, lane="io",
                                  on_result=self._on_view_ready, on_error=self._on_override_error)
        self._track(job)

    # ----- job results --------------------------------------------------------------------
    def _track(self, job: Job) -> None:
        self._job = job
        job.sig_done.connect(self._on_job_done)

    def _cancel_running(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _on_job_done(self) -> None:
        if self.sender() is self._job:
            self._job = None

    def _on_view_ready(self, view: "DatasetView") -> None:
        self._loading = None
        self._view = view
        self._show(view)
        self.sig_view_changed.emit(view)

    def _on_job_error(self, exc: BaseException, details: str = "") -> None:
        self.last_error = str(exc)
        self.sig_error_raised.emit("Could not open the file", exc, details)
        if self._loading is not None:
            self.sig_load_failed.emit(str(self._loading))

    def _on_override_error(self, exc: BaseException, details: str = "") -> None:
        self._on_job_error(exc, details)
        if self._view is not None:
            self._show(self._view)  # put the combos back to what is really in use

    # ----- showing --------------------------------------------------------------------------
    def _show(self, view: "DatasetView") -> None:
        table = view.table
        columns = [str(c) for c in table.frame.columns]
        is_pairs = table.role.value == "pairs"
        self._updating = True
        try:
            self.file_label.setText(f"<b>{table.path.name}</b> &nbsp; <span style='color:gray'>{table.path.parent}</span>")
            self.format_label.setText(
                f"{table.format.describe()} · {plural(table.n_rows, 'row')} · {plural(len(columns), 'column')}")
            sheets = list(table.format.sheets)
            _fill(self.sheet_combo, sheets, table.format.sheet)
            self.header_check.setChecked(table.format.has_header)
            self.header_check.setVisible(table.format.kind not in ("parquet", "jsonl"))
            self._sheet_box.setVisible(len(sheets) > 1)
            self.role_combo.setCurrentIndex(ROLE_PAIRS if is_pairs else ROLE_COLLECTION)
            _fill(self.question_combo, columns, table.question_column)
            pairs = table.pairs
            _fill(self.text1_combo, columns, pairs.text1 if pairs else None)
            _fill(self.text2_combo, columns, pairs.text2 if pairs else None)
            _fill(self.label_combo, [NO_COLUMN, *columns], (pairs.label if pairs else None) or NO_COLUMN)
            self._show_column_boxes(ROLE_PAIRS if is_pairs else ROLE_COLLECTION)
        finally:
            self._updating = False

        lines = []
        if view.pair_stats is not None:
            lines += view.pair_stats.describe_lines()
            lines.append("")
            lines.append("Distinct questions in the pairs:")
        lines += view.summary.describe_lines("question" if view.pair_stats is not None else "row")
        self.summary_label.setText("<br>".join(lines))
        reading = " · ".join(f"“{html.escape(v)}” → {r} ({n:,})" for v, r, n in view.label_preview)
        self.label_reading.setText(f"Labels read as: {reading}" if reading else "")
        self.label_reading.setVisible(bool(reading) and is_pairs)
        self.histogram.set_bins(view.summary.length_histogram)

        if table.warnings:
            self.warnings_label.setText("⚠ " + "<br>⚠ ".join(table.warnings))
            self.warnings_label.show()
        else:
            self.warnings_label.hide()

        highlight = {table.question_column} if not is_pairs else {
            c for c in (pairs.text1, pairs.text2, pairs.negative) if c}
        if self.model.rowCount() and self._shown_frame is table.frame:
            self.model.set_highlight(highlight)
        else:
            self.model.set_frame(table.frame, highlight)
            self._size_columns(columns, highlight)
        self._shown_frame = table.frame
        self._stack.setCurrentIndex(1)

    _shown_frame = None

    def _size_columns(self, columns: list[str], wide: set[str]) -> None:
        header = self.table.horizontalHeader()
        char = self.fontMetrics().averageCharWidth()
        widths = [char * (60 if name in wide else max(8, min(len(name) + 4, 24))) for name in columns]
        for i, width in enumerate(widths):
            header.resizeSection(i, width)
        wide_at = [i for i, name in enumerate(columns) if name in wide]
        QTimer.singleShot(0, lambda: self._widen_question_columns(widths, wide_at))  # once laid out

    def _widen_question_columns(self, widths: list[int], sections: list[int]) -> None:
        """Room to spare goes to the question columns (up to 120 characters each), not to the
        last column (which stretches)."""
        header = self.table.horizontalHeader()
        spare = self.table.viewport().width() - sum(widths)
        if spare <= 0 or not sections or header.count() != len(widths):
            return
        extra = min(spare // len(sections), self.fontMetrics().averageCharWidth() * 60)
        for i in sections:
            header.resizeSection(i, widths[i] + extra)

    def _show_column_boxes(self, role_index: int) -> None:
        self._collection_box.setVisible(role_index == ROLE_COLLECTION)
        self._pairs_box.setVisible(role_index == ROLE_PAIRS)


def _load_in_worker(path: Path, sheet: str | None, header: bool | None, ctx):
    # Imported here, on the worker thread: pandas must not load on the GUI thread at start-up.
    from ..core.ingest.dataset import load_dataset_view

    return load_dataset_view(path, ctx, sheet=sheet, header=header)


def _labelled_row(items: list[tuple[str, QComboBox]]) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for text, combo in items:
        # Long column names must not widen the window: show ~16 characters, the popup shows all.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(16)
        layout.addWidget(QLabel(text))
        layout.addWidget(combo)
    return box


def _fill(combo: QComboBox, items: list[str], current: str | None) -> None:
    combo.clear()
    combo.addItems(items)
    if current is not None and current in items:
        combo.setCurrentIndex(items.index(current))
