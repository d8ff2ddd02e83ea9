"""Issue 12.6: the export asks before it replaces a file, and says where it wrote, how many rows,
with an Open folder action (a result, not an error)."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from .test_duplicates_tab import open_and_mine


class FileUrls(QObject):
    """Receives the file:// URLs the app asks the desktop to open (QDesktopServices' own hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls = []

    @Slot("QUrl")
    def show(self, url) -> None:
        self.urls.append(url.toLocalFile())


def answer_next_question(qtbot, button, seen: list) -> None:
    """Press ``button`` (a key or a StandardButton) on the next export question box, once it shows."""
    def press():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "export_question":
            QTimer.singleShot(20, press)
            return
        seen.append(box.text())
        if isinstance(button, Qt.Key):
            qtbot.keyClick(box, button)
        else:
            box.button(button).click()
    QTimer.singleShot(0, press)


def test_export_asks_before_replacing_and_offers_the_folder(qtbot, window, faq, tmp_path):
    tab = open_and_mine(qtbot, window, faq)
    target = tmp_path / "out" / "clean.csv"
    target.parent.mkdir()
    dialog = tab.open_export_dialog()
    dialog.path_edit.setText(str(target))
    dialog.export_button.click()
    with qtbot.waitSignal(dialog.job.sig_done, timeout=20_000):
        pass
    n_rows = len(pd.read_csv(target))
    banner = window.error_banner
    qtbot.waitUntil(banner.isVisible, timeout=5_000)
    assert banner.level == "info" and f"Exported {n_rows:,} rows" in banner.text() and str(target) in banner.text()
    assert banner.action_button.isVisibleTo(banner) and banner.action_button.text() == "Open folder"
    urls = FileUrls()
    QDesktopServices.setUrlHandler("file", urls, "show")
    try:
        banner.action_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert urls.urls == [str(target.parent)]

    # The same name again: a question; Enter (the default, No) and No leave the file alone.
    target.write_text("mine, not an export\n", encoding="utf-8")
    for answer in (Qt.Key.Key_Return, QMessageBox.StandardButton.No):
        dialog = tab.open_export_dialog()
        dialog.path_edit.setText(str(target))
        seen: list = []
        answer_next_question(qtbot, answer, seen)
        dialog.export_button.click()
        assert seen and "clean.csv already exists" in seen[0]
        assert dialog.isVisible() and dialog.job is None  # still open, to pick another name
        assert target.read_text(encoding="utf-8") == "mine, not an export\n"
        dialog.reject()
    dialog = tab.open_export_dialog()
    dialog.path_edit.setText(str(target))
    seen = []
    answer_next_question(qtbot, QMessageBox.StandardButton.Yes, seen)
    dialog.export_button.click()
    with qtbot.waitSignal(dialog.job.sig_done, timeout=20_000):
        pass
    assert seen and len(pd.read_csv(target)) == n_rows


def test_a_folder_as_target_is_refused_with_a_question_not_an_error(qtbot, window, faq, tmp_path):
    tab = open_and_mine(qtbot, window, faq)
    dialog = tab.open_export_dialog()
    dialog.path_edit.setText(str(tmp_path))
    seen: list = []
    answer_next_question(qtbot, QMessageBox.StandardButton.Ok, seen)
    dialog.export_button.click()
    assert seen and "is a folder" in seen[0] and dialog.job is None and dialog.isVisible()
