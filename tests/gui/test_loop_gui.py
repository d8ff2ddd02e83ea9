"""Issue 13 in the window: Check pairs with the keys, Improve the model from the review with the
Train tab's plots, What changed, keep or go back; the GUI thread never stalls over 100 ms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.conftest import demo_truth

from .conftest import Heartbeat
from .test_duplicates_tab import open_and_mine
from .test_review_gui import at

THRESHOLD = 0.8


def check_pairs(qtbot, tab):
    qtbot.keyClick(QApplication.focusWidget() or tab, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert tab.page() == "check"
    qtbot.waitUntil(lambda: tab.pair_check.current is not None, timeout=20_000)
    return tab.pair_check


def answer_with_keys(qtbot, panel, n, same):
    """Answer ``n`` pairs with Y / N as the truth says; the pairs asked, in order."""
    asked = []
    for _ in range(n):
        pair = panel.current
        asked.append((pair.row1, pair.row2))
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Y if same(pair.row1, pair.row2) else Qt.Key.Key_N)
        qtbot.waitUntil(lambda p=pair: panel.current is not None and panel.current is not p, timeout=20_000)
    return asked


def journal(tab) -> bytes:
    return tab.session.log.path.read_bytes()


def test_check_pairs_with_the_keys_then_improve_and_go_back(qtbot, window, demo_copy, tmp_path):
    with qtbot.waitSignal(window.sig_heavy_imports_ready, timeout=180_000):
        window.start_heavy_imports()
    tab = open_and_mine(qtbot, window, demo_copy)
    at(qtbot, tab, THRESHOLD)
    same = demo_truth()

    # Too few answers: Improve says how many more and offers the queue.
    seen = []

    def answer_box():
        box = QApplication.activeModalWidget()
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == "Check pairs").click()

    QTimer.singleShot(0, answer_box)
    assert tab.improve_model() is False
    assert "Answer 20 more pairs" in seen[0] and tab.page() == "check"
    panel = tab.pair_check
    qtbot.waitUntil(lambda: panel.current is not None, timeout=20_000)
    tab.show_page("clusters")
    window.activateWindow()  # the message box had the keyboard
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    tab.focus_default()

    heartbeat = Heartbeat()
    heartbeat.start()
    panel = check_pairs(qtbot, tab)
    assert panel.isAncestorOf(QApplication.focusWidget()) or QApplication.focusWidget() is panel
    asked = answer_with_keys(qtbot, panel, 30, same)
    assert len(set(asked)) == 30  # never the same pair twice
    if os.environ.get("QUORADUP_CHECK_PNG"):
        window.grab().save(os.environ["QUORADUP_CHECK_PNG"])
    rows = [r for pair in asked[:20] for r in pair]
    assert len(set(rows)) == len(rows)  # spread: the first twenty pairs share no question
    dup, not_dup, _unsure = tab.session.resolved.answer_counts()
    assert dup + not_dup == 30 and dup >= 5 and not_dup >= 5
    assert panel.count_label.text() == f"30 answered · {dup} duplicate{'s' if dup != 1 else ''} · {not_dup} not"
    # each answer is applied to the clusters at once
    a, b = next(p for p in asked if same(*p))
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=20_000)
    assert tab.clustering.labels[a] == tab.clustering.labels[b]

    by_keys = journal(tab)  # compared with `quoradup review --answers` below

    # Ctrl+Z takes the last answer back and asks that pair again; S skips; U is unsure
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (panel.current.row1, panel.current.row2) == asked[-1]
    assert panel.count_label.text().startswith("29 answered")
    answer_with_keys(qtbot, panel, 1, same)
    skipped = (panel.current.row1, panel.current.row2)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_S)
    assert (panel.current.row1, panel.current.row2) != skipped
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_U)
    qtbot.waitUntil(lambda: panel.count_label.text().endswith("1 unsure"), timeout=10_000)

    # Improve: the Train tab runs it with its plots; then What changed
    model_before = tab.model_name()
    assert tab.improve_model() is True
    assert window.tabs.currentWidget() is window.train_tab
    qtbot.waitUntil(lambda: window.train_tab.review_run and window.train_tab.is_busy(), timeout=5_000)
    assert "From your review: 30 labelled pairs" in window.train_tab.source_label.text()
    qtbot.waitUntil(lambda: tab.changes_panel.comparison is not None, timeout=600_000)
    heartbeat.stop()
    assert window.tabs.currentWidget() is tab and tab.page() == "changes"
    assert len(window.train_tab.eval_plot.points("AP")) >= 2  # before and after, on the plots
    result = tab.changes_panel.result
    assert result.output.is_dir() and str(result.output) != model_before
    summary = tab.changes_panel.summary_label.text()
    assert "Held-out pairs" in summary and "threshold 0.800" in summary
    diff = tab.changes_panel.comparison.diff
    assert tab.changes_panel.change_table.rowCount() == len(diff.changes)
    assert tab.changes_panel.pair_table.rowCount() == min(len(diff.crossed), 500)
    assert diff.changes or diff.crossed  # 30 answers moved something
    if diff.changes:
        tab.changes_panel.change_table.selectRow(0)
        assert tab.changes_panel.members.count() >= 2
    if os.environ.get("QUORADUP_LOOP_PNG"):
        window.grab().save(os.environ["QUORADUP_LOOP_PNG"])
    assert heartbeat.worst < 0.100, f"GUI thread stalled {heartbeat.worst * 1000:.0f} ms\n" + heartbeat.explain()

    # the keys and `quoradup review --answers` write the same journal
    answers = tmp_path / "answers.csv"
    answers.write_text("row1,row2,is_duplicate\n" + "".join(f"{x + 1},{y + 1},{int(same(x, y))}\n" for x, y in asked),
                       encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "cli-data")}
    done = subprocess.run([sys.executable, "-m", "quoradup_gui.cli", "review", str(demo_copy), "--answers",
                           str(answers)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (cli_journal,) = (tmp_path / "cli-data" / "quoradup" / "sessions").glob("*.jsonl")
    assert cli_journal.read_bytes() == by_keys

    # Go back: the model in use stays; the improved one is listed for later
    tab.changes_panel.back_button.click()
    assert tab.page() == "clusters" and tab.model_name() == model_before
    assert tab.model_combo.findData(str(result.output)) >= 0
    assert tab.mined.model_fingerprint == tab.changes_panel.comparison.before.model_fingerprint \
        if tab.changes_panel.comparison else True


def test_keep_the_improved_model(qtbot, window, demo_copy):
    from quoradup_gui.core.review.queue import pair_queue

    tab = open_and_mine(qtbot, window, demo_copy)
    at(qtbot, tab, THRESHOLD)
    same = demo_truth()
    for p in pair_queue(tab.mined, tab.clustering, tab.resolved, 30):
        tab.session.answer(p.row1, p.row2, "duplicate" if same(p.row1, p.row2) else "not")
    before = tab.mined
    assert tab.improve_model() is True
    qtbot.waitUntil(lambda: tab.changes_panel.comparison is not None, timeout=600_000)
    comparison, result = tab.changes_panel.comparison, tab.changes_panel.result
    notes = result.use_warnings(uncertainty=False)
    if notes:  # a model that scored worse is kept only when the user says so
        QTimer.singleShot(0, lambda: QApplication.activeModalWidget().button(QMessageBox.StandardButton.Yes).click())
    tab.changes_panel.keep_button.click()
    assert tab.model_name() == str(result.output) and tab.mined is comparison.after and tab.mined is not before
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.clustering is not None, timeout=20_000)
    assert tab.clustering.threshold == pytest.approx(THRESHOLD)
    assert tab.page() == "clusters" and not tab.page_buttons["changes"].isVisible()


def test_check_pairs_shows_questions_as_typed(qtbot, window, tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    texts = ["How do I reset my password?", "<b>How</b> can I reset my password?", "Why is the sky blue?",
             "Where is my parcel?", "Where's my package?"]
    path = tmp_path / "html.csv"
    pd.DataFrame({"question": texts}).to_csv(path, index=False)
    tab = open_and_mine(qtbot, window, path)
    at(qtbot, tab, 0.7)
    panel = check_pairs(qtbot, tab)
    shown = [label.text() for label in panel.text_labels]
    pair = panel.current
    assert shown == [texts[pair.row1], texts[pair.row2]]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in panel.text_labels)
