"""The Train tab through the real window: start a tiny real run on the bundled model, watch the
plots receive points, stop it, see the result card, and hand the model to the Duplicates tab."""

from __future__ import annotations

import json

import pandas as pd
import pytest

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
    assert tab.start_button.isEnabled()

    tab.use_button.click()
    assert window.tabs.currentWidget() is window.duplicates_tab
    assert window.duplicates_tab.model_name() == str(result.output)


def test_gui_stays_responsive_while_training(qtbot, window, pair_file):
    """From Start to the saved result (data preparation, model load, steps, evaluations, live
    plots, stop, save) the GUI thread never stalls more than 100 ms, once the app has finished
    its background preloading (as `quoradup-gui` does by itself a few seconds after start)."""
    with qtbot.waitSignal(window.sig_heavy_imports_ready, timeout=180_000):
        window.start_heavy_imports()
    window.open_file(pair_file)
    wait_for_view(qtbot, window)
    window.select_tab("train")
    tab = window.train_tab
    tab.loss_combo.setCurrentIndex(tab.loss_combo.findData("multi-task"))
    tab.batch.setValue(8)
    tab.epochs.setValue(3)
    tab.eval_steps.setValue(3)
    qtbot.waitExposed(tab.loss_plot)  # the tab as the user sees it before pressing Start
    qtbot.wait(100)

    heartbeat = Heartbeat()
    heartbeat.start()
    assert tab.start() is not None
    qtbot.waitUntil(lambda: len(tab.eval_plot.points("AP")) >= 3, timeout=300_000)  # step 0 and two evaluations
    assert len(tab.loss_plot.points("loss")) >= 3
    tab.stop()
    with qtbot.waitSignal(tab.sig_training_finished, timeout=120_000):
        pass
    heartbeat.stop()
    assert tab.result is not None and tab.result.output.exists()
    assert heartbeat.beats > 50
    assert heartbeat.worst < 0.100, f"GUI thread stalled {heartbeat.worst * 1000:.0f} ms during training\n" + heartbeat.explain()
