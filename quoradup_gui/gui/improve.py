"""Improve the model from my review, and what changed: a mixin of DuplicatesTab.

Improve hands the review's labelled pairs to the Train tab (its live plots, ETA and Stop); when
that run ends, the window calls :meth:`ImproveModel.compare_with`, which mines the questions with
the new model (the model lane, the same caches as Find duplicates) and shows the comparison page.
Keep makes the new model the one in use; Go back leaves everything as it was before Improve.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

PAGES = ("clusters", "check", "changes")


@dataclass(frozen=True)
class _ImproveStart:
    session: object
    model: str
    threshold: float
    mode: str
    mined: object


class ImproveModel:
    # ----- pages: clusters, check pairs, what changed -----------------------------------------
    def show_page(self, name: str) -> None:
        page = {"clusters": self.splitter, "check": self.pair_check, "changes": self.changes_panel}[name]
        self.pages.setCurrentWidget(page if page is self.splitter else page.parentWidget().parentWidget())
        for key, button in self.page_buttons.items():
            button.setChecked(key == name)
        for button in (self.confirm_button, self.unconfirm_button, self.split_button, self.merge_button,
                       self.canonical_button):
            button.setVisible(name == "clusters")  # they act on the cluster list
        if name == "check":
            self.pair_check.start()
        elif name == "clusters":
            self.focus_default()

    def page(self) -> str:
        current = self.pages.currentWidget()
        return "check" if current.isAncestorOf(self.pair_check) else \
            "changes" if current.isAncestorOf(self.changes_panel) else "clusters"

    def check_pairs(self) -> None:
        if self.mined is not None:
            self.show_page("check")

    # ----- improve ---------------------------------------------------------------------------
    def improve_model(self) -> bool:
        """Start "Improve the model from my review" (the Train tab runs it); False when it cannot start."""
        from ..core.errors import QuoradupError
        from ..core.loop.improve import review_config, review_training, too_few_message

        if self.session is None or self.mined is None:
            self.sig_status_message.emit("Find duplicates first: the review starts from its clusters.")
            return False
        if getattr(self, "_improving", None) is not None:
            self.sig_status_message.emit("The model is being improved already.")
            return False
        data = review_training(self.session)
        if data.n_needed:
            message, hint = too_few_message(data.rows)
            box = QMessageBox(QMessageBox.Icon.Information, "A few more answers first", f"{message}\n\n{hint}",
                              QMessageBox.StandardButton.Close, self)
            box.setObjectName("too_few_labels")
            check = box.addButton("Check pairs", QMessageBox.ButtonRole.AcceptRole)
            box.setDefaultButton(check)
            box.exec()
            chosen = box.clickedButton() is check
            box.deleteLater()
            if chosen:
                self.show_page("check")
            return False
        try:
            config = review_config(self.model_name(), len(data.pairs))
        except QuoradupError as exc:
            self._error_handler("Improving the model failed")(exc)
            return False
        self._improving = _ImproveStart(self.session, self.model_name(), self.threshold(),
                                        str(self.mode_combo.currentData()), self.mined)
        self.improve_button.setEnabled(False)
        self.sig_improve_requested.emit(config, data.pairs, data.describe())
        return True

    def improve_ended(self, result=None) -> None:
        """The Train tab's run from the review ended: compare its model (None: it failed or was cancelled)."""
        start, self._improving = getattr(self, "_improving", None), None
        self.improve_button.setEnabled(self.mined is not None)
        if result is None or start is None or start.session is not self.session:
            return
        from ..core.mine.mining import MiningParams

        self.changes_panel.summary_label.setText("Finding duplicates with the improved model…")
        self.page_buttons["changes"].show()
        self.show_page("changes")
        self._runner.submit(
            "Finding duplicates with the improved model", _compare_in_worker, start.session, start.mined,
            str(result.output), start.threshold, start.mode, MiningParams(model=str(result.output)), lane="model",
            on_result=lambda out, r=result, s=start: self._on_compared(*out, r, s),
            on_error=lambda exc, details="", r=result: self._on_compare_failed(exc, details, r))

    def _on_compare_failed(self, exc, details: str, result) -> None:
        self._error_handler("Comparing the models failed")(exc, details)
        self.add_model(str(result.output), select=False)  # the model itself is fine: listed for later
        self._leave_changes("The improved model is in the model list; comparing it failed.")

    def _on_compared(self, comparison, counts, result, start) -> None:
        if start.session is not self.session:
            return
        self._after_counts = counts
        self.changes_panel.set_comparison(comparison, result)
        self.sig_status_message.emit(f"What changed with the improved model: {comparison.diff.summary()}")
        self.changes_panel.keep_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def keep_new_model(self) -> None:
        panel = self.changes_panel
        if panel.comparison is None or panel.result is None:
            return
        notes = panel.result.use_warnings(uncertainty=False)
        if notes:
            box = QMessageBox(QMessageBox.Icon.Warning, "Keep this model?",
                              "\n\n".join(notes) + "\n\nFind duplicates with it anyway?",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.setObjectName("use_model_question")
            box.setDefaultButton(QMessageBox.StandardButton.No)
            answer = box.exec()
            box.deleteLater()
            if answer != QMessageBox.StandardButton.Yes:
                return
        folder = str(panel.result.output)
        self.add_model(folder, select=True)
        self.session.set_mined(panel.comparison.after)
        self.histogram.set_counts(self._after_counts)
        self._leave_changes(f"Finding duplicates with the improved model ({panel.result.output.name}).")
        self.recluster()

    def go_back_to_previous_model(self) -> None:
        panel = self.changes_panel
        if panel.result is not None:
            self.add_model(str(panel.result.output), select=False)  # listed, for later
        self._leave_changes("Kept the previous model; the improved one is in the model list.")

    def _leave_changes(self, message: str) -> None:
        self.changes_panel.comparison = None
        self.page_buttons["changes"].hide()
        self.pair_check.reset()
        self.show_page("clusters")
        self.sig_status_message.emit(message)


def _compare_in_worker(session, before, model, threshold, mode, params, ctx):
    from ..core.loop.changes import compare_models
    from .widgets import score_counts

    comparison = compare_models(session, before, model, threshold, mode, params, ctx)
    return comparison, score_counts(comparison.after.graph.scores)  # the histogram's counts, off the GUI thread
