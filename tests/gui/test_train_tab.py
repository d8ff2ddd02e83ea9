"""The Train tab through the real window: start a tiny real run on the bundled model, watch the
plots receive points, stop it, see the result card, and hand the model to the Duplicates tab."""

from __future__ import annotations

import json
import os
import re
import time

import pandas as pd
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from quoradup_gui.core.resources import demo_collection_path, resource_path

from .conftest import Heartbeat, wait_for_view


@pytest.fixture
def pair_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    demo = pd.read_csv(demo_collection_path()).set_index("id")["question"]
    groups = json.loads(resource_path("demo_groups.json").read_text())["paraphrase_groups"]
    rows = []
    for g, h in zip(groups, groups[1:] + groups[:1]):
        rows.append((demo[g[0]], demo[g[1]], 1))
        rows.append((demo[g[0]], demo[h[-1]], 0))
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"]).to_csv(path, index=False)
    return path


def open_train_tab(qtbot, window, pair_file, loss: str, epochs: float, eval_steps: int, max_pairs: int = 0):
    """The pair file opened, the Train tab shown and set up for a tiny run (batches of 8)."""
    window.open_file(pair_file)
    wait_for_view(qtbot, window)
    window.select_tab("train")
    tab = window.train_tab
    tab.loss_combo.setCurrentIndex(tab.loss_combo.findData(loss))
    tab.batch.setValue(8)
    tab.epochs.setValue(epochs)
    tab.eval_steps.setValue(eval_steps)
    tab.max_pairs.setValue(max_pairs)
    return tab


def test_train_start_plot_stop_result_and_use(qtbot, window, pair_file, tmp_path):
    window.open_file(pair_file)
    wait_for_view(qtbot, window)
    window.select_tab("train")
    tab = window.train_tab
    assert tab.start_button.isEnabled()
    assert "120 pairs" in tab.source_label.text()
    tab.loss_combo.setCurrentIndex(tab.loss_combo.findData("online-contrastive"))
    assert "hardest" in tab.loss_help.text()
    tab.batch.setValue(8)
    tab.epochs.setValue(3)
    tab.eval_steps.setValue(4)

    job = tab.start()
    assert job is not None and not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(tab.loss_plot.points("loss")) >= 3, timeout=300_000)
    assert len(tab.eval_plot.points("AP")) >= 1  # the base model's score at step 0 at least
    tab.stop()
    with qtbot.waitSignal(tab.sig_training_finished, timeout=120_000):
        pass
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    result = tab.result
    assert result.cancelled and result.output.exists()
    assert tab.result_label.isVisible() and "Stopped early" in tab.result_label.text()
    assert "base model" in tab.result_label.text()
    assert f"{result.device} {result.precision})" in tab.result_label.text()  # which precision "auto" chose
    assert tab.start_button.isEnabled()

    # A run stopped early on a dozen held-out pairs: Use this model says so first (issue 12.7).
    seen = []

    def answer(button):
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "use_model_question":
            QTimer.singleShot(20, lambda: answer(button))
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.No))
    tab.use_button.click()
    assert window.tabs.currentWidget() is not window.duplicates_tab  # No: nothing handed over
    assert seen and "stopped before it was scored" in seen[0]
    QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
    tab.use_button.click()
    assert window.tabs.currentWidget() is window.duplicates_tab
    assert window.duplicates_tab.model_name() == str(result.output)


def test_gui_stays_responsive_while_training(qtbot, window, pair_file):
    """From Start to the saved result (data preparation, model load, steps, evaluations, live
    plots, stop, save) the GUI thread never stalls more than 100 ms, once the app has finished
    its background preloading (as `quoradup-gui` does by itself a few seconds after start)."""
    with qtbot.waitSignal(window.sig_heavy_imports_ready, timeout=180_000):
        window.start_heavy_imports()
    tab = open_train_tab(qtbot, window, pair_file, "multi-task", epochs=3, eval_steps=3)
    qtbot.waitExposed(tab.loss_plot)  # the tab as the user sees it before pressing Start
    qtbot.wait(100)

    heartbeat = Heartbeat()
    heartbeat.start()
    assert tab.start() is not None
    qtbot.waitUntil(lambda: len(tab.eval_plot.points("AP")) >= 3, timeout=300_000)  # step 0 and two evaluations
    assert sum(len(tab.loss_plot.points(name)) for name in tab.loss_plot.curve_names()) >= 3  # per task
    tab.stop()
    with qtbot.waitSignal(tab.sig_training_finished, timeout=120_000):
        pass
    heartbeat.stop()
    assert tab.result is not None and tab.result.output.exists()
    assert heartbeat.beats > 50
    assert heartbeat.worst < 0.100, f"GUI thread stalled {heartbeat.worst * 1000:.0f} ms during training\n" + heartbeat.explain()


