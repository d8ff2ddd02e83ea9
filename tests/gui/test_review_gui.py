"""Issue 11 in the window: Enter only confirms from the tables, one gesture one undo, Unconfirm,
"confirmed, N new", no undo across files, unexpected errors with their traceback."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from .conftest import wait_for_view
from .test_duplicates_tab import open_and_mine, wait_reclustered


def at(qtbot, tab, threshold):
    tab.set_threshold(threshold)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(threshold), timeout=20_000)
    wait_reclustered(qtbot, tab)


def select_cluster_of(tab, row):
    tab.cluster_table.selectRow(tab.cluster_model.row_of_cluster(int(tab.clustering.labels[row])))


def test_enter_in_the_threshold_box_or_the_filter_applies_the_box_and_confirms_nothing(qtbot, window, faq):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.75)
    tab.cluster_table.selectRow(0)
    tab.spin.setFocus()
    tab.spin.selectAll()
    qtbot.keyClicks(tab.spin, "0.8")
    qtbot.keyClick(tab.spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.8), timeout=20_000)
    wait_reclustered(qtbot, tab)
    tab.filter_edit.setFocus()
    qtbot.keyClicks(tab.filter_edit, "password")
    qtbot.keyClick(tab.filter_edit, Qt.Key.Key_Return)
    qtbot.keyClick(tab.filter_edit, Qt.Key.Key_Enter)
    assert len(tab.decisions) == 0
    tab.cluster_table.setFocus()
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)  # from the cluster list it does confirm
    assert len(tab.decisions) == 1


def test_not_a_duplicate_on_two_members_is_one_undo(qtbot, window, faq):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.75)
    select_cluster_of(tab, 0)
    kept = int(tab.clustering.canonical[tab.current_cluster_id()])
    out = [r for r in (0, 1, 2, 3) if r != kept][:2]
    tab.member_table.setFocus()
    for r in out:
        tab.member_table.selectionModel().select(
            tab.member_model.index(list(tab.member_model.row_ids()).index(r), 0),
            tab.member_table.selectionModel().SelectionFlag.Select | tab.member_table.selectionModel().SelectionFlag.Rows)
    qtbot.keyClick(tab.member_table, Qt.Key.Key_Delete)
    wait_reclustered(qtbot, tab)
    assert all(tab.clustering.labels[r] != tab.clustering.labels[kept] for r in out)
    assert len(tab.decisions) == 1 and tab.undo_action.text() == "Undo 2 not duplicates"
    assert int(tab.clustering.canonical[tab.clustering.labels[kept]]) == kept  # the ★ did not move
    qtbot.keyClick(tab.member_table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_reclustered(qtbot, tab)
    assert all(tab.clustering.labels[r] == tab.clustering.labels[kept] for r in out)


def test_confirmed_then_new_members_then_unconfirm(qtbot, window, faq):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.9)
    select_cluster_of(tab, 4)  # {4, 6}; "package" (5) is at 0.71
    tab.cluster_table.setFocus()
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)
    wait_reclustered(qtbot, tab)
    at(qtbot, tab, 0.6)  # a lower threshold brings "package" in (0.71 with torch; int8 differs a little)
    row = tab.cluster_model.row_of_cluster(int(tab.clustering.labels[4]))
    assert tab.cluster_model.data(tab.cluster_model.index(row, 2)).startswith("✔ confirmed, 1 new · ")
    select_cluster_of(tab, 4)
    texts = [tab.member_model.data(tab.member_model.index(i, 0)) for i in range(tab.member_model.rowCount())]
    assert [t for t in texts if "new · " in t] == ["new · Where is my package?"]
    tab.cluster_table.setFocus()
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    wait_reclustered(qtbot, tab)
    row = tab.cluster_model.row_of_cluster(int(tab.clustering.labels[4]))
    assert "✔" not in tab.cluster_model.data(tab.cluster_model.index(row, 2))
    assert tab.undo_action.text() == "Undo unconfirm cluster of 3"


def test_undo_after_opening_another_file_never_reaches_the_first(qtbot, window, faq, tmp_path):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.75)
    tab.cluster_table.setFocus()
    tab.cluster_table.selectRow(0)
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)
    journal = tab.decisions.path
    lines = journal.read_text(encoding="utf-8")
    other = tmp_path / "other.csv"
    pd.DataFrame({"question": ["What is X?", "What is Y?", "Why Z?"]}).to_csv(other, index=False)
    window.open_file(other)
    wait_for_view(qtbot, window)
    assert not tab.undo_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    tab.undo()  # also called directly: nothing happens, nothing raises
    qtbot.wait(100)
    assert journal.read_text(encoding="utf-8") == lines
    assert not window.error_banner.isVisible()


def test_an_unexpected_error_reaches_the_log_with_its_traceback_and_details(qtbot, window, faq, tmp_path,
                                                                          monkeypatch, caplog):
    from quoradup_gui.core.review import session as session_module

    tab = open_and_mine(qtbot, window, faq)

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(session_module, "export_review", broken)
    with caplog.at_level(logging.INFO):
        job = tab.export("dedup", tmp_path / "out.csv")
        qtbot.waitUntil(lambda: job.outcome == "error", timeout=10_000)
        qtbot.waitUntil(window.error_banner.isVisible, timeout=5_000)
    assert "Export failed" in window.error_banner.text() and "Unexpected error: ZeroDivisionError" in window.error_banner.text()
    assert window.error_banner.details_button.isVisibleTo(window.error_banner)
    assert "Traceback" in window.error_banner.details and "broken" in window.error_banner.details
    record = next(r for r in caplog.records if "failed" in r.getMessage() and r.exc_info)
    assert record.levelno == logging.ERROR


@pytest.mark.parametrize("typed", ["0.84", "0.875", "0.9", "0.613"])
def test_a_typed_threshold_is_kept_exactly_keystroke_by_keystroke(qtbot, window, faq, typed):
    """Issue 12.1: typing 0.84 gave 0.800 and 0.875 gave 0.870 (the box reformatted after every key)."""
    tab = open_and_mine(qtbot, window, faq)
    tab.spin.setFocus()
    tab.spin.lineEdit().selectAll()
    for ch in typed:
        qtbot.keyClick(tab.spin, ch)
    assert tab.spin.value() == pytest.approx(float(typed))
    assert tab.slider.value() == round(float(typed) * 1000)
    qtbot.keyClick(tab.spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(float(typed)), timeout=20_000)
    tab.slider.setValue(777)  # and the box follows the slider
    assert tab.spin.value() == pytest.approx(0.777)


def test_a_threshold_change_pending_at_quit_does_nothing(qtbot, window, faq):
    """The slider's debounce fires 150 ms after the last move; if the window quit meanwhile, it
    must not try to start a clustering job (it raised "JobRunner is shut down" in the event loop)."""
    tab = open_and_mine(qtbot, window, faq)
    tab.set_threshold(0.7)
    window.runner.shutdown()
    qtbot.wait(400)  # pytest-qt fails the test if the timer's slot raised
    assert tab._cluster_job is None or not tab._cluster_job.is_running()


def test_reviewed_count_unreviewed_only_and_shown_count(qtbot, window, faq):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.75)
    total = tab.cluster_model.rowCount()
    assert total >= 3
    assert tab.review_count_label.text() == f"Reviewed 0 of {total} clusters"
    tab.cluster_table.selectRow(0)
    tab.cluster_table.setFocus()
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)
    wait_reclustered(qtbot, tab)
    assert tab.review_count_label.text() == f"Reviewed 1 of {total} clusters"
    tab.unreviewed_check.setChecked(True)
    assert tab.cluster_model.rowCount() == total - 1
    assert tab.review_count_label.text() == f"Reviewed 1 of {total} clusters · {total - 1} of {total} shown"
    assert all(not tab.cluster_model.data(tab.cluster_model.index(r, 2)).startswith("✔")
               for r in range(tab.cluster_model.rowCount()))
    tab.unreviewed_check.setChecked(False)
    tab.filter_edit.setText("password")
    shown = tab.cluster_model.rowCount()
    assert 1 <= shown < total and tab.review_count_label.text().endswith(f" · {shown} of {total} shown")
