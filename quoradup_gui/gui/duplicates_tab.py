"""Duplicates tab: find duplicates, tune the threshold, review clusters, export.

Mining runs once per collection and model (a job on the model lane; cached on disk).
The threshold slider, the mode switch and every review decision only re-cluster the cached
graph, on the "cluster" lane, latest request wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .cluster_models import MEMBER_MIME, ClusterListModel, MemberModel
from .jobs import Job, JobRunner
from .widgets import SimilarityHistogram

if TYPE_CHECKING:
    from ..core.ingest.dataset import DatasetView
    from ..core.mine.clustering import Clustering
    from ..core.mine.mining import MinedCollection
    from ..core.review.session import ReviewSession

DEFAULT_MODEL_LABEL = "default (all-MiniLM-L6-v2, bundled)"
DEBOUNCE_MS = 150


class ClusterTable(QTableView):
    """The cluster list; accepts members dragged from the member table (move to this cluster)."""

    sig_members_dropped = Signal(list, int)  # rows, target cluster id

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(MEMBER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(MEMBER_MIME) and self.indexAt(event.position().toPoint()).isValid():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        index = self.indexAt(event.position().toPoint())
        if not event.mimeData().hasFormat(MEMBER_MIME) or not index.isValid():
            event.ignore()
            return
        rows = [int(r) for r in bytes(event.mimeData().data(MEMBER_MIME)).decode().split(",") if r]
        event.acceptProposedAction()
        self.sig_members_dropped.emit(rows, self.model().cluster_id(index.row()))


class DuplicatesTab(QWidget):
    """A view over the ReviewSession of the open collection (core.review.session)."""

    sig_clustering_changed = Signal(object)
    sig_mining_finished = Signal(object)
    sig_error_raised = Signal(str, object, str)  # title, exception or message, details (traceback)
    sig_status_message = Signal(str)  # what a review action or an export did, for the status bar

    def __init__(self, runner: JobRunner, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicates_tab")
        self._runner = runner
        self._settings = settings
        self._view: DatasetView | None = None
        self.session: ReviewSession | None = None  # the collection under review; None while preparing
        self.last_export_summary = ""  # what the last export said (rows, where, warnings)
        self._mine_job: Job | None = None
        self._prepare_job: Job | None = None
        self._cluster_job: Job | None = None
        self._find_when_prepared = False
        self._cluster_request = 0
        self._cluster_busy = False
        self._advance_to: int | None = None
        self._marks = None  # core.review.session.Marks of the clustering shown
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.recluster)
        self._build()
        self._build_actions()

    # The session's state, as the views (and tests) read it.
    @property
    def review(self):
        return self.session.collection if self.session else None

    @property
    def decisions(self):
        return self.session.log if self.session else None

    @property
    def resolved(self):
        return self.session.resolved if self.session else None

    @property
    def mined(self) -> MinedCollection | None:
        return self.session.mined if self.session else None

    @property
    def estimate(self):
        return self.session.estimate if self.session else None

    @property
    def clustering(self) -> Clustering | None:
        return self.session.clustering if self.session else None

    # ----- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox(objectName="model_combo")
        self.model_combo.addItem(DEFAULT_MODEL_LABEL, "default")
        self.model_combo.addItem("Choose a model folder…", "__browse__")
        self.model_combo.activated.connect(self._on_model_combo_activated)
        self.find_button = QPushButton("Find duplicates", objectName="find_button")
        self.find_button.setToolTip("Embed every question and find its nearest neighbours (Ctrl+F)")
        self.find_button.clicked.connect(self.find_duplicates)
        self.info_label = QLabel(objectName="dup_info_label")

        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="threshold_slider")
        self.slider.setRange(500, 1000)
        self.slider.setPageStep(10)
        self.spin = QDoubleSpinBox(objectName="threshold_spin")
        self.spin.setRange(0.5, 1.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.005)
        self.mode_combo = QComboBox(objectName="mode_combo")
        self.mode_combo.addItem("Connected", "connected")
        self.mode_combo.addItem("Community", "community")
        self.mode_combo.setItemData(0, "Any chain of similar questions is one cluster", Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.setItemData(1, "Every member is similar to its cluster's centre (tighter clusters)",
                                    Qt.ItemDataRole.ToolTipRole)
        self.best_f1_button = QPushButton("Best F1", objectName="best_f1_button")
        self.best_f1_button.setToolTip("Set the threshold that scores best on the labelled pairs of this file")
        self.best_f1_button.clicked.connect(self.use_best_f1_threshold)
        self.best_f1_button.hide()
        self.counts_label = QLabel(objectName="counts_label")
        self.estimate_label = QLabel(objectName="estimate_label")
        self.histogram = SimilarityHistogram()
        self.histogram.setMaximumHeight(110)

        from ..core.mine.defaults import DEFAULT_THRESHOLD

        self._set_threshold_widgets(float(self._settings.value("duplicates/threshold", DEFAULT_THRESHOLD)))
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._debounce.start())

        self.filter_edit = QLineEdit(objectName="cluster_filter", placeholderText="Filter clusters by text…")
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.cluster_model = ClusterListModel(self)
        self.cluster_table = ClusterTable()
        self.cluster_table.setObjectName("cluster_table")
        self.cluster_table.setModel(self.cluster_model)
        self.cluster_table.setSortingEnabled(True)
        self.cluster_table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.cluster_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.cluster_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.cluster_table.verticalHeader().hide()
        self.cluster_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.cluster_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.cluster_table.setWordWrap(False)
        self.cluster_table.horizontalHeader().setStretchLastSection(True)
        self.cluster_table.selectionModel().currentRowChanged.connect(self._on_current_cluster_changed)
        self.cluster_table.sig_members_dropped.connect(self.move_members)

        self.member_model = MemberModel(self)
        self.member_table = QTableView(objectName="member_table")
        self.member_table.setModel(self.member_model)
        self.member_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.member_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.member_table.setDragEnabled(True)
        self.member_table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.member_table.verticalHeader().hide()
        self.member_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.member_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.member_table.setWordWrap(False)
        header = self.member_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        digits = self.fontMetrics().horizontalAdvance("Similarity 00")  # fixed: no measuring of 1,000s of rows
        header.resizeSection(1, digits)
        header.resizeSection(2, digits)
        self.all_columns_check = QCheckBox("Show the file's other columns", objectName="all_columns_check")
        self.all_columns_check.toggled.connect(lambda _on: self._show_current_members())

        buttons = QHBoxLayout()
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip("These are duplicates: keep them together at any threshold (Enter)")
        self.unconfirm_button = QPushButton("Unconfirm")
        self.unconfirm_button.setToolTip("Forget the confirmation: the threshold decides this cluster again (Ctrl+U)")
        self.split_button = QPushButton("Not a duplicate")
        self.split_button.setToolTip("Take the selected questions out of this cluster (Delete)")
        self.merge_button = QPushButton("Merge")
        self.merge_button.setToolTip("Join the selected clusters into one (Ctrl+M; or drag a question onto a cluster)")
        self.canonical_button = QPushButton("Keep this one")
        self.canonical_button.setToolTip("The selected question is the one the export keeps (Ctrl+K)")
        self.export_button = QPushButton("Export…", objectName="export_button")
        self.export_button.setToolTip("Write a deduplicated or annotated spreadsheet, or the decisions as pairs (Ctrl+E)")
        for b in (self.confirm_button, self.unconfirm_button, self.split_button, self.merge_button,
                  self.canonical_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)

        top = QHBoxLayout()
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model_combo, 1)
        top.addWidget(self.find_button)
        top.addWidget(self.info_label, 2)
        self.info_label.setMinimumWidth(10)
        self.counts_label.setWordWrap(True)
        self.estimate_label.setWordWrap(True)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(QLabel("Similarity threshold"))
        threshold_row.addWidget(self.slider, 3)
        threshold_row.addWidget(self.spin)
        threshold_row.addWidget(self.mode_combo)
        threshold_row.addWidget(self.best_f1_button)
        stats = QVBoxLayout()
        stats.addWidget(self.counts_label)
        stats.addWidget(self.estimate_label)
        stats_row = QHBoxLayout()
        stats_row.addLayout(stats, 1)
        stats_row.addWidget(self.histogram, 2)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.filter_edit)
        left_layout.addWidget(self.cluster_table)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.member_table)
        right_layout.addWidget(self.all_columns_check)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([520, 640])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(threshold_row)
        layout.addLayout(stats_row)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self._set_enabled(False)

    def _build_actions(self) -> None:
        def action(text, shortcut, slot, widget=self, window_wide=False):
            act = QAction(text, self, shortcut=QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut if window_wide
                                   else Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            widget.addAction(act)
            return act

        self.find_action = action("Find Duplicates", "Ctrl+F", self.find_duplicates)
        # Enter confirms only where a cluster is looked at: in an input box it applies that box.
        self.confirm_action = QAction("Confirm Cluster", self, shortcut=QKeySequence(Qt.Key.Key_Return))
        self.confirm_enter_action = QAction("Confirm Cluster", self, shortcut=QKeySequence(Qt.Key.Key_Enter))
        for act in (self.confirm_action, self.confirm_enter_action):
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            act.triggered.connect(self.confirm_current)
            self.cluster_table.addAction(act)
            self.member_table.addAction(act)
        self.unconfirm_action = action("Unconfirm Cluster", "Ctrl+U", self.unconfirm_current)
        self.split_action = action("Not a Duplicate", QKeySequence.StandardKey.Delete, self.split_selected)
        self.merge_action = action("Merge Clusters", "Ctrl+M", self.merge_selected)
        self.canonical_action = action("Keep This Question", "Ctrl+K", self.make_selected_canonical)
        self.edit_action = action("Edit Kept Question…", "F2", self.edit_canonical_dialog)
        self.undo_action = action("Undo", QKeySequence.StandardKey.Undo, self.undo, window_wide=True)
        self.redo_action = action("Redo", "Ctrl+Shift+Z", self.redo, window_wide=True)
        self.export_action = action("Export…", "Ctrl+E", self.open_export_dialog, window_wide=True)
        self.export_button.clicked.connect(self.open_export_dialog)
        self.confirm_button.clicked.connect(self.confirm_current)
        self.unconfirm_button.clicked.connect(self.unconfirm_current)
        self.split_button.clicked.connect(self.split_selected)
        self.merge_button.clicked.connect(self.merge_selected)
        self.canonical_button.clicked.connect(self.make_selected_canonical)

    def _set_enabled(self, mined: bool) -> None:
        for widget in (self.slider, self.spin, self.mode_combo, self.filter_edit, self.cluster_table,
                       self.member_table, self.confirm_button, self.unconfirm_button, self.split_button,
                       self.merge_button,
                       self.canonical_button, self.export_button, self.all_columns_check):
            widget.setEnabled(mined)

    # ----- data in ---------------------------------------------------------------------------
    def set_dataset(self, view: "DatasetView") -> None:
        """A new file (or column) in the Data tab: forget the mined state, restore its decisions
        (hashing every text runs in the background: 500,000 rows take a second)."""
        if self._mine_job is not None:
            self._mine_job.cancel()
        if self.session is not None:
            self.session.close()  # Undo never reaches into another file's decisions
        self._view = view
        self.session = None
        self._update_undo_actions()
        self.cluster_model.clear()
        self.member_model.clear()
        self.histogram.set_scores([])
        self._set_enabled(False)
        self.find_button.setEnabled(False)
        self.best_f1_button.hide()
        self.estimate_label.clear()
        self.counts_label.clear()
        self.info_label.setText(f"{view.table.path.name}: open this tab to find its duplicates")
        self._prepare_job = None
        if self.isVisible():
            self.prepare()

    def prepare(self) -> None:
        """Start the review set-up of the current file unless it is done or under way."""
        if self._view is None or self.review is not None or self._prepare_job is not None:
            return
        self.info_label.setText("Preparing…")
        self._prepare_job = self._runner.submit("Preparing the review", _prepare_in_worker, self._view, lane="io",
                                                on_result=self._on_review_prepared,
                                                on_error=self._error_handler("Preparing the review failed"))
        self._prepare_job.sig_done.connect(self._on_prepare_done)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.prepare()  # only files the user reviews pay for hashing every text

    def _on_prepare_done(self) -> None:
        if self.sender() is self._prepare_job:
            self._prepare_job = None

    def _on_review_prepared(self, session) -> None:
        if self._view is None or session.path != self._view.table.path or self.session is not None:
            session.close()
            return  # a newer file is being prepared
        self.session = session
        self.find_button.setEnabled(True)
        restored = f" · {len(self.decisions)} review decisions restored" if len(self.decisions) else ""
        self.info_label.setText(f"{self.review.n:,} questions from {self.review.path.name}{restored}")
        if self.decisions.notes:
            self._error_handler("Some saved review decisions could not be restored")("\n".join(self.decisions.notes))
        self.counts_label.setText("Press <b>Find duplicates</b> to embed the questions and group them by meaning.")
        self._update_undo_actions()
        if self._find_when_prepared:
            self._find_when_prepared = False
            self.find_duplicates()

    def has_dataset(self) -> bool:
        return self._view is not None

    def model_name(self) -> str:
        return str(self.model_combo.currentData())

    def _on_model_combo_activated(self, index: int) -> None:
        if self.model_combo.itemData(index) != "__browse__":
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a SentenceTransformer model folder")
        self.model_combo.setCurrentIndex(0)
        if folder:
            self.add_model(folder, select=True)

    def add_model(self, folder: str, select: bool = True) -> None:
        existing = self.model_combo.findData(folder)
        if existing < 0:
            self.model_combo.insertItem(self.model_combo.count() - 1, Path(folder).name, folder)
            existing = self.model_combo.findData(folder)
        if select:
            self.model_combo.setCurrentIndex(existing)

    # ----- mining ------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return (self._mine_job is not None or self._prepare_job is not None or self._cluster_busy
                or self._debounce.isActive())

    def find_duplicates(self) -> Job | None:
        if self.review is None:  # still preparing: find as soon as it is ready
            self._find_when_prepared = self.has_dataset()
            self.prepare()
            return None
        if self._mine_job is not None:
            return None
        from ..core.mine.mining import MiningParams

        texts = self.review.texts
        params = MiningParams(model=self.model_name())
        self.find_button.setEnabled(False)
        self._mine_job = self._runner.submit(f"Finding duplicates among {len(texts):,} questions", _mine_in_worker,
                                             texts, params, self.session, lane="model",
                                             on_result=self._on_mined, on_error=self._error_handler("Finding duplicates failed"))
        self._mine_job.sig_done.connect(self._on_mine_done)
        return self._mine_job

    def _on_mine_done(self) -> None:
        self._mine_job = None
        self.find_button.setEnabled(True)

    def _error_handler(self, title: str):
        """An ``on_error`` for the job runner: the error, with its traceback, to the window's banner."""
        def show(exc: BaseException | str, details: str = "") -> None:
            self.sig_error_raised.emit(title, exc, details)
        return show

    def _on_mined(self, result) -> None:
        mined, estimate, session = result
        if session is not self.session:
            return  # another file was opened meanwhile
        session.set_mined(mined, estimate)
        self.histogram.set_scores(mined.graph.scores)
        cached = " (from cache)" if mined.n_encoded == 0 else ""
        restored = f" · {len(self.decisions)} review decisions restored" if len(self.decisions) else ""
        self.info_label.setText(f"{mined.n:,} questions · {mined.model.describe()} · {mined.backend}{cached} · "
                                f"{mined.seconds:.1f} s{restored}")
        if estimate is not None:
            self.best_f1_button.setText(f"Best F1 ({estimate.best_threshold:.3f})")
            self.best_f1_button.show()
            self._show_estimate()
        self._set_enabled(True)
        self.recluster()
        self.sig_mining_finished.emit(mined)

    # ----- threshold -----------------------------------------------------------------------------
    def threshold(self) -> float:
        return round(self.spin.value(), 3)

    def set_threshold(self, value: float) -> None:
        self._set_threshold_widgets(value)
        self._debounce.start()

    def _set_threshold_widgets(self, value: float) -> None:
        value = min(max(float(value), 0.5), 1.0)
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.slider.setValue(int(round(value * 1000)))
        self.spin.setValue(value)
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)
        self.histogram.set_threshold(value)
        self._show_estimate()

    def _on_slider_moved(self, value: int) -> None:
        self.set_threshold(value / 1000)

    def _on_spin_changed(self, value: float) -> None:
        self.set_threshold(value)

    def use_best_f1_threshold(self) -> None:
        if self.estimate is not None:
            self.set_threshold(self.estimate.best_threshold)

    def _show_estimate(self) -> None:
        if self.estimate is None:
            return
        from ..core.evaluate.evaluation import precision_recall_at

        p, r = precision_recall_at(self.estimate.scores, self.estimate.labels, self.threshold())
        self.estimate_label.setText(f"On the {len(self.estimate.labels):,} labelled pairs of this file: "
                                    f"precision {p:.2f}, recall {r:.2f} at this threshold")

    # ----- clustering ------------------------------------------------------------------------------
    def recluster(self) -> None:
        if self.mined is None:
            return
        self._settings.setValue("duplicates/threshold", self.threshold())
        self._cluster_request += 1
        self._cluster_busy = True
        request = self._cluster_request
        if self._cluster_job is not None:
            self._cluster_job.cancel()  # superseded: a long community-mode search stops at once
        session = self.session
        self._cluster_job = self._runner.submit(
            "Clustering", _cluster_in_worker, session, self.threshold(), str(self.mode_combo.currentData()),
            session.resolved, lane="cluster", on_result=lambda c, r=request, s=session: self._on_clustered(c, r, s),
            on_error=self._error_handler("Clustering failed"))
        self._cluster_job.sig_done.connect(self._on_cluster_job_done)

    def _on_cluster_job_done(self) -> None:
        if self.sender() is self._cluster_job:
            self._cluster_job = None
            self._cluster_busy = False

    def _on_clustered(self, clustering: "Clustering", request: int, session=None) -> None:
        if request != self._cluster_request or session is not self.session:
            return  # a newer threshold is on its way, or another file is open
        self._cluster_busy = False
        current = self.current_cluster_rows()
        session.show(clustering)
        self._marks = session.marks(clustering)
        self.cluster_model.set_clusters(clustering, self._display_texts(), self._marks)
        self.counts_label.setText(
            f"<b>{clustering.n_multi:,}</b> duplicate clusters · <b>{clustering.n_in_multi:,}</b> questions in them · "
            f"an export would remove <b>{clustering.n_removed:,}</b> of {clustering.n:,} rows")
        self._reselect(current)
        if self._advance_to is not None and self._advance_to < self.cluster_model.rowCount():
            self.cluster_table.selectRow(self._advance_to)
        self._advance_to = None
        self.sig_clustering_changed.emit(clustering)

    def _display_texts(self):
        return self.session.display_texts()

    def _reselect(self, previous_rows: np.ndarray | None) -> None:
        """Keep the user on the same cluster (found by any of its old members) after re-clustering."""
        target = 0
        if previous_rows is not None and len(previous_rows) and self.clustering is not None:
            for row in previous_rows:
                found = self.cluster_model.row_of_cluster(int(self.clustering.labels[int(row)]))
                if found is not None:
                    target = found
                    break
        if self.cluster_model.rowCount():
            self.cluster_table.selectRow(min(target, self.cluster_model.rowCount() - 1))
        else:
            self.member_model.clear()

    def current_cluster_id(self) -> int | None:
        index = self.cluster_table.currentIndex()
        return self.cluster_model.cluster_id(index.row()) if index.isValid() else None

    def current_cluster_rows(self) -> np.ndarray | None:
        cid = self.current_cluster_id()
        return None if cid is None or self.clustering is None else self.clustering.members(cid)

    def _on_current_cluster_changed(self, *_args) -> None:
        self._show_current_members()

    def _show_current_members(self) -> None:
        cid = self.current_cluster_id()
        if cid is None or self.clustering is None:
            self.member_model.clear()
            return
        rows = self.clustering.members(cid)
        extra = None
        if self.all_columns_check.isChecked():
            frame = self.review.frame
            extra = [(str(c), frame[c]) for c in frame.columns if c != self.review.column]
        self.member_model.set_members(rows, self.clustering.similarity_to_canonical[rows],
                                      int(self.clustering.canonical[cid]), self._display_texts(), extra,
                                      new_rows=self._marks.new_rows if self._marks else frozenset())

    def _on_filter_changed(self, text: str) -> None:
        self.cluster_model.set_filter(text)
        if self.cluster_model.rowCount():
            self.cluster_table.selectRow(0)

    # ----- review: each gesture is one session method, one journal entry, one undo ---------------
    def _gesture(self, method, *args) -> bool:
        """Run a review gesture; a decision that is not on disk is not made (the banner says why)."""
        from ..core.review.decisions import DecisionNotSaved
        from ..core.review.session import SessionClosed

        if self.session is None or self.clustering is None:
            return False
        try:
            message = method(*args)
        except (DecisionNotSaved, SessionClosed) as exc:
            self._error_handler("Review decision not saved")(exc)
            return False
        if message:
            self.sig_status_message.emit(message)
        self._update_undo_actions()
        self.recluster()
        return bool(message)

    def _update_undo_actions(self) -> None:
        session = self.session
        self.undo_action.setEnabled(bool(session and session.can_undo()))
        self.redo_action.setEnabled(bool(session and session.can_redo()))
        self.undo_action.setText(f"Undo {session.undo_label()}" if session and session.can_undo() else "Undo")
        self.redo_action.setText(f"Redo {session.redo_label()}" if session and session.can_redo() else "Redo")

    def confirm_current(self) -> None:
        cid = self.current_cluster_id()
        index = self.cluster_table.currentIndex()
        if cid is not None and self._gesture(self.session.confirm, cid):
            self._advance_to = index.row() + 1 if index.isValid() else None  # go on to the next cluster

    def unconfirm_current(self) -> None:
        cid = self.current_cluster_id()
        if cid is not None:
            self._gesture(self.session.unconfirm, cid)

    def selected_member_rows(self) -> list[int]:
        ids = self.member_model.row_ids()
        return sorted({int(ids[i.row()]) for i in self.member_table.selectionModel().selectedRows()})

    def split_selected(self) -> None:
        cid, selected = self.current_cluster_id(), self.selected_member_rows()
        if cid is not None and selected:
            self._gesture(self.session.split, cid, selected)

    def merge_selected(self) -> None:
        ids = {self.cluster_model.cluster_id(i.row()) for i in self.cluster_table.selectionModel().selectedRows()}
        if len(ids) >= 2:
            self._gesture(self.session.merge, sorted(ids))

    def move_members(self, rows: list[int], target_cluster: int) -> None:
        """Members dragged onto another cluster: one gesture, one undo."""
        self._gesture(self.session.move, rows, target_cluster)

    def make_selected_canonical(self) -> None:
        selected = self.selected_member_rows()
        if len(selected) == 1:
            self._gesture(self.session.keep, selected[0])

    def edit_canonical_dialog(self) -> None:
        cid = self.current_cluster_id()
        if cid is None:
            return
        from PySide6.QtWidgets import QInputDialog

        current = self._display_texts()[int(self.clustering.canonical[cid])]
        text, ok = QInputDialog.getText(self, "Edit the kept question",
                                        "The export writes this text for the cluster's kept question:", text=current)
        if ok:
            self.edit_canonical_text(text)

    def edit_canonical_text(self, text: str) -> None:
        cid = self.current_cluster_id()
        if cid is not None:
            self._gesture(self.session.edit, cid, text)

    def undo(self) -> None:
        if self.session is not None and self.session.can_undo():
            self._gesture(self.session.undo)

    def redo(self) -> None:
        if self.session is not None and self.session.can_redo():
            self._gesture(self.session.redo)

    # ----- export ------------------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path, overwrite_input: bool = False) -> Job:
        return self._runner.submit(f"Exporting {Path(path).name}", _export_in_worker, self.session, kind, Path(path),
                                   self.clustering, overwrite_input, lane="io", on_result=self._on_exported,
                                   on_error=self._error_handler("Export failed"))

    def open_export_dialog(self):
        if self.clustering is None:
            self.sig_status_message.emit("Find duplicates first: there is nothing to export yet.")
            return None
        from .export_dialog import ExportDialog

        dialog = ExportDialog(self, self)
        dialog.open()
        return dialog

    def _on_exported(self, written) -> None:
        """Say where the export went and how many rows, with every warning about the data in it."""
        summary = f"Exported {written.n_rows:,} rows to {written.path}"
        self.sig_status_message.emit(summary)
        load_notes = list(self._view.table.warnings) if self._view is not None else []
        notes = list(written.warnings) + [f"While reading {self._view.table.path.name}: {n}" for n in load_notes]
        self.last_export_summary = "\n".join([summary, *notes])
        if notes:
            self._error_handler(f"{summary}, with notes")("\n".join(notes))


def _prepare_in_worker(view, ctx):
    from ..core.review.session import ReviewSession

    return ReviewSession.open(view)


def _mine_in_worker(texts, params, session, ctx):
    from ..core.mine.mining import mine_collection
    from ..core.review.collection import pair_estimate

    mined = mine_collection(texts, params, ctx)
    return mined, pair_estimate(session.collection, mined.embeddings), session


def _cluster_in_worker(session, threshold, mode, resolved, ctx):
    return session.cluster(threshold, mode, resolved=resolved, ctx=ctx)


def _export_in_worker(session, kind, path, clustering, overwrite_input, ctx):
    return session.export(kind, path, clustering=clustering, overwrite_input=overwrite_input)
