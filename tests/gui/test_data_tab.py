"""The Data tab driven through the real window: open, drop, override columns, cancel, errors."""

from __future__ import annotations

import csv

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QToolBar

from quoradup_gui.gui.main_window import MainWindow

from .conftest import drop_files, wait_for_view, write_csv


def test_demo_collection_shows_summary_and_preview(qtbot, window):
    window.open_demo()
    view = wait_for_view(qtbot, window)
    tab = window.data_tab
    assert view.table.role.value == "collection"
    assert tab.question_combo.currentText() == "question"
    assert tab.role_combo.currentText() == "Question collection"
    summary = tab.summary_label.text()
    assert f"{view.table.n_rows:,} rows" in summary
    assert "exact duplicate" in summary
    assert view.summary.n_exact_duplicates >= 10  # the demo plants exact duplicates
    assert tab.model.rowCount() == view.table.n_rows
    assert "demo_questions.csv" in window.windowTitle()


def test_spare_width_goes_to_the_question_column(qtbot, window):
    window.resize(1200, 760)
    window.open_demo()
    wait_for_view(qtbot, window)
    header = window.data_tab.table.horizontalHeader()
    columns = [window.data_tab.model.headerData(i, Qt.Orientation.Horizontal) for i in range(header.count())]
    question, last = columns.index("question"), header.count() - 1
    char = window.data_tab.fontMetrics().averageCharWidth()
    # Widened once the table is laid out: more than its 60-character start, and more than the
    # last column (which used to take all the room).
    qtbot.waitUntil(lambda: header.sectionSize(question) > 60 * char, timeout=5_000)
    assert header.sectionSize(question) > header.sectionSize(last)
    assert header.length() <= window.data_tab.table.viewport().width() + 1  # no horizontal scrolling


def test_drop_collection_onto_the_table(qtbot, window, tmp_path):
    window.open_demo()
    wait_for_view(qtbot, window)
    path = write_csv(tmp_path / "faq.csv", ["ticket", "subject", "asked_by"], [
        ["1", "How do I change my email address?", "ann"],
        ["2", "Where can I see my invoices?", "bob"],
        ["3", "how do i change my email address", "cy"],
        ["4", "Can I pay by bank transfer?", "dee"],
    ])
    # Dropped on the preview table's viewport: "anywhere onto the window" works.
    assert drop_files(window.data_tab.table.viewport(), [path])
    qtbot.waitUntil(lambda: window.data_tab.view() is not None and window.data_tab.view().table.path == path,
                    timeout=10_000)
    view = window.data_tab.view()
    assert view.table.question_column == "subject"
    assert window.data_tab.question_combo.currentText() == "subject"
    assert "1 exact duplicate" in window.data_tab.summary_label.text()
    assert window.data_tab.model.rowCount() == 4
    assert str(path.resolve()) == window.recent_files()[0]


def test_drop_non_file_is_refused(qtbot, window):
    from PySide6.QtCore import QMimeData, Qt
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setText("just some text")
    event = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert not event.isAccepted()


def test_override_question_column(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "two.csv", ["title", "body"], [
        ["How do I reset my password?", "I forgot it and the reset email never comes, what now?"],
        ["What is the refund policy?", "I bought a plan last week and want my money back, is that possible?"],
        ["How do I reset my password?", "Different body text here, also a question?"],
    ])
    window.open_file(path)
    view = wait_for_view(qtbot, window)
    other = "body" if view.table.question_column == "title" else "title"
    window.data_tab.question_combo.setCurrentText(other)
    qtbot.waitUntil(lambda: window.data_tab.view().table.question_column == other, timeout=10_000)
    assert window.data_tab.model.headerData(1 if other == "body" else 0, Qt.Orientation.Horizontal) == other
    expected_dups = "1 exact duplicate" if other == "title" else "0 exact duplicates"
    qtbot.waitUntil(lambda: expected_dups in window.data_tab.summary_label.text(), timeout=5000)


def test_quora_pair_file_is_recognised(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "train.csv", ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"], [
        ["0", "1", "2", "How can I learn Python fast?", "What is the quickest way to learn Python?", "1"],
        ["1", "3", "4", "Why is the sky blue?", "How do planes fly?", "0"],
        ["2", "5", "6", "What is love?", "What does love mean?", ""],
    ])
    assert drop_files(window, [path])
    view = wait_for_view(qtbot, window)
    tab = window.data_tab
    assert view.table.role.value == "pairs"
    assert tab.role_combo.currentText() == "Labelled pairs"
    assert (tab.text1_combo.currentText(), tab.text2_combo.currentText(), tab.label_combo.currentText()) == (
        "question1", "question2", "is_duplicate")
    assert tab.text1_combo.isVisible() and not tab.question_combo.isVisible()
    assert "1 duplicate, 1 not duplicate" in tab.summary_label.text()
    assert "without a label" in tab.summary_label.text()


def test_switch_pair_file_to_collection(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "pairs.csv", ["sentence1", "sentence2", "label"], [
        ["A cat sits on the mat?", "A cat is on the mat?", "1"],
        ["Is it raining today?", "Where is the station?", "0"],
    ])
    window.open_file(path)
    wait_for_view(qtbot, window)
    window.data_tab.role_combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: window.data_tab.view().table.role.value == "collection", timeout=10_000)
    assert window.data_tab.question_combo.isVisible()


