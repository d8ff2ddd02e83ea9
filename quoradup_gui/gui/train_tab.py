"""Train tab: fine-tune the model on labelled pairs with live loss and score plots.

The run is core.training.run.run_training on the model lane; its partial results (loss
points, held-out scores, progress) arrive as plain dicts and feed the plots and labels.
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .jobs import Job, JobRunner
from .widgets import format_rate

LOADED, HUB = 0, 1


class TrainTab(QWidget):
    sig_use_model_requested = Signal(str)  # model folder
    sig_error_raised = Signal(str, object, str)  # title, exception or message, details (traceback)
    sig_training_finished = Signal(object)  # TrainingResult
    sig_review_run_ended = Signal(object)  # a run from the review ended: its TrainingResult, or None

    def __init__(self, runner: JobRunner, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("train_tab")
        self._runner = runner
        self._settings = settings
        self._view = None
        self.job: Job | None = None
        self.result = None
        self.review_run = False  # the run under way (or the last one) improves the model from the review
        self.loss_plot = self.eval_plot = None
        self._build()
        self._restore()

    # ----- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        from ..core.training.loss_info import LOSSES

        self.source_combo = QComboBox(objectName="source_combo")
        self.source_combo.addItems(["The labelled pairs loaded in the Data tab", "A Hugging Face dataset"])
        self.hub_edit = QLineEdit("sentence-transformers/quora-duplicates:pair-class", objectName="hub_edit")
        self.hub_edit.setToolTip("dataset id[:subset]; needs a connection")
        self.source_label = QLabel(objectName="source_label")
        self.source_label.setWordWrap(True)
        self.model_edit = QLineEdit("default", objectName="base_model_edit")
        self.model_edit.setToolTip("'default' (bundled all-MiniLM-L6-v2), a model folder, or a hub id")
        self.loss_combo = QComboBox(objectName="loss_combo")
        self.loss_combo.addItem("Automatic (follows the data)", "auto")
        for name, info in LOSSES.items():
            self.loss_combo.addItem(info.title, name)
        self.loss_help = QLabel(objectName="loss_help")
        self.loss_help.setWordWrap(True)
        self.loss_help.setStyleSheet("color: #555;")
        self.epochs = _double(0.1, 100, 1.0, 1, "Passes over the training pairs")
        self.batch = _int(2, 4096, 32, "Pairs per step; ranking losses learn more from bigger batches")
        self.lr = _double(1e-7, 1e-2, 2e-5, 7, "How big each update is (2e-5 is the usual choice)")
        self.warmup = _double(0.0, 0.5, 0.1, 2, "Share of the steps over which the learning rate ramps up")
        self.max_len = _int(0, 2048, 0, "Longest question in tokens (0: the model's own limit)")
        self.eval_steps = _int(0, 1_000_000, 0, "Score the held-out pairs every N steps (0: about ten times a run)")
        self.max_pairs = _int(0, 100_000_000, 0, "Train on the first N pairs only (0: all)")
        self.max_pairs.setSpecialValueText("all")
        self.device_label = QLabel("Detecting devices…", objectName="device_label")

        form = QFormLayout()
        form.addRow("Training data", self.source_combo)
        form.addRow("", self.hub_edit)
        form.addRow("", self.source_label)
        form.addRow("Base model", self.model_edit)
        form.addRow("Loss", self.loss_combo)
        form.addRow("", self.loss_help)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Warm-up", self.warmup)
        form.addRow("Max length", self.max_len)
        form.addRow("Evaluate every", self.eval_steps)
        form.addRow("Max pairs", self.max_pairs)
        form.addRow("Device", self.device_label)
        settings_box = QGroupBox("Settings")
        settings_box.setLayout(form)
        settings_box.setMaximumWidth(440)

        self.start_button = QPushButton("Start training", objectName="start_button")
        self.stop_button = QPushButton("Stop", objectName="stop_button")
        self.stop_button.setToolTip("Stop at the next step; the model trained so far is saved")
        self.stop_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar(objectName="train_progress")
        self.progress.setFormat("%p%")
        self.status_label = QLabel(objectName="train_status")
        self.status_label.setWordWrap(True)
        self.result_label = QLabel(objectName="result_card")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setStyleSheet("background: #eef7f5; border: 1px solid #9cc9bf; border-radius: 4px; padding: 8px;")
        self.result_label.hide()
        self.use_button = QPushButton("Use this model for finding duplicates", objectName="use_model_button")
        self.use_button.hide()
        self.use_button.clicked.connect(self._on_use_clicked)

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        self.plots_box = QVBoxLayout()
        right = QVBoxLayout()
        right.addLayout(buttons)
        right.addWidget(self.status_label)
        right.addLayout(self.plots_box, 1)
        right.addWidget(self.result_label)
        right.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QHBoxLayout(self)
        layout.addWidget(settings_box)
        layout.addLayout(right, 1)

        self.loss_combo.currentIndexChanged.connect(self._show_loss_help)
        self.source_combo.currentIndexChanged.connect(self._show_source)
        self._show_loss_help()
        self._show_source()

    def ensure_plots(self) -> None:
        if self.loss_plot is not None:
            return
        from .plots import LivePlot

        # curves as the run reports them: "loss", or one per task of a multi-task run
        self.loss_plot = LivePlot("Training loss", "loss", {}, y_min=0.0)  # the offered losses are never negative
        self.eval_plot = LivePlot("Held-out pairs", "score", {"AP": "#1f5fbf", "F1": "#d9822b"}, y_min=0.0,
                                  y_max=1.05)  # room for the markers and the "1.0" of a perfect score
        self.plots_box.addWidget(self.loss_plot, 1)
        self.plots_box.addWidget(self.eval_plot, 1)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.ensure_plots()

    def _show_loss_help(self) -> None:
        from ..core.training.loss_info import LOSSES

        name = self.loss_combo.currentData()
        self.loss_help.setText(LOSSES[name].explanation if name in LOSSES else
                               "Multi-task for pairs labelled duplicate / not duplicate; multiple negatives "
                               "ranking for duplicates or anchor/positive/negative triplets (the Quora recipe).")

    def _show_source(self) -> None:
        self.hub_edit.setVisible(self.source_combo.currentIndex() == HUB)
        if self.source_combo.currentIndex() == HUB:
            self.source_label.setText("Downloaded with datasets.load_dataset; needs a connection.")
        elif self._view is not None and self._view.table.role.value == "pairs":
            stats = self._view.pair_stats
            self.source_label.setText(f"{self._view.table.path.name}: {stats.n_pairs:,} pairs "
                                      f"({stats.n_duplicates:,} duplicates)" if stats else self._view.table.path.name)
        else:
            self.source_label.setText("Open a labelled pair file in the Data tab (question1, question2, is_duplicate; "
                                      "sentence1, sentence2, label; anchor, positive[, negative]).")
        self._update_buttons()

    def set_dataset(self, view) -> None:
        self._view = view
        self._show_source()

    def set_device_text(self, text: str) -> None:
        self.device_label.setText(text)

    # ----- config ------------------------------------------------------------------------------
    def config(self):
        from ..core.training.run import TrainingConfig

        return TrainingConfig(
            model=self.model_edit.text().strip() or "default", loss=str(self.loss_combo.currentData()),
            epochs=self.epochs.value(), batch_size=self.batch.value(), learning_rate=self.lr.value(),
            warmup_ratio=self.warmup.value(), max_seq_length=self.max_len.value() or None,
            eval_steps=self.eval_steps.value(), max_pairs=self.max_pairs.value() or None,
            pairs=self.hub_edit.text().strip() if self.source_combo.currentIndex() == HUB else None)

    def _restore(self) -> None:
        raw = self._settings.value("train/config")
        if not raw:
            return
        try:
            data = json.loads(str(raw))
        except ValueError:
            return
        self.model_edit.setText(str(data.get("model", "default")))
        index = self.loss_combo.findData(data.get("loss", "auto"))
        self.loss_combo.setCurrentIndex(max(index, 0))
        for widget, key in ((self.epochs, "epochs"), (self.lr, "learning_rate"), (self.warmup, "warmup_ratio")):
            widget.setValue(float(data.get(key, widget.value())))
        for widget, key in ((self.batch, "batch_size"), (self.eval_steps, "eval_steps")):
            widget.setValue(int(data.get(key) or widget.value()))
        self.max_len.setValue(int(data.get("max_seq_length") or 0))
        self.max_pairs.setValue(int(data.get("max_pairs") or 0))

    def _source(self):
        if self.source_combo.currentIndex() == HUB:
            return self.hub_edit.text().strip()
        if self._view is None or self._view.table.role.value != "pairs":
            return None
        return self._view.table

    def _update_buttons(self) -> None:
        running = self.job is not None
        self.start_button.setEnabled(not running and self._source() is not None)
        self.stop_button.setEnabled(running)

    # ----- running --------------------------------------------------------------------------------
    def start(self) -> Job | None:
        source = self._source()
        if source is None or self.job is not None:
            return None
        config = self.config()
        try:
            config.validate()
        except Exception as exc:  # shown like every other error
            self.sig_error_raised.emit("Check the training settings", exc, "")
            return None
        self._settings.setValue("train/config", config.to_json())
        self.review_run = False
        return self._start(config, source)

    def start_from_review(self, config, pairs, description: str) -> Job | None:
        """Improve the model from the review (the Duplicates tab's button): its pairs and recipe, this
        tab's plots. ``sig_training_finished`` reports the result, ``sig_review_run_ended`` the end."""
        if self.job is not None:
            self.sig_error_raised.emit("Training is running already",
                                       "Stop the current training run first, then improve the model.", "")
            return None
        self.review_run = True
        job = self._start(config, pairs)
        self.source_label.setText(f"From your review: {description}")
        self.status_label.setText(f"Improving {config.model if config.model != 'default' else 'the bundled model'} "
                                  f"from your review: {description}…")
        return job

    def _start(self, config, source) -> Job:
        self.ensure_plots()
        self.loss_plot.clear()
        self.eval_plot.clear()
        self.result = None
        self.result_label.hide()
        self.use_button.hide()
        self.progress.setValue(0)
        self.status_label.setText("Preparing the data and the base model…"
                                  + "".join(f"\n⚠ {w}" for w in config.warnings()))
        self.job = self._runner.submit("Training", _train_in_worker, config, source, lane="model",
                                       on_result=self._on_trained, on_error=self._on_failed)
        self.job.sig_partial_emitted.connect(self._on_partial)
        self.job.sig_done.connect(self._on_done)
        self._update_buttons()
        return self.job

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status_label.setText("Stopping at the next step…")
            self.stop_button.setEnabled(False)

    def _on_partial(self, point: dict) -> None:
        kind = point.get("kind")
        if kind == "loss":
            for name, value in (point.get("tasks") or {"loss": point["loss"]}).items():
                self.loss_plot.append(_task_title(name), point["step"], value)
        elif kind == "eval":
            self.eval_plot.append("AP", point["step"], point["ap"])
            self.eval_plot.append("F1", point["step"], point["f1"])
        elif kind == "progress":
            total = max(int(point.get("max_steps") or 1), 1)
            self.progress.setMaximum(total)
            self.progress.setValue(int(point["step"]))
            self.status_label.setText(f"Step {point['step']:,} of {total:,} · {format_rate(point)}")

    def _on_trained(self, result) -> None:
        self.result = result
        def score(m):
            return "—" if m is None else f"AP <b>{m.ap:.3f}</b> · F1 <b>{m.f1:.3f}</b>"
        state = "Stopped early; the model trained so far was saved" if result.cancelled else "Training finished"
        self.result_label.setText(
            f"<b>{state}</b> in {result.seconds:.0f} s ({result.samples_per_s:.1f} pairs/s, {result.steps:,} steps, "
            f"{result.n_train_pairs:,} training pairs, loss {result.loss}, "
            f"{result.device} {result.precision}).<br>"
            f"Held-out pairs ({result.n_eval_pairs:,}): base model {score(result.base)} → fine-tuned {score(result.trained)}"
            f"<br><small>{html.escape(str(result.output))}</small>"
            + "".join(f"<br>⚠ {html.escape(w)}" for w in result.warnings))
        self.result_label.show()
        self.use_button.show()
        self.status_label.setText(state)
        self.sig_training_finished.emit(result)

    def _on_failed(self, exc: BaseException, details: str = "") -> None:
        self.status_label.setText("Training failed")
        self.sig_error_raised.emit("Training failed", exc, details)

    def _on_done(self) -> None:
        if self.job is not None and self.job.outcome == "cancelled":
            self.status_label.setText("Cancelled before the first step")
        finished = self.job is not None and self.job.outcome == "result"
        self.job = None
        self._update_buttons()
        if self.review_run:
            self.sig_review_run_ended.emit(self.result if finished else None)

    def _on_use_clicked(self) -> None:
        """Hand the model to the Duplicates tab; first say what speaks against it, if anything."""
        if self.result is None:
            return
        notes = self.result.use_warnings()
        if notes:
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, "Use this model?",
                              "\n\n".join(notes) + "\n\nUse it for finding duplicates anyway?",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.setObjectName("use_model_question")
            box.setDefaultButton(QMessageBox.StandardButton.No)
            if box.exec() != QMessageBox.StandardButton.Yes:
                return
        self.sig_use_model_requested.emit(str(self.result.output))

    def is_busy(self) -> bool:
        return self.job is not None


def _task_title(name: str) -> str:
    from ..core.training.loss_info import LOSSES

    return LOSSES[name].title if name in LOSSES else name


def _train_in_worker(config, source, ctx):
    import gc

    from ..core.resources import app_data_dir
    from ..core.training.run import run_training

    # The trainer runs gc.collect() as it starts: with everything made since start-up moved out of
    # the collector's reach first, that takes a millisecond instead of holding the window up.
    gc.freeze()

    try:  # the same JSON `quoradup train --config FILE` reads; saved here, as fsync takes a while
        app_data_dir().mkdir(parents=True, exist_ok=True)
        config.save(app_data_dir() / "last-training-config.json")
    except OSError:
        pass
    return run_training(config, source, ctx)


def _double(low: float, high: float, value: float, decimals: int, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setToolTip(tip)
    if decimals >= 5:
        box.setSingleStep(1e-5)
    return box


def _int(low: int, high: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    if low == 0:
        box.setSpecialValueText("auto")
    return box
