"""Tests for core.io: sniffing, reading every format, role detection, bad input, atomic writes."""

from __future__ import annotations

import errno
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quoradup_gui.core.errors import ColumnError, InputFileError, JobCancelled
from quoradup_gui.core.ingest import sniffing
from quoradup_gui.core.ingest.io import (
    FileFormat,
    PairColumns,
    Role,
    atomic_write_text,
    atomic_writer,
    detect_role,
    guess_question_column,
    parse_labels,
    read_table,
    sniff_format,
)
from quoradup_gui.core.jobs import RecordingContext

QUESTIONS = [
    "What is the best way to learn Python?",
    "How do I cook rice without a rice cooker?",
    "Why is the sky blue during the day?",
    "Can a dog eat chocolate safely?",
    "Is it worth learning Latin today?",
]
COLLECTION_CSV = "id,question,category\n" + "".join(
    f"{i},{q},{cat}\n" for i, (q, cat) in enumerate(zip(QUESTIONS, ["code", "food", "science", "pets", "school"]))
)


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def texts(table) -> list[str]:
    return table.texts().tolist()


# ------------------------------------------------------------------------------------------
# Formats


def test_csv_collection(tmp_path):
    table = read_table(write(tmp_path, "q.csv", COLLECTION_CSV))
    assert table.format == FileFormat("csv", "utf-8", ",", True)
    assert table.format.describe() == "CSV, UTF-8, comma-delimited, with header"
    assert table.role is Role.COLLECTION and table.question_column == "question"
    assert texts(table) == QUESTIONS
    assert table.n_rows == 5 and list(table.frame.columns) == ["id", "question", "category"]
    assert all(str(dtype) == "str" for dtype in table.frame.dtypes)
    assert table.frame["id"].tolist() == ["0", "1", "2", "3", "4"]  # strings, not numbers
    assert table.warnings == ()


def test_tsv(tmp_path):
    path = write(tmp_path, "q.tsv", "id\tquestion\n" + "".join(f"{i}\t{q}\n" for i, q in enumerate(QUESTIONS)))
    table = read_table(path)
    assert table.format.kind == "tsv" and table.format.delimiter == "\t"
    assert texts(table) == QUESTIONS


def test_txt_one_question_per_line(tmp_path):
    content = "\n".join(QUESTIONS[:2]) + "\n\n  \n" + "\r\n".join(QUESTIONS[2:]) + "\n"
    table = read_table(write(tmp_path, "q.txt", content))
    assert table.format.kind == "txt" and table.format.delimiter is None and not table.format.has_header
    assert table.format.describe() == "Text, UTF-8, one question per line, no header row"
    assert list(table.frame.columns) == ["question"]
    assert texts(table) == QUESTIONS  # blank lines skipped, CRLF handled


def test_txt_with_commas_stays_one_question_per_line(tmp_path):
    lines = ["What is A, and B?", "Why?", "How, when and where?", 'He said "hi", why?']
    table = read_table(write(tmp_path, "q.txt", "\n".join(lines)))
    assert table.format.kind == "txt"
    assert texts(table) == lines  # quotes kept as written


def test_txt_with_known_header_line(tmp_path):
    table = read_table(write(tmp_path, "q.txt", "question\n" + "\n".join(QUESTIONS)))
    assert table.format.has_header and table.question_column == "question"
    assert texts(table) == QUESTIONS


def test_txt_that_is_clearly_a_table(tmp_path):
    table = read_table(write(tmp_path, "q.txt", COLLECTION_CSV.replace(",", "\t")))
    assert table.format.kind == "tsv" and table.format.has_header
    assert table.question_column == "question" and texts(table) == QUESTIONS


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ID", "Question Text", "Score", None])
    for i, q in enumerate(QUESTIONS):
        ws.append([i + 1, q, 0.5 if i % 2 else 2.0, None])
    ws.append([None, None, None, None])  # trailing empty row
    wb.create_sheet("Other").append(["ignored"])
    path = tmp_path / "q.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.format.kind == "xlsx" and table.format.encoding is None and table.format.has_header
    assert "Excel workbook" in table.format.describe()
    assert list(table.frame.columns) == ["ID", "Question Text", "Score"]  # empty column dropped
    assert table.question_column == "Question Text" and texts(table) == QUESTIONS
    assert table.frame["ID"].tolist() == ["1", "2", "3", "4", "5"]
    assert table.frame["Score"].tolist() == ["2", "0.5", "2", "0.5", "2"]


