"""The Duplicates tab's model picker: the bundled model, every model the Train tab wrote to the
app's model folder (name, base, loss, date, held-out AP), and every folder the user chose before."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

BROWSE = "__browse__"
CHOSEN_KEY = "duplicates/model_folders"  # folders chosen with "Choose a model folder…", newest first
MAX_CHOSEN = 10


class ModelPicker:
    """A mixin of DuplicatesTab (it uses the tab's model_combo and settings)."""

    def model_name(self) -> str:
        return str(self.model_combo.currentData())

    def refresh_models(self) -> None:
        """List the app's trained models and the folders chosen before (the current choice is kept)."""
        from ..core.encode.model_folders import holds_model, list_trained_models
        from ..core.resources import app_data_dir

        current = self.model_name()
        combo = self.model_combo
        combo.blockSignals(True)
        while combo.count() > 2:  # keep "default" (first) and "Choose a model folder…" (last)
            combo.removeItem(1)
        listed = set()
        for model in list_trained_models(app_data_dir() / "models"):
            self._insert_model(model.label(), str(model.folder), _tooltip(model))
            listed.add(str(model.folder))
        for folder in self._chosen_folders():
            if folder not in listed and holds_model(Path(folder)):
                self._insert_model(f"{Path(folder).name} · {folder}", folder, folder)
        index = combo.findData(current)
        combo.setCurrentIndex(index if index >= 0 else 0)
        combo.blockSignals(False)

    def _insert_model(self, label: str, folder: str, tooltip: str) -> None:
        combo = self.model_combo
        combo.insertItem(combo.count() - 1, label, folder)
        combo.setItemData(combo.count() - 2, tooltip, Qt.ItemDataRole.ToolTipRole)

    def _chosen_folders(self) -> list[str]:
        value = self._settings.value(CHOSEN_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _on_model_combo_activated(self, index: int) -> None:
        if self.model_combo.itemData(index) != BROWSE:
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a SentenceTransformer model folder")
        self.model_combo.setCurrentIndex(0)
        if folder:
            self.add_model(folder, select=True)

    def add_model(self, folder: str, select: bool = True) -> None:
        """A model folder (chosen, or handed over by the Train tab): listed from now on."""
        folder = str(folder)
        chosen = [folder] + [f for f in self._chosen_folders() if f != folder]
        self._settings.setValue(CHOSEN_KEY, chosen[:MAX_CHOSEN])
        self.refresh_models()
        if self.model_combo.findData(folder) < 0:  # not a model the listing recognises: still usable
            self._insert_model(Path(folder).name, folder, folder)
        if select:
            self.model_combo.setCurrentIndex(self.model_combo.findData(folder))


def _tooltip(model) -> str:
    lines = [str(model.folder), f"Base model: {model.base_model}", f"Loss: {model.loss}"]
    if model.ap is not None:
        base = f" (base model {model.base_ap:.3f})" if model.base_ap is not None else ""
        lines.append(f"Held-out AP {model.ap:.3f}{base} on {model.n_eval_pairs:,} pairs")
    if model.cancelled:
        lines.append("Stopped early")
    if model.worse_than_base:
        lines.append("Scored worse than its base model")
    return "\n".join(lines)
