"""Issue 10, silent changes to the user's rows: every row is read, or the user is told which and why."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from quoradup_gui.core.errors import InputFileError
from quoradup_gui.core.ingest.io import read_table


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


# ----------------------------------------------------------------------------- 1. one-column CSV


def test_single_column_csv_with_a_quoted_line_break_is_one_row(tmp_path):
    table = read_table(write(tmp_path, "q.csv", 'question\n"Line one,\nline two?"\nWhat is X?\nWhat is Y?\n'))
    assert table.frame["question"].tolist() == ["Line one,\nline two?", "What is X?", "What is Y?"]
    assert "single column" in table.format.describe() and "not valid CSV" not in table.format.describe()
    assert table.warnings == ()


def test_single_column_csv_keeps_a_quoted_blank_row(tmp_path):
    table = read_table(write(tmp_path, "q.csv", 'question\nWhat is X?\n""\nWhat is Y?\n\n'))
    assert table.frame["question"].tolist() == ["What is X?", "", "What is Y?"]


def test_single_column_file_that_is_not_valid_csv_is_read_per_line_and_said(tmp_path):
    table = read_table(write(tmp_path, "q.csv", 'question\n"Hamlet" is a play?\n"What is X?"\nWhy?\n'))
    assert table.frame["question"].tolist() == ['"Hamlet" is a play?', "What is X?", "Why?"]
    assert "one question per line (not valid CSV)" in table.format.describe()
    assert any("not valid CSV (line 2" in w and "one question per line" in w for w in table.warnings)


def test_a_txt_file_is_still_one_question_per_line(tmp_path):
    table = read_table(write(tmp_path, "q.txt", '"Quoted" start?\nsecond, line\n'))
    assert table.frame["question"].tolist() == ['"Quoted" start?', "second, line"]


# ----------------------------------------------------------------------------- 2. ragged rows


def test_ragged_csv_of_60_rows_keeps_all_60_and_names_the_lines(tmp_path):
    rows = ["id,question,topic"] + [f"{i},Question {i}?,t{i}" + (",EXTRA" if i % 10 == 3 else "")
                                    for i in range(60)]
    table = read_table(write(tmp_path, "r.csv", "\n".join(rows) + "\n"))
    assert table.n_rows == 60
    assert table.frame["topic"].tolist()[3] == "t3,EXTRA"
    assert any("6 rows had more fields than the header" in w and "lines 5, 15, 25, 35, 45…" in w
               for w in table.warnings)


# ----------------------------------------------------------------------------- 3. swallowed rows


def test_an_unclosed_quote_closed_later_is_reported_with_its_line(tmp_path):
    table = read_table(write(tmp_path, "u.csv", 'id,question\n1,"A?"\n2,"Never closed?\n3,"B?"\n4,C\n'))
    assert table.n_rows == 3  # what the file says as CSV; the user is told where it went wrong
    assert any("a quote (\") may be missing" in w and "line 3" in w for w in table.warnings)


def test_legitimate_multi_line_notes_are_not_reported(tmp_path):
    content = "id,question,notes\n" + "".join(
        f'{i},Question {i}?,"first line, {i}\nsecond line, more, text"\n' for i in range(20))
    table = read_table(write(tmp_path, "n.csv", content))
    assert table.n_rows == 20 and table.warnings == ()


# ----------------------------------------------------------------------------- 5. workbooks


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_workbook_says_which_sheet_was_read_and_reads_another_on_request(tmp_path):
    path = _workbook(tmp_path / "faq.xlsx", {
        "Notes": [], "FAQ": [["question"], ["What is X?"], ["How do I Y?"]],
        "Archive": [["question"], ["Old question?"]],
    })
    table = read_table(path)
    assert table.format.sheet == "FAQ" and table.format.sheets == ("Notes", "FAQ", "Archive")
    assert 'sheet "FAQ"' in table.format.describe()
    assert any('3 sheets; sheet "FAQ" was read' in w and '"Archive"' in w for w in table.warnings)
    other = read_table(path, sheet="Archive")
    assert other.frame["question"].tolist() == ["Old question?"]
    with pytest.raises(InputFileError, match='has no sheet "Nope"'):
        read_table(path, sheet="Nope")


def titled_workbook(path, above: list[list], merge: str | None = None):
    """An FAQ sheet with ``above`` (title rows) over its header and two questions."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in above:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    for row in (["id", "question", "category"], [1, "What is X?", "a"], [2, "How do I Y?", "b"]):
        ws.append(row)
    wb.save(path)
    return path


def test_merged_title_row_above_the_header_is_skipped_and_said(tmp_path):
    table = read_table(titled_workbook(tmp_path / "titled.xlsx", [["Quarterly FAQ"]], merge="A1:C1"))
    assert list(table.frame.columns) == ["id", "question", "category"]
    assert table.frame["question"].tolist() == ["What is X?", "How do I Y?"]
    assert any("title row above the header was skipped (sheet row 1: Quarterly FAQ)" in w for w in table.warnings)


def test_a_sheet_without_title_keeps_its_first_row(tmp_path):
    path = _workbook(tmp_path / "plain.xlsx", {"S": [["What is X?", ""], ["How do I Y?", "note"], ["Why?", ""]]})
    assert read_table(path).frame.iloc[:, 0].tolist() == ["What is X?", "How do I Y?", "Why?"]


# ----------------------------------------------------------------------------- 14. UTF-16 without BOM


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("questions", [
    ["Как выучить язык программирования?", "Что такое любовь?", "Почему небо голубое?"],
    ["如何学习编程？", "什么是爱？", "为什么天空是蓝色的？"],
])
def test_utf16_without_bom_in_cyrillic_and_chinese(tmp_path, encoding, questions):
    path = write(tmp_path, "q.csv", "question\n" + "\n".join(questions) + "\n", encoding)
    table = read_table(path)
    assert table.format.encoding == encoding
    assert table.frame["question"].tolist() == questions


def test_random_binary_is_still_binary(tmp_path):
    import numpy as np

    junk = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(InputFileError, match="not a text file"):
        read_table(write(tmp_path, "junk.csv", junk))


def test_a_few_nuls_in_valid_utf8_text_are_text(tmp_path):
    table = read_table(write(tmp_path, "nul.csv", "id,question\n1,a\x00b?\n2,c\x00d?\n"))
    assert table.frame["question"].tolist() == ["a\x00b?", "c\x00d?"]


def test_a_formula_without_a_saved_result_is_read_as_its_text_and_said(tmp_path):
    """openpyxl and pandas store text starting with "=" as a formula with no result: it read as blank."""
    wb = openpyxl.Workbook()
    for row in (["id", "question"], [1, "What is X?"], [2, '=HYPERLINK("http://x","y") is this safe?'], [3, "Why?"]):
        wb.active.append(row)
    path = tmp_path / "formulas.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.frame["question"].tolist() == ["What is X?", '=HYPERLINK("http://x","y") is this safe?', "Why?"]
    assert any("1 cell of sheet" in w and "holds a formula with no saved result" in w and "sheet row 3" in w
               for w in table.warnings)


def test_a_blank_spacer_under_the_title_adds_nothing_to_the_note(tmp_path):
    table = read_table(titled_workbook(tmp_path / "spaced.xlsx", [["Quarterly FAQ"], [None, " "]]))
    assert list(table.frame.columns) == ["id", "question", "category"]
    note = next(w for w in table.warnings if "above the header" in w)
    assert note.endswith(": Quarterly FAQ).") and "; " not in note, note
