"""Issue 12.3 in the window: an Excel file exported from the Export dialog keeps its types."""

from __future__ import annotations

import openpyxl

from tests.core.test_excel_round_trip import HEADER, ROWS, assert_typed_cells, write_workbook

from .test_duplicates_tab import open_and_mine


def test_the_export_dialog_writes_an_xlsx_of_an_xlsx_with_its_types(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # sessions of this test only
    source = write_workbook(tmp_path / "book.xlsx")
    tab = open_and_mine(qtbot, window, source)
    tab.set_threshold(0.99)
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.clustering.threshold > 0.98, timeout=20_000)
    assert tab.clustering.n_removed == 0
    dialog = tab.open_export_dialog()
    assert dialog.path_edit.text().endswith("book-deduplicated.xlsx")  # an Excel file is offered Excel
    dialog.export_button.click()
    with qtbot.waitSignal(dialog.job.sig_done, timeout=20_000):
        pass
    assert dialog.job.outcome == "result", dialog.job.traceback_text
    ws = openpyxl.load_workbook(tmp_path / "book-deduplicated.xlsx")["FAQ"]
    assert [c.value for c in ws[1]] == HEADER and ws.max_row == len(ROWS) + 1
    assert_typed_cells(ws)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:G{len(ROWS) + 1}"