def test_xlsx_named_csv_is_read_by_content(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["question"])
    for q in QUESTIONS:
        wb.active.append([q])
    path = tmp_path / "actually_excel.csv"
    wb.save(path)
    assert sniff_format(path).kind == "xlsx"
    assert texts(read_table(path)) == QUESTIONS


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"qid": [1, 2, 3, 4, 5], "title": QUESTIONS, "votes": [1.5, None, 3.0, 4.0, 5.0],
                      "flag": [True, False, None, True, True]})
    path = tmp_path / "q.parquet"
    pq.write_table(table, path, row_group_size=2)
    loaded = read_table(path)
    assert loaded.format == FileFormat("parquet", None, None, True, None)
    assert loaded.question_column == "title" and texts(loaded) == QUESTIONS
    assert loaded.frame["qid"].tolist() == ["1", "2", "3", "4", "5"]
    assert loaded.frame["votes"].tolist() == ["1.5", "", "3.0", "4.0", "5.0"]
    assert loaded.frame["flag"].tolist()[:3] == ["True", "False", ""]
    assert all(str(d) == "str" for d in loaded.frame.dtypes)


def test_jsonl(tmp_path):
    rows = [{"id": i, "text": q} for i, q in enumerate(QUESTIONS)]
    rows[1]["tags"] = ["a", "b"]  # a key only some lines have, holding JSON
    del rows[2]["id"]
    content = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    table = read_table(write(tmp_path, "q.jsonl", content))
    assert table.format.kind == "jsonl"
    assert table.question_column == "text" and texts(table) == QUESTIONS
    assert table.frame["id"].tolist() == ["0", "1", "", "3", "4"]
    assert table.frame["tags"].tolist() == ["", '["a", "b"]', "", "", ""]


def test_jsonl_of_plain_strings_and_json_array(tmp_path):
    table = read_table(write(tmp_path, "q.ndjson", "\n".join(json.dumps(q) for q in QUESTIONS)))
    assert list(table.frame.columns) == ["question"] and texts(table) == QUESTIONS
    array = json.dumps([{"question": q} for q in QUESTIONS], indent=2)
    assert texts(read_table(write(tmp_path, "a.jsonl", array))) == QUESTIONS


def test_jsonl_bad_line(tmp_path):
    path = write(tmp_path, "q.jsonl", '{"question": "a?"}\n{"question": oops}\n')
    with pytest.raises(InputFileError, match=r"Line 2 of q\.jsonl is not valid JSON"):
        read_table(path)
    path = write(tmp_path, "n.jsonl", '{"question": "a?"}\n42\n')
    with pytest.raises(InputFileError, match="Line 2 of n.jsonl holds a JSON int, not an object"):
        read_table(path)


# ------------------------------------------------------------------------------------------
# Encodings, delimiters, headers, quoting

ACCENTED = [
    "Où est la gare, s’il vous plaît?",
    "Qu’est-ce qu’un café crème?",
    "Why is naïve “quoting” hard?",
]


@pytest.mark.parametrize(
    "encoding, expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"),
     ("cp1252", "cp1252")],
)
def test_encodings(tmp_path, encoding, expected):
    content = "id,question\n" + "".join(f'{i},"{q}"\n' for i, q in enumerate(ACCENTED))
    table = read_table(write(tmp_path, "q.csv", content, encoding))
    assert table.format.encoding == expected
    assert list(table.frame.columns) == ["id", "question"]  # no BOM in the first name
    assert texts(table) == ACCENTED
    assert table.warnings == ()


