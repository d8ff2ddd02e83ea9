"""Issue 12.3 at the command line: `quoradup mine FILE.xlsx --dedup-out out.xlsx` keeps the workbook's types."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl

from tests.core.test_excel_round_trip import HEADER, ROWS, assert_typed_cells, write_workbook


def test_mine_xlsx_to_xlsx_keeps_dates_numbers_booleans_and_blanks(tmp_path):
    source = write_workbook(tmp_path / "book.xlsx")
    dedup, clusters = tmp_path / "out.xlsx", tmp_path / "clusters.xlsx"
    result = subprocess.run([sys.executable, "-m", "quoradup_gui.cli", "mine", str(source), "--threshold", "0.99",
                             "--no-decisions", "--dedup-out", str(dedup), "--clusters-out", str(clusters), "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dedup_out_rows"] == len(ROWS)
    ws = openpyxl.load_workbook(dedup)["FAQ"]
    assert [c.value for c in ws[1]] == HEADER
    assert_typed_cells(ws)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:G{len(ROWS) + 1}"
    annotated = openpyxl.load_workbook(clusters)["FAQ"]
    header = [c.value for c in annotated[1]]
    assert "cluster_size" in header and "question_edited" in header
    assert_typed_cells(annotated, first_column=header.index("question") + 1)
