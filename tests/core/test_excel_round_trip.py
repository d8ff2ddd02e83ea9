"""Issue 12.3: an export keeps what the user's file held.

Excel to Excel: dates stay dates (in their number format), integers and decimals numbers,
booleans booleans, blanks blank, text text (a text starting with "=" never becomes a formula);
the sheet has a frozen, filtered header row, fitting column widths and the data's name.
CSV to CSV: every cell's text comes back exactly. The annotated export adds cluster_size and
keeps the file's question beside the user's edit (question_edited).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.mine.mining import MiningParams, mine_collection
from quoradup_gui.core.review.session import ReviewSession

HEADER = ["question", "id", "price", "when", "active", "note", "code"]
FORMULA_TEXT = '=HYPERLINK("http://example.com","x") is this link safe?'
# question, int, decimal (its format), date (its format), bool, blank or text, text that looks like a number
ROWS = [
    ["How do I reset my password?", 1, (1.5, "0.00"), (dt.datetime(2024, 1, 1), "yyyy-mm-dd"), True, None, "007"],
    ["Where is my parcel?", 2, (2.25, "General"), (dt.datetime(2024, 2, 3), "dd/mm/yyyy"), False, "fragile", "1.50"],
    [FORMULA_TEXT, 3, (-0.125, "0.000"), (dt.datetime(2023, 12, 31, 17, 45), "yyyy-mm-dd hh:mm"), True, None, "=A1"],
    ["Why is the sky blue?", 40_000, (1234567.5, "#,##0.0"), (dt.datetime(2020, 2, 29), "d mmm yyyy"), False, "", "x"],
]


def write_workbook(path: Path, sheet: str = "FAQ") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(HEADER)
    for r, row in enumerate(ROWS, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c)
            if isinstance(value, tuple):
                cell.value, cell.number_format = value
            else:
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even when it starts with "="
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("excel-cache")


def session_for(path: Path, cache_dir: Path, threshold: float = 0.99) -> ReviewSession:
    session = ReviewSession.open(read_table(path), journal=False)
    session.set_mined(mine_collection(session.collection.texts, MiningParams(backend="torch", cache_dir=cache_dir)))
    session.show(session.cluster(threshold))
    return session


def assert_typed_cells(ws, first_column: int = 1) -> None:
    """The data rows of ``ws`` hold ROWS as Excel typed them, from column ``first_column`` on."""
    for r, expected in enumerate(ROWS, start=2):
        for c, value in enumerate(expected, start=first_column):
            cell = ws.cell(r, c)
            if isinstance(value, tuple):
                value, number_format = value
                assert cell.number_format == number_format, (r, c, cell.number_format)
            if value in (None, ""):
                assert cell.value is None, (r, c, cell.value)
                continue
            assert type(cell.value) is type(value) and cell.value == value, (r, c, cell.value, value)
            assert cell.data_type != "f"
            if isinstance(value, str):
                assert cell.data_type == "s"  # "007", "1.50" and "=A1" stay text


def test_xlsx_dedup_export_keeps_dates_numbers_booleans_blanks_and_text(tmp_path, cache_dir):
    session = session_for(write_workbook(tmp_path / "book.xlsx"), cache_dir)
    assert session.clustering.n_removed == 0
    out = session.export("dedup", tmp_path / "out.xlsx").path
    ws = openpyxl.load_workbook(out)["FAQ"]  # not data_only: a formula would show as one
    assert [c.value for c in ws[1]] == HEADER
    assert_typed_cells(ws)
    assert ws.max_row == len(ROWS) + 1
    # Mining and the other formats still see every cell's text, as read.
    assert session.collection.frame["id"].tolist() == ["1", "2", "3", "40000"]
    back = session.export("dedup", tmp_path / "out.csv").path.read_text(encoding="utf-8-sig")
    assert back.splitlines()[1] == "How do I reset my password?,1,1.5,2024-01-01 00:00:00,True,,007"


def test_xlsx_export_has_a_frozen_filtered_header_and_fitting_widths(tmp_path, cache_dir):
    session = session_for(write_workbook(tmp_path / "book.xlsx"), cache_dir)
    ws = openpyxl.load_workbook(session.export("dedup", tmp_path / "out.xlsx").path).active
    assert ws.title == "FAQ"  # the sheet it came from
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:G{len(ROWS) + 1}"
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABCDEFG"}
    longest_question = max(len(r[0]) for r in ROWS)
    assert min(longest_question, 60) <= widths["A"] <= 62  # the questions fit, within a bound
    assert all(8 <= w < widths["A"] for letter, w in widths.items() if letter != "A"), widths


def test_a_csv_source_names_the_sheet_after_the_file_and_still_gets_a_header_row(tmp_path, cache_dir):
    path = tmp_path / "support questions.csv"
    path.write_text("question,n\nHow do I reset my password?,1\nWhere is my parcel?,2\n", encoding="utf-8")
    session = session_for(path, cache_dir)
    ws = openpyxl.load_workbook(session.export("dedup", tmp_path / "out.xlsx").path).active
    assert ws.title == "support questions" and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B3"
    assert ws["B2"].value == "1"  # a CSV cell is text: it is written as the text it was


def test_a_default_sheet_name_gives_way_to_the_file_name(tmp_path, cache_dir):
    session = session_for(write_workbook(tmp_path / "faq-2024.xlsx", sheet="Sheet1"), cache_dir)
    assert openpyxl.load_workbook(session.export("dedup", tmp_path / "out.xlsx").path).active.title == "faq-2024"


def test_xlsx_annotated_export_keeps_the_files_columns_typed(tmp_path, cache_dir):
    session = session_for(write_workbook(tmp_path / "book.xlsx"), cache_dir)
    ws = openpyxl.load_workbook(session.export("annotated", tmp_path / "clusters.xlsx").path).active
    header = [c.value for c in ws[1]]
    first = header.index("question") + 1
    assert header[first - 1:] == HEADER
    assert_typed_cells(ws, first_column=first)
    assert ws.cell(2, header.index("cluster_size") + 1).value == 1


def test_annotated_export_has_cluster_size_and_keeps_the_question_beside_its_edit(faq, tmp_path, cache_dir):
    session = session_for(faq, cache_dir, threshold=0.75)
    clustering = session.clustering
    cid = int(clustering.labels[0])
    kept = int(clustering.canonical[cid])
    original = session.collection.texts[kept]
    session.edit(cid, "How can I reset my password? (edited)")
    out = session.export("annotated", tmp_path / "clusters.csv", raw_text=True).path
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:7] == ["row", "cluster_id", "cluster_size", "is_canonical", "similarity_to_canonical",
                                 "text", "question_edited"]
    sizes = clustering.sizes
    assert [int(r["cluster_size"]) for r in rows] == [int(sizes[label]) for label in clustering.labels]
    assert int(rows[kept]["cluster_size"]) == len(clustering.members(cid)) > 1
    column = session.collection.column
    assert rows[kept][column] == rows[kept]["text"] == original  # the file's question, not overwritten
    assert rows[kept]["question_edited"] == "How can I reset my password? (edited)"
    assert all(r["question_edited"] == "" for i, r in enumerate(rows) if i != kept)
    # The deduplicated export still writes the edit as the kept question.
    dedup = session.export("dedup", tmp_path / "dedup.csv").path
    assert "How can I reset my password? (edited)" in dedup.read_text(encoding="utf-8-sig")


CSV_CELLS = [
    ["id", "question", "note", "when", "amount"],
    ["007", 'What is "this" thing?', "line one\nline two", "2024-01-01", "1.50"],
    ["010", "Why, though, is the sky blue?", " leading and trailing ", "01/02/2024", "1,000"],
    ["0", "How do I reset my password?", "", "1e5", "NA"],
    ["1", "Where is my parcel?", "a\r\nb", "TRUE", "-0"],
    ["2", "Can I return an order after 30 days?", "'quoted", "N/A", "null"],
]


@pytest.mark.parametrize("kind", ["dedup", "annotated"])
def test_csv_to_csv_keeps_every_cells_text_exactly(tmp_path, cache_dir, kind):
    path = tmp_path / "q.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(CSV_CELLS)
    session = session_for(path, cache_dir)
    assert session.clustering.n_removed == 0
    out = session.export(kind, tmp_path / f"{kind}.csv").path
    with open(out, encoding="utf-8-sig", newline="") as fh:
        back = list(csv.reader(fh))
    first = back[0].index("id")
    assert [row[first:] for row in back] == CSV_CELLS