def test_non_utf8_bytes_after_the_sniffed_sample(tmp_path):
    ascii_rows = "".join(f"{i},How do I learn topic number {i}?\n" for i in range(12_000))  # > 256 KB
    content = ("id,question\n" + ascii_rows).encode() + "99999,Où est le café?\n".encode("cp1252")
    table = read_table(write(tmp_path, "late.csv", content))
    assert table.format.encoding == "cp1252"
    assert table.frame["question"].iloc[-1] == "Où est le café?"
    assert any("not valid UTF-8" in w and "Windows-1252" in w for w in table.warnings)


def test_undecodable_bytes_in_utf8_text_are_replaced(tmp_path):
    head = "id,question\n" + "".join(f"{i},Qu’est-ce que {i}?\n" for i in range(12_000))
    content = head.encode() + b"99999,bad \x81 byte?\n"
    table = read_table(write(tmp_path, "mixed.csv", content))
    assert table.frame["question"].iloc[0] == "Qu’est-ce que 0?"
    assert table.frame["question"].iloc[-1] == "bad \ufffd byte?"
    assert any("replaced" in w for w in table.warnings)


@pytest.mark.parametrize("delimiter, name", [(",", "comma"), (";", "semicolon"), ("|", "pipe"), ("\t", "tab")])
def test_delimiters(tmp_path, delimiter, name):
    content = f"id{delimiter}question{delimiter}topic\n" + "".join(
        f"{i}{delimiter}{q.replace(',', '')}{delimiter}t{i}\n" for i, q in enumerate(QUESTIONS)
    )
    table = read_table(write(tmp_path, "q.csv", content))
    assert table.format.delimiter == delimiter
    assert f"{name}-delimited" in table.format.describe()
    assert texts(table) == QUESTIONS


def test_semicolon_csv_with_commas_inside_questions(tmp_path):
    content = "id;question\n1;What is A, B and C?\n2;Why, oh why?\n3;How?\n"
    table = read_table(write(tmp_path, "q.csv", content))
    assert table.format.delimiter == ";" and texts(table) == ["What is A, B and C?", "Why, oh why?", "How?"]


def test_headerless_csv(tmp_path):
    content = "".join(f"{i},{q}\n" for i, q in enumerate(QUESTIONS))
    table = read_table(write(tmp_path, "q.csv", content))
    assert not table.format.has_header
    assert "no header row" in table.format.describe()
    assert list(table.frame.columns) == ["column_1", "column_2"]
    assert table.question_column == "column_2" and texts(table) == QUESTIONS


def test_headerless_csv_of_sentences_in_every_column(tmp_path):
    content = "".join(f'"{q}","{q.upper()}"\n' for q in QUESTIONS)
    table = read_table(write(tmp_path, "q.csv", content))
    assert not table.format.has_header and table.n_rows == 5


@pytest.mark.parametrize(
    "content, has_header",
    [
        ("qtext,topic\nWhat is love?,life\nHow do I cook rice?,food\n", True),  # names unknown but label-like
        ("Post Title,Views\nWhat is love?,12\nWhy?,3\n", True),
        ("apple,red\nbanana,yellow\ncherry,red\n", False),  # all short words: first row is data
        ("1,What is love?\n2,How?\n", False),  # a number is not a header name
        ("What is love?,life\nHow do I cook rice?,food\n", False),
        (",question\n0,What is love?\n1,Why?\n", True),  # pandas-written index column
    ],
)
def test_header_heuristic(tmp_path, content, has_header):
    assert sniff_format(write(tmp_path, "h.csv", content)).has_header is has_header


def test_single_column_csv(tmp_path):
    content = 'question\n"What is A, really?"\nHow do I cook rice?\n"He said ""hi"""\n'
    table = read_table(write(tmp_path, "q.csv", content))
    assert table.format.delimiter is None and table.format.has_header
    assert "single column" in table.format.describe()
    assert texts(table) == ["What is A, really?", "How do I cook rice?", 'He said "hi"']


