"""Issue 12.2: the Duplicates tab without a mouse. Ctrl+3 puts the keyboard in the tab, its
shortcuts work from wherever the focus is in it, Tab leaves the tables, F6 switches between the
cluster list and its questions, Esc clears the filter, and a whole review is done with keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from .conftest import wait_for_view
from .test_duplicates_tab import wait_reclustered
from .test_review_gui import at

CTRL = Qt.KeyboardModifier.ControlModifier


def key(qtbot, k, modifier=Qt.KeyboardModifier.NoModifier):
    """A key press where the user's focus is (as a real keyboard delivers it)."""
    qtbot.keyClick(QApplication.focusWidget(), k, modifier)


def focus(qtbot, widget):
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2_000)


def test_review_by_keyboard_alone(qtbot, window, faq):
    with open(faq, "a", encoding="utf-8") as fh:  # a collection never mined before: nothing shows until Find
        fh.write("99,How do I use quoradup with only a keyboard?\n")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.open_file(faq)
    wait_for_view(qtbot, window)
    tab = window.duplicates_tab
    key(qtbot, Qt.Key.Key_3, CTRL)
    assert window.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.review is not None and not tab.is_busy(), timeout=30_000)
    # Before anything is mined the review actions are greyed out, and so are Undo and Redo.
    assert not tab.confirm_action.isEnabled() and not tab.split_action.isEnabled()
    assert not tab.undo_action.isEnabled() and not tab.redo_action.isEnabled()
    focus(qtbot, tab.find_button)
    with qtbot.waitSignal(tab.sig_clustering_changed, timeout=240_000):
        key(qtbot, Qt.Key.Key_F, CTRL)  # Find duplicates, from the keyboard
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    focus(qtbot, tab.cluster_table)  # the clusters are there: the keyboard goes to them
    at(qtbot, tab, 0.75)

    # Ctrl+1 and back: the keyboard lands on the cluster list, with a cluster selected.
    key(qtbot, Qt.Key.Key_1, CTRL)
    key(qtbot, Qt.Key.Key_3, CTRL)
    focus(qtbot, tab.cluster_table)
    assert tab.current_cluster_id() is not None

    # Tab is not trapped in the tables; Shift+Tab goes back.
    key(qtbot, Qt.Key.Key_Tab)
    focus(qtbot, tab.member_table)
    key(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not tab.member_table
    key(qtbot, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    focus(qtbot, tab.member_table)
    # F6 switches between the two lists.
    key(qtbot, Qt.Key.Key_F6)
    focus(qtbot, tab.cluster_table)
    key(qtbot, Qt.Key.Key_F6)
    focus(qtbot, tab.member_table)

    # Review: take the second question out (Delete), undo (Ctrl+Z), confirm (Enter).
    cluster = tab.current_cluster_id()
    rows = list(tab.member_model.row_ids())
    assert len(rows) >= 2
    key(qtbot, Qt.Key.Key_Down)
    key(qtbot, Qt.Key.Key_Delete)
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[rows[1]] != tab.clustering.labels[rows[0]]
    assert len(tab.decisions) == 1
    key(qtbot, Qt.Key.Key_Z, CTRL)
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[rows[1]] == tab.clustering.labels[rows[0]]
    key(qtbot, Qt.Key.Key_F6)
    focus(qtbot, tab.cluster_table)
    key(qtbot, Qt.Key.Key_Return)
    wait_reclustered(qtbot, tab)
    assert tab.session.resolved.constraints.must_link, "Enter in the cluster list confirms"
    del cluster

    # Ctrl+L: the filter; Esc clears it and leaves the rest alone; Alt+S: the threshold box.
    key(qtbot, Qt.Key.Key_L, CTRL)
    focus(qtbot, tab.filter_edit)
    qtbot.keyClicks(tab.filter_edit, "password")
    qtbot.waitUntil(lambda: tab.cluster_model.rowCount() >= 1, timeout=5_000)
    key(qtbot, Qt.Key.Key_Escape)
    assert tab.filter_edit.text() == ""
    key(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    focus(qtbot, tab.spin)
