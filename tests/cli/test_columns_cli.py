"""Issue 12.4 at the command line: --header yes|no and --columns Q1,Q2[,LABEL] make the same
choice as the Data tab's header switch and column pickers."""

from __future__ import annotations

import json

import pytest

from quoradup_gui.core.ingest.sniffing import looks_like_header

from .test_cli_integrity import assert_sentence, quoradup

ROWS = ["How do I reset my password?,How can I change my password?,yes",
        "What is the capital of France?,Where is the Eiffel tower?,no",
        "How tall is Mount Everest?,What is the height of Everest?,yes"]


def test_inspect_with_header_and_columns(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    result = quoradup("inspect", str(path), "--header", "no", "--columns", "column_1,column_2,column_3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["role"] == "pairs" and data["format"]["has_header"] is False
    assert (data["pairs"]["text1"], data["pairs"]["text2"], data["pairs"]["label"]) == ("column_1", "column_2", "column_3")
    assert data["pairs"]["n_duplicates"] == 2 and data["pairs"]["n_not_duplicates"] == 1
    assert {"value": "yes", "read_as": "duplicate", "rows": 2} in data["pairs"]["label_reading"]
    plain = quoradup("inspect", str(path), "--header", "no", "--columns", "column_1,column_2,column_3")
    assert 'Labels read as: "yes" → duplicate (2); "no" → not duplicate (1)' in plain.stdout


def test_header_yes_takes_the_first_row_as_names(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    data = json.loads(quoradup("inspect", str(path), "--header", "yes", "--json").stdout)
    assert data["columns"][0] == "How do I reset my password?" and data["summary"]["n_rows"] == 2  # line 1: names


def test_a_custom_header_is_recognised_without_options(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("first question,second question,same?\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    data = json.loads(quoradup("inspect", str(path), "--json").stdout)
    assert data["format"]["has_header"] is True and data["role"] == "pairs"
    assert data["pairs"]["label"] == "same?"


def test_bad_column_choices_are_a_sentence(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("first question,second question,same?\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    assert_sentence(quoradup("inspect", str(path), "--columns", "first question,nope"), "no column 'nope'")
    assert_sentence(quoradup("inspect", str(path), "--columns", "a,b,c,d"), "not 4")
    assert_sentence(quoradup("evaluate", "--pairs", str(path), "--columns", "first question,first question"),
                    "must be different columns")
    result = quoradup("inspect", str(path), "--header", "maybe")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.parametrize("first, header", [
    (["What is X?", "What is Y?"], False),  # short questions are data
    (["same?", "question"], True),
    (["Is duplicate?", "question"], True),
])
def test_header_names_may_end_in_a_question_mark_but_questions_are_data(first, header):
    rest = [["How do I reset my password today?", "Where can I find the settings page?"]] * 3
    assert looks_like_header(first, rest) is header


def test_numbered_columns_are_a_pair_only_when_they_name_questions():
    import pandas as pd

    from quoradup_gui.core.ingest.roles import detect_role

    text = ["How do I reset my password?", "Where is my parcel?"]
    assert detect_role(pd.DataFrame({"q1": text, "q2": text[::-1]}))[0].value == "pairs"
    assert detect_role(pd.DataFrame({"question": text, "note_1": text, "note_2": text}))[0].value == "collection"