def test_quoted_fields_with_commas_and_newlines(tmp_path):
    content = (
        'id,question,notes\n'
        '1,"What is A, really?","line one\nline two"\n'
        '2,"Is ""quoted"" text fine?",plain\n'
        '3,How do I cook rice?,"a, b\r\nc"\n'
    )
    table = read_table(write(tmp_path, "q.csv", content))
    assert texts(table) == ["What is A, really?", 'Is "quoted" text fine?', "How do I cook rice?"]
    assert table.frame["notes"].tolist()[0] == "line one\nline two"


def test_column_names_stripped_and_made_unique(tmp_path):
    content = " question , question,,id\nWhat is love?,Why?,x,1\nHow?,When?,y,2\n"
    table = read_table(write(tmp_path, "q.csv", content))
    assert list(table.frame.columns) == ["question", "question_2", "column_3", "id"]


def test_blank_cells_are_empty_strings_not_nan(tmp_path):
    content = "id,question,note\n1,What is love?,\n2,,NA\n3,How?,null\n"
    table = read_table(write(tmp_path, "q.csv", content))
    assert table.frame["question"].tolist() == ["What is love?", "", "How?"]
    assert table.frame["note"].tolist() == ["", "NA", "null"]  # kept as written
    assert not table.frame.isna().any().any()


# ------------------------------------------------------------------------------------------
# Roles and columns


@pytest.mark.parametrize(
    "header, row, layout, expected",
    [
        ("id,qid1,qid2,question1,question2,is_duplicate", "0,1,2,What is A?,What's A?,1", "quora-kaggle",
         dict(text1="question1", text2="question2", label="is_duplicate", qid1="qid1", qid2="qid2")),
        ("Question1, Question 2 ,IS_DUPLICATE", "What is A?,What's A?,1", "question-pair",
         dict(text1="Question1", text2="Question 2", label="IS_DUPLICATE")),
        ("sentence1,sentence2,label", "What is A?,What's A?,1", "sentence-pair",
         dict(text1="sentence1", text2="sentence2", label="label")),
        ("sentence1,sentence2,score", "What is A?,What's A?,0.8", "sentence-pair",
         dict(text1="sentence1", text2="sentence2", label="score")),
        ("anchor,positive,negative", "What is A?,What's A?,Why B?", "triplet",
         dict(text1="anchor", text2="positive", negative="negative")),
        ("anchor,positive", "What is A?,What's A?", "anchor-positive", dict(text1="anchor", text2="positive")),
    ],
)
def test_pair_layouts(tmp_path, header, row, layout, expected):
    table = read_table(write(tmp_path, "p.csv", f"{header}\n{row}\n{row}\n"))
    assert table.role is Role.PAIRS and table.question_column is None
    assert table.pairs == PairColumns(**expected, layout=layout)
    assert set(texts(table)) <= {"What is A?", "What's A?", "Why B?"}
    assert len(texts(table)) == len(set(texts(table)))  # distinct


def test_pair_texts_are_distinct_and_non_blank(tmp_path):
    content = "question1,question2,is_duplicate\nA?,B?,1\nB?,C?,0\nA?,,1\n"
    table = read_table(write(tmp_path, "p.csv", content))
    assert texts(table) == ["A?", "B?", "C?"]
    assert any("1 pair has a blank question" in w for w in table.warnings)


def test_score_column_gives_float_labels(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "sentence1,sentence2,score\nA?,B?,0.8\nC?,D?,\nE?,F?,0.1\n"))
    labels = table.labels()
    assert str(labels.dtype) == "Float64"
    assert labels.tolist()[0] == 0.8 and pd.isna(labels.iloc[1])
    assert any("1 pair has no label" in w for w in table.warnings)


def test_pair_labels_yes_no_true_false_blank(tmp_path):
    content = "question1,question2,is_duplicate\n" + "".join(
        f"Q{i}a?,Q{i}b?,{label}\n" for i, label in enumerate(["yes", "No", "TRUE", "false", "", "1", "0", " "])
    )
    table = read_table(write(tmp_path, "p.csv", content))
    assert table.labels().tolist() == [1, 0, 1, 0, pd.NA, 1, 0, pd.NA]
    assert "2 pairs have no label and are ignored for training/evaluation." in table.warnings


