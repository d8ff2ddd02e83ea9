"""The Duplicates tab through the real window on the demo collection: find, threshold, review,
undo/redo, export (files checked row by row), close, reopen with the decisions restored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QSettings, Qt

from quoradup_gui.gui.main_window import MainWindow

from .conftest import wait_for_view

MINE_TIMEOUT = 240_000


def open_and_mine(qtbot, window, path):
    window.open_file(path)
    wait_for_view(qtbot, window)
    window.select_tab("duplicates")
    tab = window.duplicates_tab
    qtbot.waitUntil(lambda: tab.review is not None and not tab.is_busy(), timeout=30_000)
    with qtbot.waitSignal(tab.sig_clustering_changed, timeout=MINE_TIMEOUT):
        tab.find_duplicates()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    return tab


def click_member(qtbot, tab, row: int) -> None:
    index = tab.member_model.index(list(tab.member_model.row_ids()).index(row), 0)
    rect = tab.member_table.visualRect(index)
    qtbot.mouseClick(tab.member_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def wait_reclustered(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=20_000)


def test_find_threshold_and_mode(qtbot, window, demo_copy, settings):
    tab = open_and_mine(qtbot, window, demo_copy)
    assert tab.clustering.n == 319
    assert "duplicate clusters" in tab.counts_label.text()
    assert tab.cluster_model.rowCount() == tab.clustering.n_multi > 0
    first = tab.clustering
    tab.set_threshold(0.95)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.95), timeout=20_000)
    assert tab.slider.value() == 950 and tab.spin.value() == pytest.approx(0.95)
    assert tab.histogram.threshold == pytest.approx(0.95)
    assert tab.clustering.n_removed <= first.n_removed
    tab.slider.setValue(800)  # the slider drives the number box and re-clusters (debounced)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.8), timeout=20_000)
    assert tab.clustering.n_removed >= first.n_removed
    assert tab.clustering.mode == "kept" and tab.mode_combo.currentText() == "Kept question"  # the default
    tab.mode_combo.setCurrentIndex(tab.mode_combo.findData("community"))
    qtbot.waitUntil(lambda: tab.clustering.mode == "community", timeout=20_000)
    assert f"{tab.clustering.n_removed:,}" in tab.counts_label.text()
    again = MainWindow(settings)  # the mode chosen is remembered
    qtbot.addWidget(again)
    assert again.duplicates_tab.mode_combo.currentData() == "community"
    again.runner.shutdown()


def test_review_undo_export_and_restore(qtbot, settings, demo_copy, tmp_path):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    tab = open_and_mine(qtbot, window, demo_copy)
    tab.set_threshold(0.8)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.8), timeout=20_000)
    wait_reclustered(qtbot, tab)
    texts = tab.review.texts

    # Enter confirms the current (largest) cluster and moves on to the next.
    tab.cluster_table.setFocus()
    tab.cluster_table.selectRow(0)
    confirmed = tab.current_cluster_rows().copy()
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)
    wait_reclustered(qtbot, tab)
    assert len(tab.decisions) == 1
    assert tab.cluster_table.currentIndex().row() == 1
    assert "✔" in tab.cluster_model.data(tab.cluster_model.index(tab.cluster_model.row_of_cluster(
        int(tab.clustering.labels[confirmed[0]])), 2))

    # Delete splits a member out of the current cluster.
    tab.cluster_table.selectRow(1)
    rows = tab.current_cluster_rows()
    canonical = int(tab.clustering.canonical[tab.current_cluster_id()])
    member = int(next(r for r in rows if r != canonical))
    tab.member_table.setFocus()
    tab.member_table.selectRow(list(tab.member_model.row_ids()).index(member))
    qtbot.keyClick(tab.member_table, Qt.Key.Key_Delete)
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[member] != tab.clustering.labels[canonical]

    # Ctrl+Z brings it back, Ctrl+Shift+Z splits it again.
    qtbot.keyClick(tab.member_table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[member] == tab.clustering.labels[canonical]
    qtbot.keyClick(tab.member_table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[member] != tab.clustering.labels[canonical]

    # Choose another kept question in a third cluster.
    tab.cluster_table.selectRow(2)
    rows3 = tab.current_cluster_rows()
    keep = int(next(r for r in rows3 if r != tab.clustering.canonical[tab.current_cluster_id()]))
    click_member(qtbot, tab, keep)
    assert tab.selected_member_rows() == [keep]
    tab.make_selected_canonical()
    wait_reclustered(qtbot, tab)
    assert tab.resolved.constraints.canonical == (keep,), (tab.decisions.applied[-1], tab.resolved)
    assert keep in tab.clustering.canonical

    # Edit the kept question's text: the export writes the new text.
    tab.edit_canonical_text("How do I reset my password? (edited)")
    wait_reclustered(qtbot, tab)
    edited_row = int(tab.clustering.canonical[tab.current_cluster_id()])
    assert "(edited)" in tab.member_model.data(tab.member_model.index(0, 0))

    # The threshold moves; the decisions hold.
    tab.set_threshold(0.9)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.9), timeout=20_000)
    wait_reclustered(qtbot, tab)
    assert len(set(tab.clustering.labels[confirmed])) == 1  # confirmed: together at any threshold
    assert tab.clustering.labels[member] != tab.clustering.labels[canonical]

    # Export all three files and check them row by row.
    clustering = tab.clustering
    original = pd.read_csv(demo_copy)
    for kind, name in (("dedup", "dedup.csv"), ("annotated", "clusters.xlsx"), ("pairs", "pairs.csv")):
        job = tab.export(kind, tmp_path / name)
        with qtbot.waitSignal(job.sig_done, timeout=20_000):
            pass
        assert job.outcome == "result", job.traceback_text
    dedup = pd.read_csv(tmp_path / "dedup.csv")
    kept_rows = np.sort(clustering.canonical)
    assert list(dedup.columns) == list(original.columns)
    assert dedup["id"].tolist() == original["id"].iloc[kept_rows].tolist()
    assert len(dedup) == 319 - clustering.n_removed
    assert original["id"].iloc[member] in set(dedup["id"])  # split out: kept as its own question
    edited = dedup.loc[dedup["id"] == original["id"].iloc[edited_row], "question"]
    assert edited.tolist() == ["How do I reset my password? (edited)"]
    annotated = pd.read_excel(tmp_path / "clusters.xlsx")
    assert annotated["row"].tolist() == list(range(1, 320))
    assert annotated["cluster_id"].tolist() == clustering.labels.tolist()
    assert annotated["is_canonical"].sum() == clustering.n_clusters
    assert annotated["id"].tolist() == original["id"].tolist()
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert list(pairs.columns) == ["question1", "question2", "is_duplicate"]
    assert ((pairs["is_duplicate"] == 0) & (pairs["question1"].isin([texts[member], texts[canonical]]))
            & (pairs["question2"].isin([texts[member], texts[canonical]]))).any()
    assert (pairs["is_duplicate"] == 1).sum() >= len(confirmed) - 1
    assert pd.read_csv(demo_copy).equals(original)  # the input file is untouched
    window.close()

    # Reopen: the decisions come back from the autosaved session.
    again = MainWindow(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    tab2 = open_and_mine(qtbot, again, demo_copy)
    assert len(tab2.decisions) == 4 and "restored" in tab2.info_label.text()
    tab2.set_threshold(0.9)
    qtbot.waitUntil(lambda: tab2.clustering.threshold == pytest.approx(0.9), timeout=20_000)
    wait_reclustered(qtbot, tab2)
    assert tab2.clustering.labels[member] != tab2.clustering.labels[canonical]
    assert len(set(tab2.clustering.labels[confirmed])) == 1
    assert keep in tab2.clustering.canonical
    again.runner.shutdown()


def test_export_dialog_previews_and_refuses_the_input(qtbot, window, demo_copy, tmp_path):
    tab = open_and_mine(qtbot, window, demo_copy)
    dialog = tab.open_export_dialog()
    assert f"{tab.clustering.n_removed:,} of 319 removed" in dialog.kind_buttons["dedup"].text()
    assert not dialog.kind_buttons["pairs"].isEnabled()  # no decisions yet
    assert dialog.path_edit.text().endswith("faq-deduplicated.csv")
    dialog.kind_buttons["annotated"].setChecked(True)
    assert dialog.path_edit.text().endswith("faq-clusters.csv")
    dialog.export_button.click()
    with qtbot.waitSignal(dialog.job.sig_done, timeout=20_000):
        pass
    assert len(pd.read_csv(tmp_path / "faq-clusters.csv")) == 319
    # The core refuses the input file as a target unless the user confirmed.
    before = demo_copy.read_bytes()
    job = tab.export("dedup", demo_copy)
    with qtbot.waitSignal(job.sig_done, timeout=20_000):
        pass
    assert job.outcome == "error"
    qtbot.waitUntil(window.error_banner.isVisible, timeout=5000)
    assert "Export failed" in window.error_banner.text() and "input file" in window.error_banner.text()
    assert demo_copy.read_bytes() == before


def test_drag_a_member_onto_another_cluster(qtbot, window, demo_copy):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    tab = open_and_mine(qtbot, window, demo_copy)
    tab.set_threshold(0.8)
    qtbot.waitUntil(lambda: tab.clustering.threshold == pytest.approx(0.8), timeout=20_000)
    wait_reclustered(qtbot, tab)
    tab.cluster_table.selectRow(0)
    source_rows = tab.current_cluster_rows()
    canonical = int(tab.clustering.canonical[tab.current_cluster_id()])
    member = int(next(r for r in source_rows if r != canonical))
    target_id = tab.cluster_model.cluster_id(1)
    target_canonical = int(tab.clustering.canonical[target_id])

    # The member table's own drag data, dropped on the second cluster of the list.
    index = tab.member_model.index(list(tab.member_model.row_ids()).index(member), 0)
    mime = tab.member_model.mimeData([index])
    viewport = tab.cluster_table.viewport()
    pos = QPointF(tab.cluster_table.visualRect(tab.cluster_model.index(1, 2)).center())
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[member] == tab.clustering.labels[target_canonical]
    assert tab.clustering.labels[member] != tab.clustering.labels[canonical]
    # One gesture, one undo (issue 11: it took two, and the first left the question in neither cluster).
    assert len(tab.decisions) == 1 and tab.undo_action.text() == "Undo move 1 question"
    tab.undo()
    wait_reclustered(qtbot, tab)
    assert tab.clustering.labels[member] == tab.clustering.labels[canonical]
    assert not tab.undo_action.isEnabled()
