"""Help menu: About (version, model, licences of the bundled parts), the keyboard shortcuts,
and the user guide (the README's "Using it" part, read from the installed package's metadata,
so it is there offline and in a wheel)."""

from __future__ import annotations

import html
import re
from importlib import metadata

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

APP_DIST = "quoradup"
# The parts a quoradup install carries, with the name users know them by.
BUNDLED_PARTS = [
    ("Qt for Python (PySide6)", "PySide6_Essentials"),
    ("PyTorch", "torch"),
    ("sentence-transformers", "sentence-transformers"),
    ("transformers", "transformers"),
    ("tokenizers", "tokenizers"),
    ("faiss", "faiss-cpu"),
    ("ONNX Runtime", "onnxruntime"),
    ("pandas", "pandas"),
    ("NumPy", "numpy"),
    ("PyArrow", "pyarrow"),
    ("openpyxl", "openpyxl"),
    ("pyqtgraph", "pyqtgraph"),
    ("qasync", "qasync"),
]
# Keys that are not menu actions (or mean something only in one place).
OTHER_KEYS = [
    ("Enter", "Confirm the cluster (in the cluster list or the question list)"),
    ("F6", "Move between the cluster list and its questions"),
    ("Tab / Shift+Tab", "Next / previous control"),
    ("Esc", "Clear the cluster filter (in the filter box); otherwise cancel the running job"),
    ("Alt+M / Alt+S", "The model picker / the similarity threshold box"),
    ("Up / Down", "Previous / next cluster or question"),
    ("Drag a question onto a cluster", "Move it there"),
    ("Y / N / U / S", "Check pairs: duplicates / not duplicates / unsure / skip (Ctrl+Z takes an answer back)"),
]


def app_version() -> str:
    from .. import __version__

    return __version__


def licence_of(dist: str) -> tuple[str, str]:
    """(version, licence) of an installed distribution, from its own metadata."""
    try:
        md = metadata.metadata(dist)
    except metadata.PackageNotFoundError:
        return "not installed", ""
    licence = md.get("License-Expression") or ""
    if not licence:
        text = (md.get("License") or "").strip()
        licence = text if text and len(text) < 80 and "\n" not in text else ""
    if not licence:
        classifiers = [c.split("::")[-1].strip() for c in md.get_all("Classifier") or [] if c.startswith("License ::")]
        licence = ", ".join(classifiers)
    return md.get("Version") or "", licence or "see its package"


def bundled_model_line() -> str:
    """The bundled model's name and licence (from its model card), if the model package is there."""
    try:
        from ..core.encode.models import bundled_model_path

        card = (bundled_model_path() / "README.md").read_text(encoding="utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - the About box never fails over this
        return "all-MiniLM-L6-v2 (bundled model package not found)"
    found = re.search(r"^license:\s*(\S+)", card, re.MULTILINE)
    return f"sentence-transformers/all-MiniLM-L6-v2, licence {found.group(1) if found else 'see its model card'}"


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(v)}</td><td>{html.escape(lic)}</td></tr>"
                   for name, dist in BUNDLED_PARTS for v, lic in [licence_of(dist)])
    return (f"<h2>quoradup {html.escape(app_version())}</h2>"
            "<p>Finds and removes duplicate questions in a spreadsheet by meaning, not spelling; "
            "learns from your review. Licence: MIT.</p>"
            f"<p><b>Default model:</b> {html.escape(bundled_model_line())}</p>"
            "<p><b>Bundled parts</b></p><table cellspacing='0' cellpadding='3'>"
            "<tr><th align='left'>Part</th><th align='left'>Version</th><th align='left'>Licence</th></tr>"
            f"{rows}</table>")


def user_guide_markdown() -> str:
    """The README's user guide ("Using it" up to the next top-level section)."""
    from pathlib import Path

    source_checkout = Path(__file__).resolve().parents[2] / "README.md"  # running from the repository
    if source_checkout.is_file():
        readme = source_checkout.read_text(encoding="utf-8", errors="replace")
    else:  # installed: the README is the package's long description
        try:
            readme = metadata.metadata(APP_DIST).get_payload() or ""
        except metadata.PackageNotFoundError:
            readme = ""
    if not readme.strip():
        return "# User guide\n\nThe guide is not installed with this copy of quoradup; see README.md."
    start = readme.find("## Using it")
    if start < 0:
        return readme
    end = readme.find("\n## ", start + 3)
    guide = readme[start:end if end > 0 else None]
    guide = re.sub(r"!\[[^\]]*\]\([^)]*\)\n?", "", guide)  # screenshots are files beside the README
    return "# quoradup user guide\n\n" + guide.replace("## Using it", "", 1).lstrip()


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(keys, what they do) for every menu action with a shortcut, then the other keys."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and not action.isSeparator():
                name = f"{menu_action.text().replace('&', '')} ▸ {action.text().replace('&', '').rstrip('…')}"
                name = re.sub(r"^(Edit ▸ (Undo|Redo)) .*", r"\1", name)  # "Undo 2 not duplicates"
                if (keys, name) not in seen:
                    seen.add((keys, name))
                    rows.append((keys, name))
    return rows + OTHER_KEYS


class _Dialog(QDialog):
    def __init__(self, title: str, body: QWidget, parent: QWidget, size: tuple[int, int], name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName(name)
        layout = QVBoxLayout(self)
        layout.addWidget(body, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.body = body
        self.resize(*size)


def about_dialog(parent: QWidget) -> QDialog:
    label = QLabel(about_html(), objectName="about_text")
    label.setWordWrap(True)
    return _Dialog("About quoradup", label, parent, (520, 520), "about_dialog")


def shortcuts_dialog(window) -> QDialog:
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2, objectName="shortcut_table")
    table.setHorizontalHeaderLabels(["Keys", "Does"])
    for i, (keys, does) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(keys))
        table.setItem(i, 1, QTableWidgetItem(does))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return _Dialog("Keyboard shortcuts", table, window, (620, 560), "shortcuts_dialog")


def user_guide_dialog(parent: QWidget) -> QDialog:
    browser = QTextBrowser(objectName="user_guide")
    browser.setOpenExternalLinks(True)
    browser.setMarkdown(user_guide_markdown())
    return _Dialog("quoradup user guide", browser, parent, (760, 640), "user_guide_dialog")


def add_help_actions(window, menu) -> None:
    """Help ▸ User Guide (F1), Keyboard Shortcuts (Ctrl+F1), About."""
    def opener(build):
        def open_it() -> QDialog:
            dialog = build(window)
            dialog.open()
            window.last_help_dialog = dialog
            return dialog
        return open_it

    window.user_guide_action = QAction("&User Guide", window, shortcut=QKeySequence("F1"),
                                       triggered=opener(user_guide_dialog))
    window.shortcuts_action = QAction("&Keyboard Shortcuts", window, shortcut=QKeySequence("Ctrl+F1"),
                                      triggered=opener(shortcuts_dialog))
    window.about_action = QAction("&About quoradup", window, triggered=opener(about_dialog))
    for action in (window.user_guide_action, window.shortcuts_action):
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(window.about_action)