def test_pairs_with_unknown_labels_load_unlabelled_and_say_which(tmp_path):
    content = "question1,question2,is_duplicate\nA?,B?,maybe\nC?,D?,1\nE?,F?,maybe\n"
    table = read_table(write(tmp_path, "p.csv", content))
    assert table.role is Role.PAIRS and table.pairs.label is None and table.labels() is None
    assert any('"maybe" (2 rows)' in w and "labels are ignored" in w for w in table.warnings)


def test_collection_question_column_guessed_when_not_named_question(tmp_path):
    answers = ["It depends on many things that we cannot fully list here in one line." for _ in QUESTIONS]
    content = "id,category,body_txt,answer\n" + "".join(
        f'{100 + i},cat{i % 2},"{q}","{a}"\n' for i, (q, a) in enumerate(zip(QUESTIONS, answers))
    )
    table = read_table(write(tmp_path, "q.csv", content))
    assert table.role is Role.COLLECTION and table.question_column == "body_txt"


def test_guess_prefers_question_like_names_on_ties():
    frame = pd.DataFrame({"notes": QUESTIONS, "title": QUESTIONS}, dtype="str")
    assert guess_question_column(frame) == "title"


def test_guess_never_picks_numbers_or_booleans():
    frame = pd.DataFrame({"n": ["1", "2.5", "1e-05", "-3"], "flag": ["true", "false", "True", "no"],
                          "word": ["cat", "dog", "cow", "pig"]}, dtype="str")
    assert guess_question_column(frame) == "word"
    with pytest.raises(ColumnError, match="No column holds text"):
        guess_question_column(frame[["n", "flag"]])


def test_detect_role_on_a_frame():
    frame = pd.DataFrame({"anchor": ["a?"], "positive": ["b?"]}, dtype="str")
    role, column, pairs = detect_role(frame)
    assert role is Role.PAIRS and column is None and pairs.layout == "anchor-positive"


def test_overriding_columns(tmp_path):
    table = read_table(write(tmp_path, "q.csv", COLLECTION_CSV))
    by_category = table.with_collection_column("category")
    assert by_category.question_column == "category" and by_category.role is Role.COLLECTION
    assert by_category.frame is table.frame  # shared, never copied or modified
    assert table.question_column == "question"  # the original is unchanged (immutable)
    with pytest.raises(ColumnError, match="holds no text"):
        table.with_collection_column("id")
    with pytest.raises(ColumnError, match="has no column 'nope'"):
        table.with_collection_column("nope")

    pairs = table.with_pair_columns(PairColumns("question", "category"))
    assert pairs.role is Role.PAIRS and pairs.question_column is None and pairs.labels() is None
    assert len(texts(pairs)) == 10
    with pytest.raises(ColumnError, match="must be different"):
        table.with_pair_columns(PairColumns("question", "question"))
    with pytest.raises(ColumnError, match="has no column 'label'"):
        table.with_pair_columns(PairColumns("question", "category", label="label"))
    with pytest.raises(ColumnError, match="not duplicate labels"):
        table.with_pair_columns(PairColumns("question", "category", label="category"))

    back = pairs.with_collection_column("question")
    assert back.role is Role.COLLECTION and back.pairs is None and back.warnings == table.warnings


def test_parse_labels():
    series = pd.Series(["1", "0", "yes", "No", "TRUE", "false", "y", "n", "Duplicate", "not duplicate",
                        "not_duplicate", "", None, "1.0", "0.0", " Yes "], name="is_duplicate")
    expected = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, pd.NA, pd.NA, 1, 0, 1]
    result = parse_labels(series)
    assert str(result.dtype) == "Int8" and result.tolist() == expected
    assert parse_labels(pd.Series([1, 0, np.nan])).tolist() == [1, 0, pd.NA]
    assert parse_labels(pd.Series([True, False])).tolist() == [1, 0]


