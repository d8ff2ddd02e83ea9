"""Duplicates tab: find duplicates, tune the threshold, review clusters, export.

Mining runs once per collection and model (a job on the model lane; cached on disk).
The threshold slider, the mode switch and every review decision only re-cluster the cached
graph, on the "cluster" lane, latest request wins.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QWidget,
)

from ..core.wording import plural
from .duplicates_view import build_actions, build_widgets
from .improve import ImproveModel
from .jobs import Job, JobRunner
from .model_picker import ModelPicker
from .review_actions import ReviewActions
from .threshold_advice import ThresholdAdvice, cluster_and_estimate
from .widgets import format_eta

if TYPE_CHECKING:
    from ..core.ingest.dataset import DatasetView
    from ..core.mine.clustering import Clustering
    from ..core.mine.mining import MinedCollection
    from ..core.review.session import ReviewSession

DEBOUNCE_MS = 150


MODE_KEY = "duplicates/mode"  # the clustering mode last chosen (for every file)


class DuplicatesTab(ModelPicker, ThresholdAdvice, ImproveModel, ReviewActions, QWidget):
    """A view over the ReviewSession of the open collection (core.review.session)."""

    sig_clustering_changed = Signal(object)
    sig_mining_finished = Signal(object)
    sig_error_raised = Signal(str, object, str)  # title, exception or message, details (traceback)
    sig_status_message = Signal(str)  # what a review action or an export did, for the status bar
    sig_notice_raised = Signal(str, str, str, object)  # title, message, level (info|warning), action or None
    sig_improve_requested = Signal(object, object, str)  # TrainingConfig, PairData, what the pairs are

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
        build_widgets(self)
        build_actions(self)
        remembered = self.mode_combo.findData(str(settings.value(MODE_KEY, "")))
        if remembered >= 0:
            self.mode_combo.setCurrentIndex(remembered)
        self.mode_combo.currentIndexChanged.connect(
            lambda _i: self._settings.setValue(MODE_KEY, str(self.mode_combo.currentData())))

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
    def clustering(self) -> Clustering | None:
        return self.session.clustering if self.session else None

    # ----- building -------------------------------------------------------------------------
    def _set_enabled(self, mined: bool) -> None:
        for widget in (self.slider, self.spin, self.mode_combo, self.filter_edit, self.unreviewed_check, self.cluster_table,
                       self.member_table, self.confirm_button, self.unconfirm_button, self.split_button,
                       self.merge_button,
                       self.canonical_button, self.export_button, self.all_columns_check, self.improve_button,
                       self.page_buttons["check"]):
            widget.setEnabled(mined)
        # The Review menu and Export are greyed out until there are clusters to act on.
        for act in (self.confirm_action, self.confirm_enter_action, self.unconfirm_action, self.split_action,
                    self.merge_action, self.canonical_action, self.edit_action, self.export_action,
                    self.filter_action, self.switch_pane_action, self.check_pairs_action, self.improve_action):
            act.setEnabled(mined)
        self._update_undo_actions()

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
        self.review_count_label.clear()
        self.member_model.clear()
        self.histogram.set_scores([])
        self._set_enabled(False)
        self.find_button.setEnabled(False)
        self.best_f1_button.hide()
        self.estimate_label.clear()
        self.estimate_label.hide()
        self.counts_label.clear()
        self.info_label.setText(f"{view.table.path.name}: open this tab to find its duplicates")
        self.page_buttons["changes"].hide()
        self.show_page("clusters")
        self.pair_check.reset()
        self._prepare_job = None
        if self.isVisible():
            self.prepare()

    def prepare(self) -> None:
        """Start the review set-up of the current file unless it is done or under way."""
        if self._view is None or self.review is not None or self._prepare_job is not None:
            return
        self.info_label.setText("Preparing…")
        self._prepare_job = self._runner.submit("Preparing the review", _prepare_in_worker, self._view,
                                                self.model_name(), lane="io",
                                                on_result=self._on_review_prepared,
                                                on_error=self._error_handler("Preparing the review failed"))
        self._prepare_job.sig_done.connect(self._on_prepare_done)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh_models()  # read when the tab is shown (not at start-up); a model trained meanwhile is listed
        self.prepare()  # only files the user reviews pay for hashing every text

    def _on_prepare_done(self) -> None:
        if self.sender() is self._prepare_job:
            self._prepare_job = None

    def _on_review_prepared(self, prepared) -> None:
        session, cached = prepared
        if self._view is None or session.path != self._view.table.path or self.session is not None:
            session.close()
            return  # a newer file is being prepared
        self.session = session
        self.find_button.setEnabled(True)
        restored = f" · {len(self.decisions)} review decisions restored" if len(self.decisions) else ""
        self.info_label.setText(f"{self.review.n:,} questions from {self.review.path.name}{restored}")
        if self.decisions.notes:
            self.sig_notice_raised.emit("Some saved review decisions could not be restored",
                                        "\n".join(self.decisions.notes), "warning", None)
        self.counts_label.setText("Press <b>Find duplicates</b> to embed the questions and group them by meaning.")
        self._update_undo_actions()
        self.keep_keyboard_here()
        if self._find_when_prepared or cached:  # mined before with this model: the clusters at once
            self._find_when_prepared = False
            self.find_duplicates()

    def has_dataset(self) -> bool:
        return self._view is not None

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
        self._mine_job.sig_status_changed.connect(self._on_mine_status)
        self._mine_job.sig_progress_changed.connect(self._on_mine_progress)
        self._mine_started = time.monotonic()
        self.counts_label.setText("Starting…")
        return self._mine_job

    def _on_mine_status(self, text: str) -> None:
        self._mine_status = text
        self.counts_label.setText(text)

    def _on_mine_progress(self, done: float, total: float) -> None:
        """The panel says what Find duplicates is doing, with an ETA once it can tell."""
        text = getattr(self, "_mine_status", "") or "Working…"
        if total > 0 and 0 < done < total:
            elapsed = time.monotonic() - self._mine_started
            eta = elapsed / done * (total - done)
            text = f"{text} {done / total:.0%} · ETA {format_eta(eta)}"
        self.counts_label.setText(text)

    def _on_mine_done(self) -> None:
        job, self._mine_job = self._mine_job, None
        self.find_button.setEnabled(True)
        if job is not None and job.outcome == "cancelled":
            note = f" — {job.cancel_note}" if job.cancel_note else ""
            self.counts_label.setText(f"Cancelled{note}. Press <b>Find duplicates</b> to go on.")
            self.sig_status_message.emit(f"Cancelled{note}")

    def _error_handler(self, title: str):
        """An ``on_error`` for the job runner: the error, with its traceback, to the window's banner."""
        def show(exc: BaseException | str, details: str = "") -> None:
            self.sig_error_raised.emit(title, exc, details)
        return show

    def _on_mined(self, result) -> None:
        mined, session, counts = result
        if session is not self.session:
            return  # another file was opened meanwhile
        session.set_mined(mined)
        self.histogram.set_counts(counts)
        cached = " (from cache)" if mined.n_encoded == 0 else ""
        restored = f" · {len(self.decisions)} review decisions restored" if len(self.decisions) else ""
        self.info_label.setText(f"{mined.n:,} questions · {mined.model.describe()} · {mined.backend}{cached} · "
                                f"{mined.seconds:.1f} s{restored}")
        self.restore_threshold()  # this file and model's own, if the user set one
        self._set_enabled(True)
        self.pair_check.reset()
        self.recluster()
        self.sig_mining_finished.emit(mined)

    # ----- threshold -----------------------------------------------------------------------------
    def threshold(self) -> float:
        return round(self.spin.value(), 3)

    def set_threshold(self, value: float, source=None) -> None:
        self._set_threshold_widgets(value, source)
        self._debounce.start()

    def _set_threshold_widgets(self, value: float, source=None) -> None:
        """Show ``value`` on the slider and in the box; the widget it came from (``source``) is
        left alone, so typing "0.84" is never reformatted to "0.800" after the "8"."""
        value = min(max(float(value), 0.5), 1.0)
        for widget in (self.slider, self.spin):
            if widget is source:
                continue
            widget.blockSignals(True)
            if widget is self.slider:
                widget.setValue(int(round(value * 1000)))
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self.histogram.set_threshold(value)

    def _on_slider_moved(self, value: int) -> None:
        self.set_threshold(value / 1000, source=self.slider)

    def _on_spin_changed(self, value: float) -> None:
        self.set_threshold(value, source=self.spin)

    # ----- clustering ------------------------------------------------------------------------------
    def recluster(self) -> None:
        if self.mined is None or self._runner.is_closed():  # a debounced change can fire after quitting
            return
        self.remember_threshold()
        self._cluster_request += 1
        self._cluster_busy = True
        request = self._cluster_request
        if self._cluster_job is not None:
            self._cluster_job.cancel()  # superseded: a long community-mode search stops at once
        session = self.session
        self._cluster_job = self._runner.submit(
            "Clustering", cluster_and_estimate, session, self.threshold(), str(self.mode_combo.currentData()),
            session.resolved, lane="cluster", on_result=lambda c, r=request, s=session: self._on_clustered(c, r, s),
            on_error=self._error_handler("Clustering failed"))
        self._cluster_job.sig_done.connect(self._on_cluster_job_done)

    def _on_cluster_job_done(self) -> None:
        if self.sender() is self._cluster_job:
            self._cluster_job = None
            self._cluster_busy = False

    def _on_clustered(self, result, request: int, session=None) -> None:
        if request != self._cluster_request or session is not self.session:
            return  # a newer threshold is on its way, or another file is open
        clustering, estimate = result
        self.show_cluster_estimate(estimate)
        self._cluster_busy = False
        current = self.current_cluster_rows()
        session.show(clustering)
        self._marks = session.marks(clustering)
        self.cluster_model.set_clusters(clustering, self._display_texts(), self._marks)
        self._show_review_count()
        self.counts_label.setText(
            f"<b>{plural(clustering.n_multi, 'duplicate cluster')}</b> · <b>{plural(clustering.n_in_multi, 'question')}</b> "
            f"in them · an export would remove <b>{clustering.n_removed:,}</b> of {plural(clustering.n, 'row')}")
        self._reselect(current)
        if self._advance_to is not None and self._advance_to < self.cluster_model.rowCount():
            self.cluster_table.selectRow(self._advance_to)
        self._advance_to = None
        self.keep_keyboard_here()
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


def _prepare_in_worker(view, model, ctx):
    from ..core.mine.mining import MiningParams, graph_is_cached
    from ..core.review.session import ReviewSession

    session = ReviewSession.open(view)
    return session, graph_is_cached(session.collection.texts, MiningParams(model=model))


def _mine_in_worker(texts, params, session, ctx):
    from ..core.mine.mining import mine_collection
    from .widgets import score_counts

    mined = mine_collection(texts, params, ctx)
    return mined, session, score_counts(mined.graph.scores)  # the histogram's counts: not on the GUI thread
