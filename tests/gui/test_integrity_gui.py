"""Issue 10 in the window: load warnings, sheets, the export summary and journal failures reach the user."""

from __future__ import annotations

import errno

import openpyxl
import pytest
from PySide6.QtCore import Qt

from quoradup_gui.core.review import decisions

from .conftest import wait_for_view
from .test_duplicates_tab import open_and_mine

ROWS = ["How do I reset my password?", "How do I reset my password?", "Where is my parcel?",
        "Can I pay by card?", "Why is the sky blue?", "What is the capital of France?"]


@pytest.fixture
def ragged_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # this test's sessions only
    path = tmp_path / "faq.csv"
    lines = ["id,question,topic"] + [f"{i},{q},t{i}" + (",EXTRA" if i == 2 else "") for i, q in enumerate(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_warnings_and_the_export_summary(qtbot, window, ragged_file, tmp_path):
    tab = open_and_mine(qtbot, window, ragged_file)
    assert window.data_tab.warnings_label.isVisibleTo(window.data_tab)
    assert "more fields than the header" in window.data_tab.warnings_label.text()
    assert tab.review.n == len(ROWS)  # the long row is kept
    job = tab.export("dedup", tmp_path / "clean.csv")
    qtbot.waitUntil(lambda: bool(tab.last_export_summary), timeout=20_000)
    assert job is not None
    summary = tab.last_export_summary
    assert f"Exported {len(ROWS) - 1} rows to {tmp_path / 'clean.csv'}" in summary
    assert "While reading faq.csv: 1 row had more fields than the header" in summary
    assert window.error_banner.isVisible() and "more fields than the header" in window.error_banner.text()


def test_a_decision_that_cannot_be_written_is_not_made(qtbot, window, ragged_file, monkeypatch):
    tab = open_and_mine(qtbot, window, ragged_file)
    assert tab.cluster_model.rowCount() >= 1  # the two identical questions

    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(decisions, "_write_all", disk_full)
    tab.cluster_table.setFocus()
    tab.cluster_table.selectRow(0)
    qtbot.keyClick(tab.cluster_table, Qt.Key.Key_Return)
    text = window.error_banner.text()
    assert window.error_banner.isVisible()
    assert "This decision was not saved: the disk is full" in text and "Unexpected error" not in text
    assert len(tab.decisions) == 0 and not tab.undo_action.isEnabled()


def test_damaged_saved_decisions_are_reported_when_the_file_opens(qtbot, window, ragged_file):
    from quoradup_gui.core.review.collection import session_path

    journal = session_path(ragged_file, "question")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(b"null\n\x00\x01garbage\n")
    window.open_file(ragged_file)
    wait_for_view(qtbot, window)
    window.select_tab("duplicates")
    qtbot.waitUntil(lambda: window.duplicates_tab.review is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.error_banner.isVisible(), timeout=5_000)
    assert "2 saved review entries of this file could not be read" in window.error_banner.text()


def test_the_sheet_picker_offers_the_other_sheets(qtbot, window, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "FAQ"
    for row in (["question"], ["What is X?"], ["How do I Y?"]):
        wb.active.append(row)
    archive = wb.create_sheet("Archive")
    for row in (["question"], ["Old question one?"], ["Old question two?"], ["Old question three?"]):
        archive.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    window.open_file(path)
    view = wait_for_view(qtbot, window)
    tab = window.data_tab
    assert view.table.format.sheet == "FAQ" and tab.sheet_combo.isVisibleTo(tab)
    assert [tab.sheet_combo.itemText(i) for i in range(tab.sheet_combo.count())] == ["FAQ", "Archive"]
    assert "Archive" in tab.warnings_label.text()
    tab.sheet_combo.setCurrentText("Archive")
    qtbot.waitUntil(lambda: tab.view() is not None and tab.view().table.format.sheet == "Archive", timeout=30_000)
    assert tab.view().table.n_rows == 3 and 'sheet "Archive"' in tab.format_label.text()