def test_parse_labels_lists_unrecognised_values():
    with pytest.raises(ColumnError) as err:
        parse_labels(pd.Series(["1", "maybe", "2", "maybe", "0"], name="label"))
    message = str(err.value)
    assert 'Column "label"' in message and '"maybe" (2 rows)' in message and '"2" (1 row)' in message
    assert "yes/no" in message  # says what to do


# ------------------------------------------------------------------------------------------
# Bad input


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a folder"):
        read_table(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "q.csv", COLLECTION_CSV)
    path.chmod(0)
    try:
        with pytest.raises(InputFileError, match="not allowed to read"):
            read_table(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    path = write(tmp_path, "q.csv", COLLECTION_CSV)

    def deny(p):
        raise PermissionError(errno.EACCES, "Permission denied", str(p))

    monkeypatch.setattr(sniffing, "open_binary", deny)
    with pytest.raises(InputFileError, match="not allowed to read q.csv") as err:
        read_table(path)
    assert "permissions" in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty (0 bytes)"),
        (b"  \n\n \t\n", "only blank lines"),
        (b"id,question,is_duplicate\n", "has a header row (id, question, is_duplicate) but no data rows"),
        (b"question\n\n", "has a header row (question) but no data rows"),
    ],
)
def test_empty_files(tmp_path, content, message):
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(write(tmp_path, "e.csv", content))


def test_binary_junk(tmp_path):
    junk = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(InputFileError, match="not a text file"):
        read_table(write(tmp_path, "junk.csv", junk))
    stray_nul = ("id,question\n" + "".join(f"{i},Question {i}?\n" for i in range(200))).replace("n 5?", "n\x00 5?")
    assert read_table(write(tmp_path, "nul.csv", stray_nul)).n_rows == 200  # one NUL is not "binary"
    control = b"What?\x01\x02\x03\x04\x05\x06\x07\x08" * 50
    with pytest.raises(InputFileError, match="not a text file"):
        read_table(write(tmp_path, "control.txt", control))


def test_png_named_csv(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    with pytest.raises(InputFileError, match="is a PNG image, not a table of questions") as err:
        read_table(write(tmp_path, "image.csv", png))
    assert "quoradup reads CSV, TSV, TXT, XLSX, Parquet and JSONL files" in str(err.value)


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "archive.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("questions.csv", COLLECTION_CSV)
    with pytest.raises(InputFileError, match="is a ZIP archive"):
        read_table(path)


def test_damaged_workbook(tmp_path):
    with pytest.raises(InputFileError, match="damaged Excel workbook"):
        read_table(write(tmp_path, "broken.xlsx", b"PK\x03\x04" + bytes(50)))
    with pytest.raises(InputFileError, match="named like a Excel file|named like an? Excel file"):
        read_table(write(tmp_path, "text.xlsx", COLLECTION_CSV))


def test_damaged_parquet(tmp_path):
    with pytest.raises(InputFileError, match="looks like a Parquet file but cannot be read"):
        read_table(write(tmp_path, "broken.parquet", b"PAR1" + bytes(200) + b"PAR1"))


@pytest.mark.parametrize("name", ["notes.pdf", "notes.docx", "data.xls.bak"])
def test_unsupported_extension(tmp_path, name):
    content = b"%PDF-1.7 ..." if name.endswith(".pdf") else COLLECTION_CSV.encode()
    with pytest.raises(InputFileError, match="quoradup reads CSV, TSV, TXT, XLSX, Parquet and JSONL files"):
        read_table(write(tmp_path, name, content))


def test_old_excel_format(tmp_path):
    with pytest.raises(InputFileError, match=r"old-style Office file") as err:
        read_table(write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)))
    assert "save it as .xlsx" in str(err.value)