def test_bad_file_shows_message_and_app_keeps_running(qtbot, window, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    window.open_file(empty)
    qtbot.waitUntil(lambda: window.error_banner.isVisible(), timeout=10_000)
    assert "empty" in window.error_banner.text().lower()
    assert empty.read_bytes() == b""
    # still usable
    window.open_demo()
    wait_for_view(qtbot, window)
    assert not window.error_banner.isVisible()


def test_binary_file_message(qtbot, window, tmp_path):
    junk = tmp_path / "photo.csv"
    junk.write_bytes(bytes(range(256)) * 64)
    window.open_file(junk)
    qtbot.waitUntil(lambda: window.error_banner.isVisible(), timeout=10_000)
    assert "binary" in window.error_banner.text().lower() or "not a text" in window.error_banner.text().lower()


def test_cancel_a_large_load(qtbot, window, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question"])
        for i in range(400_000):
            writer.writerow([f"How do I configure setting number {i} on my account page?"])
    job = window.open_file(path)
    qtbot.waitUntil(lambda: window.job_progress.isVisible() and window.job_progress.current_job() is job,
                    timeout=5000)
    qtbot.mouseClick(window.job_progress.cancel_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(job.sig_done, timeout=5000):
        pass
    assert job.outcome == "cancelled"
    assert window.data_tab.view() is None
    assert not window.error_banner.isVisible()
    qtbot.waitUntil(lambda: not window.job_progress.isVisible(), timeout=2000)


def test_recent_files_last_folder_and_geometry_are_remembered(qtbot, tmp_path):
    settings_path = tmp_path / "remember.ini"
    files = [write_csv(tmp_path / f"f{i}.csv", ["question"], [[f"What is question {i}?"]]) for i in range(3)]
    first = MainWindow(QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.show()
    for path in files:
        first.open_file(path)
        qtbot.waitUntil(lambda p=path: first.data_tab.view() is not None and first.data_tab.view().table.path == p,
                        timeout=10_000)
    first.resize(760, 560)  # within the offscreen screen (800x600), above the minimum size
    first.close()

    second = MainWindow(QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    second.show()
    assert second.recent_files() == [str(p.resolve()) for p in reversed(files)]
    assert second.settings.value("last_folder") == str(tmp_path)
    assert (second.width(), second.height()) == (760, 560)
    second.recent_menu.aboutToShow.emit()
    titles = [a.text() for a in second.recent_menu.actions() if a.text()]
    assert titles[0].endswith("f2.csv") and any("Clear" in t for t in titles)
    second.recent_menu.actions()[1].trigger()  # "&2 f1.csv"
    qtbot.waitUntil(lambda: second.data_tab.view() is not None, timeout=10_000)
    assert second.data_tab.view().table.path == files[1].resolve() or second.data_tab.view().table.path.name == "f1.csv"
    second.runner.shutdown()


def test_ctrl_o_action_is_bound(window):
    from PySide6.QtGui import QKeySequence

    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert window.open_action in window.findChild(QToolBar, "main_toolbar").actions()


def test_start_up_reopens_the_last_file_else_the_demo(qtbot, window, tmp_path):
    window.open_last_or_demo()
    assert wait_for_view(qtbot, window).table.path.name == "demo_questions.csv"
    mine = write_csv(tmp_path / "mine.csv", ["question"], [["Is this mine?"], ["Whose is this?"]])
    window.open_file(mine)
    qtbot.waitUntil(lambda: window.data_tab.view().table.path == mine, timeout=10_000)
    window.open_demo()
    qtbot.waitUntil(lambda: window.data_tab.view().table.path.name == "demo_questions.csv", timeout=10_000)
    window.open_last_or_demo()
    qtbot.waitUntil(lambda: window.data_tab.view().table.path.name == "mine.csv", timeout=10_000)


def test_files_that_fail_to_open_never_join_open_recent(qtbot, window, tmp_path):
    """Issue 12.5: an empty file, a PNG renamed .csv or a folder went into Open Recent."""
    good = write_csv(tmp_path / "good.csv", ["question"], [["Is this mine?"], ["Whose is this?"]])
    window.open_file(good)
    qtbot.waitUntil(lambda: window.data_tab.view() is not None, timeout=10_000)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for bad in (empty, png, tmp_path):
        window.open_file(bad)
        qtbot.waitUntil(lambda: window.data_tab.last_error is not None and not window.data_tab.is_busy(),
                        timeout=10_000)
    assert window.recent_files() == [str(good.resolve())]


def test_start_up_falls_back_when_the_last_file_fails(qtbot, window, tmp_path):
    good = write_csv(tmp_path / "good.csv", ["question"], [["Is this mine?"], ["Whose is this?"]])
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # was fine once, damaged since
    window.settings.setValue("recent_files", [str(broken.resolve()), str(good.resolve())])
    window.open_last_or_demo()
    qtbot.waitUntil(lambda: window.data_tab.view() is not None and window.data_tab.view().table.path == good.resolve()
                    or (window.data_tab.view() is not None and window.data_tab.view().table.path.name == "good.csv"),
                    timeout=10_000)
    assert window.error_banner.isVisible() and "broken.csv" in window.error_banner.text()
    assert window.recent_files() == [str(good.resolve())]
    good.write_bytes(b"")  # now the last good one fails too: the demo opens, and the banner says why
    window.open_last_or_demo()
    qtbot.waitUntil(lambda: window.data_tab.view().table.path.name == "demo_questions.csv", timeout=10_000)
    assert window.error_banner.isVisible() and "good.csv" in window.error_banner.text()
