"""Issue 12.10 and 12.7: the panel says what Find duplicates is doing; Cancel says how much was
encoded and kept; a file mined before shows its clusters when it opens again; the model picker
lists the app's trained models and the folders chosen before."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from quoradup_gui.gui.main_window import MainWindow

from .conftest import wait_for_view, write_csv
from .test_duplicates_tab import open_and_mine

SUBJECTS = ["password", "invoice", "parcel", "refund", "account", "printer", "battery", "screen", "login", "upgrade"]


def many_questions(path, n=3000):
    rows = [[f"Question {i}: how do I fix the {SUBJECTS[i % 10]} issue number {i} on my device model {i * 7}?"]
            for i in range(n)]
    return write_csv(path, ["question"], rows)


def test_find_says_what_it_does_and_cancel_says_what_was_kept(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = many_questions(tmp_path / "many.csv")
    window.open_file(path)
    wait_for_view(qtbot, window)
    window.select_tab("duplicates")
    tab = window.duplicates_tab
    qtbot.waitUntil(lambda: tab.review is not None and not tab.is_busy(), timeout=30_000)
    assert "Press <b>Find duplicates</b>" in tab.counts_label.text()
    job = tab.find_duplicates()
    qtbot.waitUntil(lambda: "Encoding" in tab.counts_label.text() and "ETA" in tab.counts_label.text(), timeout=120_000)
    assert "Press" not in tab.counts_label.text()
    job.cancel()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=60_000)
    text = tab.counts_label.text()
    assert text.startswith("Cancelled — ") and "of 3,000 questions encoded, kept for next time" in text, text
    done = int(text.split("Cancelled — ")[1].split(" of ")[0].replace(",", ""))
    assert 0 < done < 3000


def test_a_file_mined_before_shows_its_clusters_on_opening(qtbot, window, faq, tmp_path):
    open_and_mine(qtbot, window, faq)
    again = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    try:
        again.open_file(faq)
        wait_for_view(qtbot, again)
        again.select_tab("duplicates")
        tab = again.duplicates_tab
        qtbot.waitUntil(lambda: tab.clustering is not None, timeout=60_000)  # no Find pressed
        assert "from cache" in tab.info_label.text()
    finally:
        again.runner.shutdown()


def test_the_model_picker_lists_trained_models_and_chosen_folders(qtbot, settings, tmp_path, monkeypatch):
    from quoradup_gui.core.encode.models import bundled_model_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    trained = tmp_path / "data" / "quoradup" / "models" / "all-MiniLM-L6-v2-multi-task-20261201-101500"
    trained.mkdir(parents=True)
    (trained / "modules.json").write_text((bundled_model_path() / "modules.json").read_text())
    record = {"finished_at": "2026-12-01T10:15:00", "base_model": "all-MiniLM-L6-v2 (bundled)",
              "config": {"loss": "multi-task"}, "trained": {"ap": 0.8123}, "base": {"ap": 0.75},
              "data": {"n_eval_pairs": 120}, "cancelled": False, "worse_than_base": False}
    (trained / "quoradup_training.json").write_text(json.dumps(record))
    chosen = tmp_path / "my-model"
    chosen.mkdir()
    (chosen / "config.json").write_text("{}")

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    window.select_tab("duplicates")  # the picker reads the model folder when the tab shows
    try:
        combo = window.duplicates_tab.model_combo
        labels = [combo.itemText(i) for i in range(combo.count())]
        assert labels[0].startswith("default") and labels[-1] == "Choose a model folder…"
        assert labels[1] == ("all-MiniLM-L6-v2-multi-task-20261201-101500 · all-MiniLM-L6-v2 (bundled) · multi-task · "
                             "2026-12-01 10:15 · AP 0.812")
        assert "Held-out AP 0.812 (base model 0.750) on 120 pairs" in combo.itemData(1, 3)  # the tooltip
        window.duplicates_tab.add_model(str(chosen))
        assert window.duplicates_tab.model_name() == str(chosen)
    finally:
        window.runner.shutdown()
    again = MainWindow(settings)  # chosen folders are remembered
    qtbot.addWidget(again)
    again.show()
    again.select_tab("duplicates")
    try:
        combo = again.duplicates_tab.model_combo
        assert combo.findData(str(chosen)) > 0 and combo.findData(str(trained)) > 0
    finally:
        again.runner.shutdown()
