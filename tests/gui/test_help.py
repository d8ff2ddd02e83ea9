"""Issue 12.11: Help ▸ User Guide (the README's guide, offline), Keyboard Shortcuts (every menu
shortcut, from the menus themselves), About (version, model, licences of the bundled parts)."""

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt


def menu_action(window, menu_name: str, text: str):
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_name:
            for action in top.menu().actions():
                if action.text().replace("&", "") == text:
                    return action
    raise AssertionError(f"no {menu_name} ▸ {text}")


def test_about_names_version_model_and_licences(qtbot, window):
    menu_action(window, "Help", "About quoradup").trigger()
    dialog = window.last_help_dialog
    qtbot.waitExposed(dialog)
    text = dialog.body.text()
    import quoradup_gui

    # one version: the package's, the installed metadata's (pyproject reads it) and `quoradup --version`'s
    assert f"quoradup {quoradup_gui.__version__}" in text and metadata.version("quoradup") == quoradup_gui.__version__
    assert "all-MiniLM-L6-v2" in text and "apache-2.0" in text.lower()
    for part, licence in (("PyTorch", "BSD-3-Clause"), ("Qt for Python (PySide6)", "LGPL-3.0"), ("pandas", "BSD-3-Clause"),
                          ("sentence-transformers", "Apache-2.0"), ("faiss", "MIT")):
        assert part in text and licence in text, part


def test_shortcut_list_comes_from_the_menus(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1, Qt.KeyboardModifier.ControlModifier)
    dialog = window.last_help_dialog
    assert dialog is not None and dialog.objectName() == "shortcuts_dialog"
    table = dialog.body
    rows = {table.item(i, 1).text(): table.item(i, 0).text() for i in range(table.rowCount())}
    assert rows["File ▸ Open"] == "Ctrl+O"
    assert rows["Review ▸ Find Duplicates"] == "Ctrl+F"
    assert rows["Review ▸ Merge Clusters"] == "Ctrl+M"
    assert rows["Edit ▸ Undo"] == "Ctrl+Z" and rows["File ▸ Quit"] == "Ctrl+Q"
    assert rows["Review ▸ Unconfirm Cluster"] == "Ctrl+U" and rows["Review ▸ Filter Clusters"] == "Ctrl+L"
    assert rows["Help ▸ User Guide"] == "F1"
    assert "F6" in rows.values() and "Enter" in rows.values()


def test_user_guide_shows_the_readme_guide_offline(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.last_help_dialog
    assert dialog.objectName() == "user_guide_dialog"
    text = dialog.body.toPlainText()
    assert "quoradup user guide" in text
    assert "Finding and reviewing duplicates" in text and "Training a better model" in text
    assert "F6 moves between the cluster list and its questions" in " ".join(text.split())
    assert "Speed and memory" not in text  # the guide, not the engineering notes
