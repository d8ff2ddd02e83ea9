"""Export dialog: what to write (with a preview of how many rows go) and where."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

SUFFIX_FILTER = "CSV (*.csv);;Excel (*.xlsx);;TSV (*.tsv);;Parquet (*.parquet);;JSON lines (*.jsonl)"


class ExportDialog(QDialog):
    def __init__(self, tab, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("export_dialog")
        self._tab = tab
        clustering = tab.clustering
        n_pairs = len(tab.resolved.constraints.must_link) + len(tab.resolved.constraints.cannot_link)
        self.kind_buttons = {
            "dedup": QRadioButton(f"Deduplicated spreadsheet — {clustering.n - clustering.n_removed:,} rows "
                                  f"({clustering.n_removed:,} of {clustering.n:,} removed), all original columns"),
            "annotated": QRadioButton(f"Annotated spreadsheet — all {clustering.n:,} rows plus cluster_id, "
                                      "cluster_size, is_canonical, similarity_to_canonical, question_edited"),
            "pairs": QRadioButton(f"Review decisions as labelled pairs — {n_pairs:,} pairs "
                                  "(question1, question2, is_duplicate), ready for training"),
        }
        self.kind_buttons["pairs"].setEnabled(n_pairs > 0)
        self._group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>What to export</b>"))
        for button in self.kind_buttons.values():
            self._group.addButton(button)
            layout.addWidget(button)
        self.kind_buttons["dedup"].setChecked(True)
        self.path_edit = QLineEdit(objectName="export_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout.addWidget(QLabel("<b>Save as</b> (.csv, .xlsx, .tsv, .parquet or .jsonl)"))
        layout.addLayout(row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._on_export_clicked)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for kind, button in self.kind_buttons.items():
            button.toggled.connect(lambda on, k=kind: on and self._suggest_path(k))
        self._suggest_path("dedup")
        self.job = None

    def kind(self) -> str:
        return next(k for k, b in self.kind_buttons.items() if b.isChecked())

    def _suggest_path(self, kind: str) -> None:
        source = Path(self._tab.review.path)
        suffix = source.suffix.lower() if source.suffix.lower() in (".csv", ".xlsx", ".tsv", ".parquet", ".jsonl") else ".csv"
        if kind == "pairs":
            suffix = ".csv"
        name = {"dedup": "deduplicated", "annotated": "clusters", "pairs": "review-pairs"}[kind]
        self.path_edit.setText(str(source.with_name(f"{source.stem}-{name}{suffix}")))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), SUFFIX_FILTER)
        if path:
            self.path_edit.setText(path)

    def _on_export_clicked(self) -> None:
        path = Path(self.path_edit.text()).expanduser()
        overwrite_input = False
        if path.is_dir():
            self._ask("Choose a file name", f"{path} is a folder. Type a file name to export to.",
                      QMessageBox.StandardButton.Ok)
            return
        if path.exists():
            if path.resolve() == Path(self._tab.review.path).resolve():
                question = ("Overwrite the input file?", f"{path.name} is the file you opened. Replace it with the export?")
                overwrite_input = True
            else:
                question = (f"Replace {path.name}?", f"{path.name} already exists in {path.parent}. "
                            "Replace it with this export?")
            answer = self._ask(*question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.job = self._tab.export(self.kind(), path, overwrite_input=overwrite_input)
        self.accept()

    def _ask(self, title: str, text: str, buttons) -> QMessageBox.StandardButton:
        """A modal question; "No" (or the only button) is the default, so Enter never replaces a file."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, buttons, self)
        box.setObjectName("export_question")
        box.setDefaultButton(QMessageBox.StandardButton.No if buttons & QMessageBox.StandardButton.No
                             else QMessageBox.StandardButton.Ok)
        return QMessageBox.StandardButton(box.exec())
