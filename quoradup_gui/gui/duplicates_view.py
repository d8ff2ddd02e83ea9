"""The Duplicates tab's widgets: built here, driven by duplicates_tab.DuplicatesTab."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.mine.defaults import CLUSTER_MODES
from .cluster_models import MEMBER_MIME, ClusterListModel, MemberModel
from .widgets import SimilarityHistogram

DEFAULT_MODEL_LABEL = "default (all-MiniLM-L6-v2, bundled)"
# Label and tooltip of each of CLUSTER_MODES (the combo lists them in that order: the default first).
MODE_LABELS = {
    "kept": ("Kept question", "Every duplicate joins the most similar kept question: no chains, each member is at "
                              "least the threshold similar to the question kept"),
    "connected": ("Connected", "Any chain of similar questions is one cluster"),
    "community": ("Community", "Every member is similar to its cluster's centre; the largest neighbourhoods first"),
}


def mode_name(mode: str) -> str:
    """How the window names a clustering mode in sentences ("kept question", "connected")."""
    return MODE_LABELS[mode][0].lower() if mode in MODE_LABELS else mode


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


class EscClears(QObject):
    """Esc in a non-empty filter box clears it (instead of the window's Esc, Cancel Job)."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and event.key() == Qt.Key.Key_Escape \
                and watched.text():
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                watched.clear()
            return event.type() == QEvent.Type.KeyPress
        return False


def build_widgets(tab) -> None:
    """The Duplicates tab's widgets and layout, as attributes of ``tab``."""
    tab.model_combo = QComboBox(objectName="model_combo")
    tab.model_combo.addItem(DEFAULT_MODEL_LABEL, "default")
    tab.model_combo.addItem("Choose a model folder…", "__browse__")
    tab.model_combo.activated.connect(tab._on_model_combo_activated)
    tab.find_button = QPushButton("Find duplicates", objectName="find_button")
    tab.find_button.setToolTip("Embed every question and find its nearest neighbours (Ctrl+F)")
    tab.find_button.clicked.connect(tab.find_duplicates)
    tab.info_label = QLabel(objectName="dup_info_label")

    tab.slider = QSlider(Qt.Orientation.Horizontal, objectName="threshold_slider")
    tab.slider.setRange(500, 1000)
    tab.slider.setPageStep(10)
    tab.slider.setToolTip("Questions at least this similar are duplicates: right for fewer, surer clusters, "
                          "left for more (PgUp/PgDn: 0.01)")
    tab.spin = QDoubleSpinBox(objectName="threshold_spin")
    tab.spin.setRange(0.5, 1.0)
    tab.spin.setDecimals(3)
    tab.spin.setSingleStep(0.005)
    tab.mode_combo = QComboBox(objectName="mode_combo")
    tab.mode_combo.setToolTip("How similar pairs become clusters: Kept question joins every duplicate to one kept "
                              "question (no chains); Connected joins any chain of similar questions; Community "
                              "keeps every member close to its cluster's centre")
    for mode in CLUSTER_MODES:
        label, tip = MODE_LABELS[mode]
        tab.mode_combo.addItem(label, mode)
        tab.mode_combo.setItemData(tab.mode_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
    tab.best_f1_button = QPushButton("Best F1", objectName="best_f1_button")
    tab.best_f1_button.setToolTip("Set the threshold whose clusters (in this mode) score the best F1 on the judged pairs: "
                                  "the file's labels and your review decisions")
    tab.best_f1_button.clicked.connect(tab.use_best_f1_threshold)
    tab.best_f1_button.hide()
    tab.counts_label = QLabel(objectName="counts_label")
    tab.estimate_label = QLabel(objectName="estimate_label")
    tab.histogram = SimilarityHistogram()
    tab.histogram.setMaximumHeight(110)

    from ..core.mine.defaults import DEFAULT_THRESHOLD

    tab._set_threshold_widgets(float(tab._settings.value("duplicates/threshold", DEFAULT_THRESHOLD)))
    tab.slider.valueChanged.connect(tab._on_slider_moved)
    tab.spin.valueChanged.connect(tab._on_spin_changed)
    tab.mode_combo.currentIndexChanged.connect(lambda _i: tab._debounce.start())

    tab.filter_edit = QLineEdit(objectName="cluster_filter", placeholderText="Filter clusters by text… (Ctrl+L)")
    tab.filter_edit.setClearButtonEnabled(True)
    tab.filter_edit.installEventFilter(EscClears(tab.filter_edit))
    tab.filter_edit.textChanged.connect(tab._on_filter_changed)
    tab.unreviewed_check = QCheckBox("Unreviewed only", objectName="unreviewed_check")
    tab.unreviewed_check.setToolTip("Hide the clusters you confirmed (a cluster a new question joined shows again)")
    tab.unreviewed_check.toggled.connect(tab._on_unreviewed_toggled)
    tab.review_count_label = QLabel(objectName="review_count_label")
    tab.cluster_model = ClusterListModel(tab)
    tab.cluster_table = ClusterTable()
    tab.cluster_table.setObjectName("cluster_table")
    tab.cluster_table.setModel(tab.cluster_model)
    tab.cluster_table.setSortingEnabled(True)
    tab.cluster_table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    tab.cluster_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    tab.cluster_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    tab.cluster_table.verticalHeader().hide()
    tab.cluster_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    tab.cluster_table.verticalHeader().setDefaultSectionSize(tab.fontMetrics().height() + 8)
    tab.cluster_table.setWordWrap(False)
    tab.cluster_table.setTabKeyNavigation(False)  # Tab moves on to the next control, as everywhere else
    tab.cluster_table.horizontalHeader().setStretchLastSection(True)
    tab.cluster_table.selectionModel().currentRowChanged.connect(tab._on_current_cluster_changed)
    tab.cluster_table.sig_members_dropped.connect(tab.move_members)

    tab.member_model = MemberModel(tab)
    tab.member_table = QTableView(objectName="member_table")
    tab.member_table.setModel(tab.member_model)
    tab.member_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    tab.member_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    tab.member_table.setDragEnabled(True)
    tab.member_table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    tab.member_table.verticalHeader().hide()
    tab.member_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    tab.member_table.verticalHeader().setDefaultSectionSize(tab.fontMetrics().height() + 8)
    tab.member_table.setWordWrap(False)
    tab.member_table.setTabKeyNavigation(False)
    header = tab.member_table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    digits = tab.fontMetrics().horizontalAdvance("Similarity 00")  # fixed: no measuring of 1,000s of rows
    header.resizeSection(1, digits)
    header.resizeSection(2, digits)
    tab.all_columns_check = QCheckBox("Show the file's other columns", objectName="all_columns_check")
    tab.all_columns_check.toggled.connect(lambda _on: tab._show_current_members())

    buttons = QHBoxLayout()
    tab.confirm_button = QPushButton("Confirm")
    tab.confirm_button.setToolTip("These are duplicates: keep them together at any threshold (Enter)")
    tab.unconfirm_button = QPushButton("Unconfirm")
    tab.unconfirm_button.setToolTip("Forget the confirmation: the threshold decides this cluster again (Ctrl+U)")
    tab.split_button = QPushButton("Not a duplicate")
    tab.split_button.setToolTip("Take the selected questions out of this cluster (Delete)")
    tab.merge_button = QPushButton("Merge")
    tab.merge_button.setToolTip("Join the selected clusters into one (Ctrl+M; or drag a question onto a cluster)")
    tab.canonical_button = QPushButton("Keep this one")
    tab.canonical_button.setToolTip("The selected question is the one the export keeps (Ctrl+K)")
    tab.export_button = QPushButton("Export…", objectName="export_button")
    tab.export_button.setToolTip("Write a deduplicated or annotated spreadsheet, or the decisions as pairs (Ctrl+E)")
    for b in (tab.confirm_button, tab.unconfirm_button, tab.split_button, tab.merge_button,
              tab.canonical_button):
        buttons.addWidget(b)
    buttons.addStretch(1)
    tab.improve_button = QPushButton("Improve the model", objectName="improve_button")
    tab.improve_button.setToolTip("Fine-tune the model on your answers and decisions, then see what changed "
                                  "(Ctrl+I); the model in use is never changed")
    buttons.addWidget(tab.improve_button)
    buttons.addWidget(tab.export_button)

    top = QHBoxLayout()
    model_label = QLabel("&Model")
    model_label.setBuddy(tab.model_combo)
    top.addWidget(model_label)
    top.addWidget(tab.model_combo, 1)
    top.addWidget(tab.find_button)
    top.addWidget(tab.info_label, 2)
    tab.info_label.setMinimumWidth(10)
    tab.counts_label.setWordWrap(True)
    tab.estimate_label.setWordWrap(True)
    tab.estimate_label.hide()  # shown for labelled pair files
    # The histogram sits right above the slider and shares its scale (align_to): a similarity
    # is drawn above the handle position that selects it.
    threshold_label = QLabel("&Similarity threshold")
    threshold_label.setBuddy(tab.spin)
    threshold_grid = QGridLayout()
    threshold_grid.addWidget(tab.histogram, 0, 0, 1, 2)
    threshold_grid.addWidget(threshold_label, 1, 0)
    threshold_grid.addWidget(tab.slider, 1, 1)
    threshold_grid.addWidget(tab.spin, 1, 2)
    threshold_grid.addWidget(tab.mode_combo, 1, 3)
    threshold_grid.addWidget(tab.best_f1_button, 1, 4)
    threshold_grid.setColumnStretch(1, 1)
    threshold_grid.setVerticalSpacing(0)
    tab.histogram.align_to(tab.slider)
    tab.histogram.sig_threshold_picked.connect(tab.set_threshold)
    stats = QVBoxLayout()
    stats.addWidget(tab.counts_label)
    stats.addWidget(tab.estimate_label)

    left = QWidget()
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    filter_row = QHBoxLayout()
    filter_row.addWidget(tab.filter_edit, 1)
    filter_row.addWidget(tab.unreviewed_check)
    left_layout.addLayout(filter_row)
    left_layout.addWidget(tab.cluster_table)
    left_layout.addWidget(tab.review_count_label)
    right = QWidget()
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(tab.member_table)
    right_layout.addWidget(tab.all_columns_check)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setSizes([520, 640])
    tab.splitter = splitter

    from .changes_view import ChangesPanel
    from .pair_check import PairCheckPanel

    tab.pair_check = PairCheckPanel(tab)
    tab.changes_panel = ChangesPanel(tab)
    tab.pages = QStackedWidget(objectName="review_pages")
    tab.pages.addWidget(splitter)
    for page in (tab.pair_check, tab.changes_panel):  # scrolled on a small window, never making it taller
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        tab.pages.addWidget(scroll)
    page_row = QHBoxLayout()
    tab.page_buttons = {}
    for key, label, tip in (("clusters", "Clusters", "Review the clusters one by one"),
                            ("check", "Check pairs", "Answer the pairs the model is least sure of, one at a time "
                                                     "(Ctrl+P): Y duplicate, N not, U unsure, S skip"),
                            ("changes", "What changed", "The improved model's clusters against the previous model's")):
        button = QPushButton(label, objectName=f"page_{key}_button", checkable=True)
        button.setToolTip(tip)
        button.clicked.connect(lambda _c=False, k=key: tab.show_page(k))
        page_row.addWidget(button)
        tab.page_buttons[key] = button
    tab.page_buttons["clusters"].setChecked(True)
    tab.page_buttons["changes"].hide()
    page_row.addStretch(1)

    layout = QVBoxLayout(tab)
    layout.addLayout(top)
    layout.addLayout(threshold_grid)
    layout.addLayout(stats)
    layout.addLayout(page_row)
    layout.addWidget(tab.pages, 1)
    layout.addLayout(buttons)

def build_actions(tab) -> None:
    """The review actions and their shortcuts (Enter only in the cluster and member tables)."""
    def action(text, shortcut, slot, widget=tab, window_wide=False):
        act = QAction(text, tab, shortcut=QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut if window_wide
                               else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        act.triggered.connect(slot)
        widget.addAction(act)
        return act

    tab.find_action = action("Find Duplicates", "Ctrl+F", tab.find_duplicates)
    tab.filter_action = action("Filter Clusters", "Ctrl+L", tab.focus_filter)
    tab.switch_pane_action = action("Switch Between Clusters and Questions", "F6", tab.switch_pane)
    # Enter confirms only where a cluster is looked at: in an input box it applies that box.
    tab.confirm_action = QAction("Confirm Cluster", tab, shortcut=QKeySequence(Qt.Key.Key_Return))
    tab.confirm_enter_action = QAction("Confirm Cluster", tab, shortcut=QKeySequence(Qt.Key.Key_Enter))
    for act in (tab.confirm_action, tab.confirm_enter_action):
        act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        act.triggered.connect(tab.confirm_current)
        tab.cluster_table.addAction(act)
        tab.member_table.addAction(act)
    tab.unconfirm_action = action("Unconfirm Cluster", "Ctrl+U", tab.unconfirm_current)
    tab.split_action = action("Not a Duplicate", QKeySequence.StandardKey.Delete, tab.split_selected)
    tab.merge_action = action("Merge Clusters", "Ctrl+M", tab.merge_selected)
    tab.canonical_action = action("Keep This Question", "Ctrl+K", tab.make_selected_canonical)
    tab.edit_action = action("Edit Kept Question…", "F2", tab.edit_canonical_dialog)
    tab.undo_action = action("Undo", QKeySequence.StandardKey.Undo, tab.undo, window_wide=True)
    tab.redo_action = action("Redo", "Ctrl+Shift+Z", tab.redo, window_wide=True)
    tab.export_action = action("Export…", "Ctrl+E", tab.open_export_dialog, window_wide=True)
    tab.check_pairs_action = action("Check Pairs", "Ctrl+P", tab.check_pairs, window_wide=True)
    tab.improve_action = action("Improve the Model From My Review", "Ctrl+I", tab.improve_model, window_wide=True)
    tab.improve_button.clicked.connect(tab.improve_model)
    tab.export_button.clicked.connect(tab.open_export_dialog)
    tab.confirm_button.clicked.connect(tab.confirm_current)
    tab.unconfirm_button.clicked.connect(tab.unconfirm_current)
    tab.split_button.clicked.connect(tab.split_selected)
    tab.merge_button.clicked.connect(tab.merge_selected)
    tab.canonical_button.clicked.connect(tab.make_selected_canonical)
    tab._set_enabled(False)