def test_ragged_rows(tmp_path):
    content = (
        "id,question,topic\n"
        "1,What is love?,life\n"
        "2,How do I cook rice?\n"  # short: padded
        "3,Why is the sky blue?,science,EXTRA\n"  # long: kept, extra cells joined, reported
        "4,Is it?,\n"  # complete, last cell empty: not short
        "5,Can I?\n"  # short
        "6,What now?,x,y,z\n"  # long
    )
    ctx = RecordingContext()
    table = read_table(write(tmp_path, "r.csv", content), ctx)
    # No row is dropped (issue 10): long rows keep their extra cells in the last column.
    assert table.frame["id"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert table.frame["topic"].tolist() == ["life", "", "science,EXTRA", "", "", "x,y,z"]
    joined = " | ".join(table.warnings)
    assert ('2 rows had more fields than the header (3); the extra cells were kept, joined into the last '
            'column "topic" (lines 4, 7)') in joined
    assert "2 rows had fewer fields than the header; the missing cells were left blank (lines 3, 6)" in joined


def test_first_data_row_too_long(tmp_path):
    content = "id,question\n1,What is love?,EXTRA\n2,Why?\n3,How?\n"
    table = read_table(write(tmp_path, "r.csv", content))
    assert texts(table) == ["What is love?,EXTRA", "Why?", "How?"]
    assert any("1 row had more fields than the header (2)" in w and "line 2)" in w for w in table.warnings)


def test_unclosed_quote(tmp_path):
    content = 'id,question\n1,What?\n2,"never closed\n3,Why?\n'
    with pytest.raises(InputFileError, match=r'quote \(\"\) that is never closed, starting near line 3'):
        read_table(write(tmp_path, "q.csv", content))


def test_ten_megabyte_line(tmp_path):
    huge = "x" * 10_000_000
    path = write(tmp_path, "huge.csv", f"id,question\n1,What is love?\n2,{huge}\n3,Why?\n")
    start = time.perf_counter()
    table = read_table(path)
    assert time.perf_counter() - start < 5
    assert table.n_rows == 3 and len(table.frame["question"].iloc[1]) == 10_000_000
    assert any("1 value in column \"question\" is longer than 100,000 characters" in w and "row 2" in w
               for w in table.warnings)
    # one 10 MB line and nothing else, no newline at all
    table = read_table(write(tmp_path, "one.txt", huge))
    assert table.n_rows == 1


def test_numbers_only(tmp_path):
    content = "id,score\n" + "".join(f"{i},{i * 0.5}\n" for i in range(20))
    with pytest.raises(ColumnError, match=r"n\.csv: No column holds text"):
        read_table(write(tmp_path, "n.csv", content))


class _FlakyRaw(io.RawIOBase):
    """A file that fails with EIO after ``limit`` bytes, like a network drive going away."""

    def __init__(self, path: Path, limit: int) -> None:
        self._fh, self._limit = open(path, "rb"), limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readinto(self, buffer) -> int:
        if self._fh.tell() >= self._limit:
            raise OSError(errno.EIO, "Input/output error")
        return self._fh.readinto(buffer)

    def close(self) -> None:
        self._fh.close()
        super().close()


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """~200k rows of ~60-character questions (about 13 MB)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(1)
    words = np.array("what how why is the best way to learn python in india can i do you think".split())
    picks = rng.choice(words, size=(200_000, 10))
    lines = [f"{i},{' '.join(row)}?,{i % 7}\n" for i, row in enumerate(picks)]
    path.write_text("id,question,topic\n" + "".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["big.csv", "big.txt", "big.parquet", "big.jsonl"])
def test_file_failing_while_loading(big_csv, tmp_path, monkeypatch, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_bytes(big_csv.read_bytes())
    elif name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        questions = [f"{q} ({i})" for i, q in enumerate(QUESTIONS * 60_000)]
        pq.write_table(pa.table({"question": questions}), path, row_group_size=50_000, compression="none")
    elif name.endswith(".jsonl"):
        path.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS * 60_000))
    else:
        path.write_text("\n".join(QUESTIONS * 60_000))
    limit = min(3 << 20, path.stat().st_size // 2)
    monkeypatch.setattr(sniffing, "open_binary", lambda p: io.BufferedReader(_FlakyRaw(p, limit)))
    with pytest.raises(InputFileError, match="could not be read while loading") as err:
        read_table(path)
    assert "Input/output error" in str(err.value)


def test_file_deleted_while_loading(big_csv, tmp_path):
    path = tmp_path / "gone.csv"
    path.write_bytes(big_csv.read_bytes())

    class DeletingContext(RecordingContext):
        def set_progress(self, done, total=None):
            super().set_progress(done, total)
            if path.exists():
                path.unlink()

    try:  # POSIX keeps an open file readable after unlink; elsewhere we must get a clear error
        table = read_table(path, DeletingContext())
        assert table.n_rows == 200_000
    except InputFileError as err:
        assert "while loading" in str(err)


# ------------------------------------------------------------------------------------------
# Progress, cancellation, the input file stays untouched


def test_cancel_mid_load(big_csv):
    ctx = RecordingContext(cancel_after=1)
    start = time.perf_counter()
    with pytest.raises(JobCancelled):
        read_table(big_csv, ctx)
    assert time.perf_counter() - start < 2
    assert len(ctx.progress) == 1  # stopped right after the first chunk


def test_progress_is_reported(big_csv):
    ctx = RecordingContext()
    table = read_table(big_csv, ctx)
    assert table.n_rows == 200_000 and table.question_column == "question"
    assert any(big_csv.name in s for s in ctx.statuses)
    done = [d for d, _ in ctx.progress]
    assert len(done) >= 4 and done == sorted(done)
    assert ctx.progress[-1] == (big_csv.stat().st_size, big_csv.stat().st_size)


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "txt"])
def test_cancel_other_formats(tmp_path, kind):
    rows = [f"How do I learn thing number {i}?" for i in range(120_000)]
    path = tmp_path / f"q.{kind}"
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"question": rows}), path)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps({"question": r}) + "\n" for r in rows))
    else:
        path.write_text("\n".join(rows))
    ctx = RecordingContext(cancel_after=1)
    with pytest.raises(JobCancelled):
        read_table(path, ctx)
    assert read_table(path).n_rows == 120_000


def test_input_file_is_unchanged(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = [write(tmp_path, "q.csv", COLLECTION_CSV), write(tmp_path, "q.txt", "\n".join(QUESTIONS)),
             write(tmp_path, "q.jsonl", "\n".join(json.dumps({"q": q}) for q in QUESTIONS))]
    pq.write_table(pa.table({"question": QUESTIONS}), tmp_path / "q.parquet")
    paths.append(tmp_path / "q.parquet")
    import openpyxl

    wb = openpyxl.Workbook()
    for q in ["question", *QUESTIONS]:
        wb.active.append([q])
    wb.save(tmp_path / "q.xlsx")
    paths.append(tmp_path / "q.xlsx")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    for p in paths:
        read_table(p)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths} == before
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no stray files


def test_loading_500k_rows_is_quick(tmp_path, big_csv):
    path = tmp_path / "500k.csv"
    rows = big_csv.read_text().splitlines(keepends=True)[1:]
    path.write_text("id,question,topic\n" + "".join(rows * 2 + rows[:100_000]))
    start = time.perf_counter()
    table = read_table(path)
    assert table.n_rows == 500_000
    assert time.perf_counter() - start < 8  # "a few seconds"; typically ~1.5 s


# ------------------------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_text(tmp_path):
    target = tmp_path / "out.csv"
    atomic_write_text(target, "a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    atomic_write_text(target, "café\n", encoding="cp1252")
    assert target.read_bytes() == "café\n".encode("cp1252")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_writer_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("original")
    mtime = target.stat().st_mtime_ns
    with pytest.raises(RuntimeError):
        with atomic_writer(target, newline="") as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "original" and target.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # temp file removed


def test_atomic_writer_binary_and_new_file(tmp_path):
    target = tmp_path / "new.bin"
    with atomic_writer(target, "wb") as fh:
        fh.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError):
        with atomic_writer(target, "a"):
            pass