def _rate(text: str) -> str | None:
    match = re.search(r"([\d.,]+) pairs/s", text)
    return match.group(1) if match else None


def test_training_plots_read_right(qtbot, window, pair_file, tmp_path):
    """After a short multi-task run: each task's loss has its own curve, the axes show the values
    themselves (no "score (x0.001)" with ticks 635–665), the step axis starts at 0, and the
    status bar shows the pairs/s the tab shows."""
    window.resize(1400, 900)
    tab = open_train_tab(qtbot, window, pair_file, "multi-task", epochs=0.5, eval_steps=3, max_pairs=60)

    job = tab.start()
    assert job is not None
    compared = []

    def on_status(text: str) -> None:  # queued after the tab and the status bar took the same report
        if "pairs/s" in text and window.job_progress.current_job() is job:
            compared.append((_rate(text), _rate(tab.status_label.text()), _rate(window.job_progress.bar.format())))

    job.sig_status_changed.connect(on_status, Qt.ConnectionType.QueuedConnection)
    with qtbot.waitSignal(tab.sig_training_finished, timeout=300_000):
        pass
    assert tab.result is not None and not tab.result.cancelled
    assert compared and all(status == in_tab == bar is not None for status, in_tab, bar in compared), compared

    # the multi-task loss, one curve per task, each with a point per logged step of its own
    assert sorted(tab.loss_plot.curve_names()) == ["Multiple negatives ranking", "Online contrastive"]
    assert all(len(tab.loss_plot.points(name)) >= 1 for name in tab.loss_plot.curve_names())
    assert len(tab.eval_plot.points("AP")) >= 2
    qtbot.wait(200)  # the last points drawn and the axes laid out
    for plot in (tab.loss_plot, tab.eval_plot):
        low, high = plot.x_range()
        assert low >= 0, f"the step axis of {plot.widget.plotItem.titleLabel.text} starts at {low}"
        for side in ("left", "bottom"):
            label, ticks = plot.axis_texts(side)
            assert "(x" not in label and "×" not in label, label
            axis = plot.widget.getAxis(side)
            lo, hi = sorted(axis.range)
            span = hi - lo
            # the tick texts are the values themselves, within the axis' range
            assert ticks and all(lo - span <= float(t) <= hi + span for t in ticks), (side, axis.range, ticks)
    _, steps = tab.eval_plot.axis_texts("bottom")
    assert all(float(t).is_integer() for t in steps), steps  # no step 2.5
    _, scores = tab.eval_plot.axis_texts("left")
    assert all(0 <= float(t) <= 1.05 for t in scores), scores  # AP and F1 as they are: 0 to 1, never 1.4
    # the tab as the user sees it, for a look (QUORADUP_TRAIN_PLOTS_PNG names where to keep it)
    assert tab.grab().save(os.environ.get("QUORADUP_TRAIN_PLOTS_PNG") or str(tmp_path / "train_plots.png"))


def test_a_bad_base_model_name_fails_in_seconds(qtbot, window, pair_file, monkeypatch):
    """A name that is no folder, not cached, with the hub unreachable: the banner says so within 5 s."""
    from quoradup_gui.core.encode.hub import forget_answers

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # connection refused, like a machine offline
    forget_answers()
    tab = open_train_tab(qtbot, window, pair_file, "online-contrastive", epochs=1, eval_steps=0)
    tab.model_edit.clear()
    qtbot.keyClicks(tab.model_edit, "made-up-org/no-such-model")
    start = time.perf_counter()
    assert tab.start() is not None
    qtbot.waitUntil(lambda: window.error_banner.isVisible() and not tab.is_busy(), timeout=30_000)
    elapsed = time.perf_counter() - start
    text = window.error_banner.text()
    assert "Training failed" in text
    assert ("Model 'made-up-org/no-such-model' was not found: it is not a model folder, it is not in the local "
            "Hugging Face cache, and the Hugging Face Hub cannot be reached") in text
    assert "Check the name" in text and "connection refused" in text
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert tab.status_label.text() == "Training failed" and tab.start_button.isEnabled()
    forget_answers()
