"""Issue 12.4: pair files with their own headers. A header such as "first question,second
question,same?" is a header; "First row is a header" corrects the guess; switching a file to
Labelled pairs picks two different question columns and a label column, and shows how the
labels are read."""

from __future__ import annotations

from .conftest import wait_for_view, write_csv

ROWS = [
    ["How do I reset my password?", "How can I change my password?", "yes"],
    ["What is the capital of France?", "Where is the Eiffel tower?", "no"],
    ["How tall is Mount Everest?", "What is the height of Everest?", "yes"],
    ["How do I bake bread?", "What is a good bread recipe?", "no"],
]


def test_a_pair_file_with_its_own_header_names(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "pairs.csv", ["first question", "second question", "same?"], ROWS)
    window.open_file(path)
    view = wait_for_view(qtbot, window)
    tab = window.data_tab
    assert view.table.format.has_header and tab.header_check.isChecked()
    assert view.table.role.value == "pairs" and tab.role_combo.currentText() == "Labelled pairs"
    assert (tab.text1_combo.currentText(), tab.text2_combo.currentText(), tab.label_combo.currentText()) == (
        "first question", "second question", "same?")
    assert tab.label_reading.isVisible()
    assert "“yes” → duplicate (2)" in tab.label_reading.text() and "“no” → not duplicate (2)" in tab.label_reading.text()
    assert "2 duplicates, 2 not duplicates" in tab.summary_label.text()
    assert "8 questions" in tab.summary_label.text() and " rows" not in tab.summary_label.text()  # distinct questions

    # Unticking the header reads the first row as data.
    tab.header_check.setChecked(False)
    qtbot.waitUntil(lambda: tab.view() is not view and not tab.is_busy(), timeout=20_000)
    table = tab.view().table
    assert not table.format.has_header and len(table.frame) == len(ROWS) + 1
    assert list(table.frame.columns) == ["column_1", "column_2", "column_3"]
    assert table.frame.iloc[0].tolist() == ["first question", "second question", "same?"]


def test_switching_a_headerless_file_to_labelled_pairs(qtbot, window, tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(",".join(row) for row in ROWS) + "\n", encoding="utf-8")
    window.open_file(path)
    view = wait_for_view(qtbot, window)
    tab = window.data_tab
    assert not tab.header_check.isChecked() and view.table.role.value == "collection"
    tab.role_combo.setCurrentText("Labelled pairs")
    qtbot.waitUntil(lambda: tab.view() is not view and not tab.is_busy(), timeout=20_000)
    assert not window.error_banner.isVisible(), window.error_banner.text()
    pairs = tab.view().table.pairs
    assert (pairs.text1, pairs.text2, pairs.label) == ("column_1", "column_2", "column_3")
    assert tab.label_reading.isVisible() and "“yes” → duplicate (2)" in tab.label_reading.text()
    assert window.train_tab.start_button.isEnabled()  # ready to train on


def test_a_file_of_one_text_column_cannot_become_pairs_and_says_why(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "faq.csv", ["id", "question"], [[str(i), row[0]] for i, row in enumerate(ROWS)])
    window.open_file(path)
    wait_for_view(qtbot, window)
    tab = window.data_tab
    tab.role_combo.setCurrentText("Labelled pairs")
    qtbot.waitUntil(window.error_banner.isVisible, timeout=20_000)
    assert "fewer than two columns of text" in window.error_banner.text()
    qtbot.waitUntil(lambda: tab.role_combo.currentText() == "Question collection", timeout=5_000)
