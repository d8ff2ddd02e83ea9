"""Issue 10: exports re-read to exactly the rows written, and never carry live formulas.

The property test generates tables of nasty text (quotes, delimiters, line breaks, lone
carriage returns, NULs, formula prefixes, emoji, RTL marks, Excel's own escapes), writes them
as a user's CSV, and takes them through read → mine (the bundled model) → every export
format → read back: every row and every cell survives, apart from the documented formula
neutralisation of CSV/TSV.
"""

from __future__ import annotations

import csv
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.ingest.xlsx import XLSX_CELL_LIMIT
from quoradup_gui.core.mine.mining import MiningParams, mine_collection
from quoradup_gui.core.review.export import (
    annotated_frame,
    dedup_frame,
    neutralise_formula,
    write_table,
)

FORMATS = (".csv", ".tsv", ".xlsx", ".parquet", ".jsonl")
PLAIN = ["What is the capital of France?", "How do I reset my password?", "Why is the sky blue?",
         "Can I return an order after 30 days?", "Where is my parcel?"]


def read_back(path: Path) -> pd.DataFrame:
    return read_table(path).frame


# ----------------------------------------------------------------------------- 4. carriage returns


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_bare_carriage_return_is_quoted_so_the_export_has_as_many_rows(tmp_path, suffix):
    frame = pd.DataFrame({"id": ["1", "2", "3"], "question": ["one\rtwo?", "plain?", "three\r\nfour?"]}, dtype="str")
    written = write_table(frame, tmp_path / f"out{suffix}")
    assert written.n_rows == 3
    back = read_back(written.path)
    assert back["question"].tolist() == ["one\rtwo?", "plain?", "three\r\nfour?"]


# ----------------------------------------------------------------------------- 6. formula injection


INJECTIONS = ["=1+1", '=HYPERLINK("http://evil.example","click")', "+SUM(A1)", "-2+3", "@SUM(1)", "\tTab", "\rCR",
              "-5", "+3.5", "ordinary"]


def test_xlsx_stores_formula_like_text_as_text(tmp_path):
    frame = pd.DataFrame({"question": INJECTIONS, "note": INJECTIONS[::-1]}, dtype="str")
    path = write_table(frame, tmp_path / "out.xlsx").path
    sheet = openpyxl.load_workbook(path).active  # not data_only: a formula would show as one
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert read_back(path)["question"].tolist() == INJECTIONS  # text, exactly as written


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_csv_neutralises_every_text_column_and_raw_text_turns_it_off(tmp_path, suffix):
    frame = pd.DataFrame({"question": INJECTIONS, "note": INJECTIONS[::-1], "n": range(len(INJECTIONS))})
    frame[["question", "note"]] = frame[["question", "note"]].astype("str")
    written = write_table(frame, tmp_path / f"out{suffix}")
    back = read_back(written.path)
    expected = ["'=1+1", "'=HYPERLINK(\"http://evil.example\",\"click\")", "'+SUM(A1)", "'-2+3", "'@SUM(1)",
                "'\tTab", "'\rCR", "-5", "+3.5", "ordinary"]
    assert back["question"].tolist() == expected
    assert back["note"].tolist() == expected[::-1]
    assert any("got a leading apostrophe" in w for w in written.warnings)
    raw = write_table(frame, tmp_path / f"raw{suffix}", raw_text=True)
    assert read_back(raw.path)["question"].tolist()[:3] == INJECTIONS[:3] and raw.warnings == ()


def test_neutralise_formula_rules():
    assert neutralise_formula("=A1") == "'=A1" and neutralise_formula("@x") == "'@x"
    assert neutralise_formula("-12.5") == "-12.5" and neutralise_formula("+1e3") == "+1e3"
    assert neutralise_formula("- a dash list") == "'- a dash list" and neutralise_formula("a=b") == "a=b"


# ----------------------------------------------------------------------------- 5. Excel's limits


