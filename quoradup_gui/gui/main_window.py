"""Main window: tabs, menus, toolbar, drag-and-drop, status bar, remembered settings."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..core.errors import QuoradupError
from .data_tab import DataTab
from .duplicates_tab import DuplicatesTab
from .jobs import DAEMON_LANE, Job, JobRunner
from .train_tab import TrainTab
from .widgets import ErrorBanner, JobProgress, open_folder

log = logging.getLogger(__name__)

MAX_RECENT = 10
TAB_NAMES = ("data", "train", "duplicates")
OPEN_FILTER = ("Question files (*.csv *.tsv *.tab *.txt *.xlsx *.xlsm *.parquet *.jsonl *.ndjson);;"
               "All files (*)")


class MainWindow(QMainWindow):
    sig_heavy_imports_ready = Signal()

    def __init__(self, settings: QSettings, log_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.log_dir = log_dir
        self.heavy_ready = False
        self.last_help_dialog = None  # the Help dialog shown last (About, shortcuts, guide)
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.runner = JobRunner(self)
        self.runner.sig_job_failed.connect(self._on_runner_job_failed)
        self.runner.sig_job_started.connect(self._on_runner_job_started)

        self.error_banner = ErrorBanner()
        self.tabs = QTabWidget(objectName="tabs")
        self.data_tab = DataTab(self.runner)
        self.data_tab.sig_open_requested.connect(self.open_dialog)
        self.data_tab.sig_view_changed.connect(self._on_data_view_changed)
        self.data_tab.sig_error_raised.connect(self.show_error)
        self.data_tab.sig_load_failed.connect(self._on_data_load_failed)
        self._remember_when_open: Path | None = None  # the file to add to Open Recent once it opens
        self._start_up_fallbacks: list[str | None] | None = None
        self.tabs.addTab(self.data_tab, "&Data")
        self.train_tab = TrainTab(self.runner, settings)
        self.data_tab.sig_view_changed.connect(self.train_tab.set_dataset)
        self.tabs.addTab(self.train_tab, "&Train")
        self.duplicates_tab = DuplicatesTab(self.runner, settings)
        self.data_tab.sig_view_changed.connect(self.duplicates_tab.set_dataset)
        self.tabs.addTab(self.duplicates_tab, "D&uplicates")
        self.train_tab.sig_use_model_requested.connect(self._on_use_model_requested)
        self.duplicates_tab.sig_improve_requested.connect(self._on_improve_requested)
        self.train_tab.sig_review_run_ended.connect(self._on_review_run_ended)
        self.train_tab.sig_error_raised.connect(self.show_error)
        self.duplicates_tab.sig_error_raised.connect(self.show_error)
        self.duplicates_tab.sig_notice_raised.connect(self.show_notice)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.duplicates_tab.sig_status_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.job_progress = JobProgress()
        self.libs_label = QLabel(objectName="libs_label")
        self.statusBar().addPermanentWidget(self.job_progress)
        self.statusBar().addPermanentWidget(self.libs_label)
        # As tall as with the progress widget showing: a job starting or ending must not resize
        # the tabs (a resize re-lays out the live plots, which is costly while a job runs).
        self.statusBar().setMinimumHeight(self.job_progress.sizeHint().height() + 4)
        self._build_actions()
        self._restore_geometry()

    # ----- actions, menus, toolbar ---------------------------------------------------------
    def _build_actions(self) -> None:
        style = self.style()
        self.open_action = QAction(QIcon.fromTheme("document-open", style.standardIcon(style.StandardPixmap.SP_DialogOpenButton)),
                                   "&Open…", self, shortcut=QKeySequence.StandardKey.Open,
                                   statusTip="Open a question collection or a labelled pair file")
        self.open_action.triggered.connect(self.open_dialog)
        self.demo_action = QAction("Open &Demo Collection", self, triggered=self.open_demo)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        self.cancel_action = QAction("&Cancel Job", self, shortcut=QKeySequence(Qt.Key.Key_Escape),
                                     triggered=self._on_cancel_triggered)
        self.recent_menu = QMenu("Open &Recent", self, objectName="recent_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.demo_action)
        file_menu.addAction(self.duplicates_tab.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        dup = self.duplicates_tab
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(dup.undo_action)
        edit_menu.addAction(dup.redo_action)
        review_menu = self.menuBar().addMenu("&Review")
        for act in (dup.find_action, dup.confirm_action, dup.unconfirm_action, dup.split_action, dup.merge_action,
                    dup.canonical_action, dup.edit_action, None, dup.check_pairs_action, dup.improve_action, None,
                    dup.filter_action, dup.switch_pane_action):
            if act is None:
                review_menu.addSeparator()
            else:
                review_menu.addAction(act)
        view_menu = self.menuBar().addMenu("&View")
        for i, name in enumerate(("&Data", "&Train", "D&uplicates")):
            action = QAction(name.replace("&", "") + " Tab", self, shortcut=QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        self.addAction(self.cancel_action)
        help_menu = self.menuBar().addMenu("&Help")
        from .help import add_help_actions

        add_help_actions(self, help_menu)
        help_menu.addAction(QAction("Open &Log Folder", self, triggered=self._open_log_folder))

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.open_action)

    # ----- opening files ---------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.settings.value("last_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a question file", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_demo(self) -> Job:
        from ..core.resources import demo_collection_path

        return self.open_file(demo_collection_path(), remember=False)

    def open_last_or_demo(self) -> Job:
        """At start-up: the file the user had open last time, or the demo collection on first launch.

        A recent file that no longer opens gives way to the next one that does (or the demo), and
        the banner says which could not be opened."""
        candidates = [p for p in self.recent_files() if Path(p).is_file()]
        self._start_up_fallbacks = [*candidates[1:], None]  # None: the demo
        if candidates:
            return self.open_file(candidates[0], keep_banner=True)
        self._start_up_fallbacks = None
        return self.open_demo()

    def open_file(self, path: str | Path, remember: bool = True, keep_banner: bool = False) -> Job:
        """Open ``path``; it joins Open Recent (and the last folder) once it has opened."""
        path = Path(path).expanduser()
        if not keep_banner:
            self.error_banner.hide()
            self._start_up_fallbacks = None
        self.tabs.setCurrentWidget(self.data_tab)
        self._remember_when_open = path if remember else None
        return self.data_tab.load(path)

    def _on_data_load_failed(self, path: str) -> None:
        failed = str(Path(path).resolve())
        self.settings.setValue("recent_files", [p for p in self.recent_files() if p != failed])
        if self._start_up_fallbacks:  # at start-up: the next recent file that opens, else the demo
            following = self._start_up_fallbacks.pop(0)
            if following is None:
                self._start_up_fallbacks = None
                from ..core.resources import demo_collection_path

                self.open_file(demo_collection_path(), remember=False, keep_banner=True)
            else:
                self.open_file(following, keep_banner=True)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [str(v) for v in value or []]

    def _remember_recent(self, path: Path) -> None:
        text = str(path.resolve())
        recent = [text] + [p for p in self.recent_files() if p != text]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", lambda: self.settings.setValue("recent_files", []))

    # ----- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = _local_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_file(files[0])
        if len(files) > 1:
            self.statusBar().showMessage(f"Opened {Path(files[0]).name}; quoradup opens one file at a time.", 8000)

    # ----- jobs and errors -----------------------------------------------------------------------
    def start_heavy_imports(self) -> Job:
        from .preload import preload_libraries

        self.libs_label.setText("Loading model libraries…")
        # The Train tab's plots: imported here, on the GUI thread, once the window has painted
        # (~0.2 s). On a worker, pyqtgraph's import raced the GUI thread in PySide6's lazy set-up
        # of its types and crashed the app (a segfault seen in the test suite).
        import pyqtgraph  # noqa: F401

        return self.runner.submit("Loading model libraries", preload_libraries, lane=DAEMON_LANE,
                                  on_result=self._on_heavy_imports_ready)

    def _on_use_model_requested(self, folder: str) -> None:
        self.duplicates_tab.add_model(folder, select=True)
        self.select_tab("duplicates")

    def _on_improve_requested(self, config, pairs, description: str) -> None:
        """Improve the model from my review: the Train tab runs it, with its live plots."""
        if self.train_tab.is_busy():
            self.train_tab.start_from_review(config, pairs, description)  # says why it cannot start
            self.duplicates_tab.improve_ended(None)
            return
        # The tab is shown and painted first, and the run starts a moment later: the plots' first
        # paint and the model loading would otherwise share one long stall of the window.
        self.select_tab("train")
        QTimer.singleShot(PAINT_FIRST_MS, lambda: self._start_review_run(config, pairs, description))

    def _start_review_run(self, config, pairs, description: str) -> None:
        if self.train_tab.start_from_review(config, pairs, description) is None:
            self.duplicates_tab.improve_ended(None)

    def _on_review_run_ended(self, result) -> None:
        self.duplicates_tab.improve_ended(result)
        if result is not None:
            self.select_tab("duplicates")  # what changed

    def _on_heavy_imports_ready(self, seconds: float) -> None:
        self.heavy_ready = True
        from ..core.encode.models import device_description, pick_device

        self.train_tab.set_device_text(device_description(pick_device()))
        self.libs_label.setText("Model libraries ready")
        self.libs_label.setToolTip(f"torch, sentence-transformers and the trainer imported in {seconds:.1f} s")
        _freeze_garbage_collector()
        self.sig_heavy_imports_ready.emit()

    def _on_runner_job_started(self, job: Job) -> None:
        if job.lane != DAEMON_LANE:  # background preloading has the libraries label instead
            self.job_progress.track(job)

    def _on_cancel_triggered(self) -> None:
        if self.job_progress.current_job() is not None:
            self.job_progress.cancel()
        else:
            self.error_banner.hide()

    def _on_runner_job_failed(self, job: Job, exc: BaseException) -> None:
        self.show_error(f"{job.name} failed", exc, job.traceback_text)

    def show_error(self, title: str, exc: BaseException | str, details: str = "") -> None:
        """The one place errors reach the user."""
        if isinstance(exc, QuoradupError) or isinstance(exc, str):
            message, details = str(exc), ""  # written for the user: the message says it all
        else:  # unexpected: say so; the job runner logged the traceback, Details… shows it
            message = f"Unexpected error: {type(exc).__name__}: {exc}"
            if not details:
                log.error("%s: %s", title, message)
        self.error_banner.show_message(title, message, details)
        self.statusBar().showMessage(title, 10000)

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.duplicates_tab:
            self.duplicates_tab.focus_default()  # its shortcuts work where the focus is in the tab

    def show_notice(self, title: str, message: str, level: str = "info", action=None) -> None:
        """A result or a warning (not an error) in the banner, with an optional (label, callable) action."""
        self.error_banner.show_message(title, message, level=level, action=action)
        self.statusBar().showMessage(title, 10000)

    def _on_data_view_changed(self, view) -> None:
        path = self._remember_when_open
        if path is not None and view.table.path == path:
            self.settings.setValue("last_folder", str(path.parent))
            self._remember_recent(path)
            self._remember_when_open = None
        self._start_up_fallbacks = None
        self.setWindowTitle(f"{view.table.path.name} — {APP_NAME}")

    def _open_log_folder(self) -> None:
        if self.log_dir is not None:
            open_folder(self.log_dir)

    # ----- state --------------------------------------------------------------------------------
    def is_tab_ready(self, tab: str) -> bool:
        """True when that tab has nothing left to do (used by --screenshot)."""
        data_ready = not self.data_tab.is_busy() and (
            self.data_tab.view() is not None or self.data_tab.last_error is not None)
        if tab == "data" or not data_ready:
            return data_ready
        if tab == "duplicates":
            dup = self.duplicates_tab
            if dup.review is None:
                dup.prepare()
                return not dup.has_dataset()  # nothing loaded: the empty tab is the picture
            if dup.mined is None and not dup.is_busy():
                dup.find_duplicates()
            return dup.clustering is not None and not dup.is_busy()
        return True

    def select_tab(self, tab: str) -> None:
        self.tabs.setCurrentIndex(TAB_NAMES.index(tab))

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 760)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        self.runner.shutdown()
        super().closeEvent(event)


PAINT_FIRST_MS = 200


def _local_files(mime) -> list[str]:
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def _freeze_garbage_collector() -> None:
    """Move every object alive now (mostly the modules of torch, transformers and friends: half
    a million) out of the garbage collector's reach. A full collection then looks only at newer
    objects: accelerate runs one at the start of each training run, and over all objects it held
    the GIL, so the GUI thread, for over 400 ms; after this, well under a millisecond."""
    import gc

    gc.freeze()