def test_xlsx_keeps_control_characters_and_warns_about_cut_cells(tmp_path):
    long_text = "x" * (XLSX_CELL_LIMIT + 10)
    values = ["nul\x00inside", "bell\x07", "cr\ronly", "_x000D_ literal", long_text, "ok"]
    frame = pd.DataFrame({"question": values}, dtype="str")
    written = write_table(frame, tmp_path / "out.xlsx")
    back = read_back(written.path)["question"].tolist()
    assert back[:4] == values[:4] and back[5] == "ok"
    assert len(back[4]) == XLSX_CELL_LIMIT and back[4].endswith("…")
    assert any("longer than Excel's limit of 32,767 characters and was cut (row 5)" in w for w in written.warnings)


def test_xlsx_interior_blank_rows_survive(tmp_path):
    frame = pd.DataFrame({"question": ["What?", "", "Why?"], "note": ["a", "", "c"]}, dtype="str")
    back = read_back(write_table(frame, tmp_path / "out.xlsx").path)
    assert back["question"].tolist() == ["What?", "", "Why?"]


# ----------------------------------------------------------------------------- the round trip

NASTY = ['"', "'", ",", ";", "\t", "|", "\n", "\r", "\r\n", "\x00", "=", "+", "-", "@", "🙂", "\u200f", "\u202e",
         "é", " ", "_x000D_", "\x0b", "ש", "#", "\\"]
_piece = st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=4))
nasty_text = st.lists(_piece, max_size=6).map("".join)


@st.composite
def tables(draw) -> pd.DataFrame:
    n_rows = draw(st.integers(1, 6))
    n_other = draw(st.integers(0, 2))
    questions = [draw(nasty_text) + f" question {i}?" for i in range(n_rows)]
    data = {"question": PLAIN + questions}
    for j in range(n_other):
        data[f"note_{j + 1}"] = [draw(nasty_text) for _ in range(len(PLAIN) + n_rows)]
    return pd.DataFrame(data, dtype="str")


def write_users_csv(frame: pd.DataFrame, path: Path) -> None:
    """What a spreadsheet program saves: RFC 4180 quoting, CRLF line ends."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(frame.columns)
        writer.writerows(frame.itertuples(index=False, name=None))


def expected_cells(frame: pd.DataFrame, suffix: str) -> list[list[str]]:
    if suffix in (".csv", ".tsv"):
        return [[neutralise_formula(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return [list(row) for row in frame.itertuples(index=False, name=None)]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("roundtrip-cache")


@settings(max_examples=int(os.environ.get("QUORADUP_HYPOTHESIS_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=tables())
def test_round_trip_read_mine_every_export_read_back(frame, tmp_path, cache_dir):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example: hypothesis reuses tmp_path
    source = folder / "input.csv"
    write_users_csv(frame, source)

    table = read_table(source)  # read: every row and cell exactly, and nothing to warn about
    assert table.frame.columns.tolist() == frame.columns.tolist()
    assert table.frame.to_numpy().tolist() == frame.to_numpy().tolist()
    assert table.question_column == "question"

    mined = mine_collection(table.texts().tolist(), MiningParams(backend="torch", cache_dir=cache_dir))
    clustering = mined.cluster(0.5)
    exports = {"annotated": annotated_frame(table.frame, mined.texts, clustering),
               "dedup": dedup_frame(table.frame, clustering)}
    kept = np.sort(np.asarray(clustering.canonical))
    for kind, out in exports.items():
        original = table.frame if kind == "annotated" else table.frame.iloc[kept]
        for suffix in FORMATS:
            written = write_table(out, folder / f"{kind}{suffix}", input_path=source)
            back = read_back(written.path)
            assert written.n_rows == len(back) == len(original), (kind, suffix)
            cells = back[list(frame.columns)].to_numpy().tolist()
            assert cells == expected_cells(original, suffix), (kind, suffix)
