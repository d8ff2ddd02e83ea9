"""The review gestures and the export of the Duplicates tab, each a call on the ReviewSession.

A mixin of DuplicatesTab (it uses the tab's tables, models, runner and signals): one gesture is
one session method, one journal entry and one undo step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from ..core.wording import plural
from .jobs import Job


class ReviewActions:
    # ----- keyboard --------------------------------------------------------------------------
    def focus_default(self) -> None:
        """Where the keyboard starts when the tab is shown: the cluster list once there are
        clusters, else Find duplicates (so the tab's shortcuts work at once); in Check pairs, the pair."""
        if self.page() == "check":
            self.pair_check.setFocus(Qt.FocusReason.TabFocusReason)
            return
        if self.cluster_table.isEnabled() and self.cluster_model.rowCount():
            self.cluster_table.setFocus(Qt.FocusReason.TabFocusReason)
            if not self.cluster_table.selectionModel().hasSelection():
                self.cluster_table.selectRow(0)
        else:
            self.find_button.setFocus(Qt.FocusReason.TabFocusReason)

    def keep_keyboard_here(self) -> None:
        """Once the tab is ready (prepared, mined), the keyboard is in it, unless the user put it elsewhere in it."""
        from PySide6.QtWidgets import QApplication

        focused = QApplication.focusWidget()
        passing = (self.find_button, *self.page_buttons.values())  # where the keyboard lands while Find runs
        if self.isVisible() and (focused is None or focused in passing or not focused.isEnabled()
                                 or not self.isAncestorOf(focused)):
            self.focus_default()

    def focus_filter(self) -> None:
        if self.filter_edit.isEnabled():
            self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.filter_edit.selectAll()

    def switch_pane(self) -> None:
        """F6: from the cluster list to its questions and back."""
        if not self.cluster_table.isEnabled():
            return
        target = self.cluster_table if self.member_table.hasFocus() else self.member_table
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if target is self.member_table and not target.selectionModel().hasSelection() and self.member_model.rowCount():
            target.selectRow(0)

    # ----- filtering the cluster list ------------------------------------------------------------
    def _on_filter_changed(self, text: str) -> None:
        self.cluster_model.set_filter(text)
        if self.cluster_model.rowCount():
            self.cluster_table.selectRow(0)
        self._show_review_count()

    def _on_unreviewed_toggled(self, on: bool) -> None:
        self.cluster_model.set_unreviewed_only(on)
        if self.cluster_model.rowCount():
            self.cluster_table.selectRow(0)
        self._show_review_count()

    def _show_review_count(self) -> None:
        model = self.cluster_model
        total = model.n_clusters()
        text = f"Reviewed {model.n_reviewed():,} of {plural(total, 'cluster')}"
        if model.is_filtered():
            text += f" · {model.rowCount():,} of {total:,} shown"
        self.review_count_label.setText(text if total else "")

    # ----- review: each gesture is one session method, one journal entry, one undo ---------------
    def _gesture(self, method, *args) -> bool:
        """Run a review gesture; a decision that is not on disk is not made (the banner says why)."""
        from ..core.review.decisions import DecisionNotSaved
        from ..core.review.session import SessionClosed

        if self.session is None or self.clustering is None:
            return False
        try:
            message = method(*args)
        except (DecisionNotSaved, SessionClosed) as exc:
            self._error_handler("Review decision not saved")(exc)
            return False
        if message:
            self.sig_status_message.emit(message)
        self._update_undo_actions()
        self.recluster()
        return bool(message)

    def _update_undo_actions(self) -> None:
        session = self.session
        self.undo_action.setEnabled(bool(session and session.can_undo()))
        self.redo_action.setEnabled(bool(session and session.can_redo()))
        self.undo_action.setText(f"Undo {session.undo_label()}" if session and session.can_undo() else "Undo")
        self.redo_action.setText(f"Redo {session.redo_label()}" if session and session.can_redo() else "Redo")

    def confirm_current(self) -> None:
        cid = self.current_cluster_id()
        index = self.cluster_table.currentIndex()
        if cid is not None and self._gesture(self.session.confirm, cid):
            self._advance_to = index.row() + 1 if index.isValid() else None  # go on to the next cluster

    def unconfirm_current(self) -> None:
        cid = self.current_cluster_id()
        if cid is not None:
            self._gesture(self.session.unconfirm, cid)

    def selected_member_rows(self) -> list[int]:
        ids = self.member_model.row_ids()
        return sorted({int(ids[i.row()]) for i in self.member_table.selectionModel().selectedRows()})

    def split_selected(self) -> None:
        cid, selected = self.current_cluster_id(), self.selected_member_rows()
        if cid is not None and selected:
            self._gesture(self.session.split, cid, selected)

    def merge_selected(self) -> None:
        ids = {self.cluster_model.cluster_id(i.row()) for i in self.cluster_table.selectionModel().selectedRows()}
        if len(ids) >= 2:
            self._gesture(self.session.merge, sorted(ids))

    def move_members(self, rows: list[int], target_cluster: int) -> None:
        """Members dragged onto another cluster: one gesture, one undo."""
        self._gesture(self.session.move, rows, target_cluster)

    def make_selected_canonical(self) -> None:
        selected = self.selected_member_rows()
        if len(selected) == 1:
            self._gesture(self.session.keep, selected[0])

    def edit_canonical_dialog(self) -> None:
        cid = self.current_cluster_id()
        if cid is None:
            return
        from PySide6.QtWidgets import QInputDialog

        current = self._display_texts()[int(self.clustering.canonical[cid])]
        text, ok = QInputDialog.getText(self, "Edit the kept question",
                                        "The export writes this text for the cluster's kept question:", text=current)
        if ok:
            self.edit_canonical_text(text)

    def edit_canonical_text(self, text: str) -> None:
        cid = self.current_cluster_id()
        if cid is not None:
            self._gesture(self.session.edit, cid, text)

    def undo(self) -> None:
        if self.session is not None and self.session.can_undo() and self._gesture(self.session.undo) \
                and self.page() == "check":
            self.pair_check.after_undo(self.session.log.undone[-1])  # that pair is asked again

    def redo(self) -> None:
        if self.session is not None and self.session.can_redo() and self._gesture(self.session.redo) \
                and self.page() == "check":
            self.pair_check.start()

    # ----- export ------------------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path, overwrite_input: bool = False) -> Job:
        return self._runner.submit(f"Exporting {Path(path).name}", _export_in_worker, self.session, kind, Path(path),
                                   self.clustering, overwrite_input, lane="io", on_result=self._on_exported,
                                   on_error=self._error_handler("Export failed"))

    def open_export_dialog(self):
        if self.clustering is None:
            self.sig_status_message.emit("Find duplicates first: there is nothing to export yet.")
            return None
        from .export_dialog import ExportDialog

        dialog = ExportDialog(self, self)
        dialog.open()
        return dialog

    def _on_exported(self, written) -> None:
        """Say where the export went and how many rows, with every warning about the data in it,
        and offer to open its folder."""
        from .widgets import open_folder

        summary = f"Exported {plural(written.n_rows, 'row')} to {written.path}"
        self.sig_status_message.emit(summary)
        load_notes = list(self._view.table.warnings) if self._view is not None else []
        notes = list(written.warnings) + [f"While reading {self._view.table.path.name}: {n}" for n in load_notes]
        self.last_export_summary = "\n".join([summary, *notes])
        title = f"Exported {plural(written.n_rows, 'row')}" + (", with notes" if notes else "")
        message = "\n".join([str(written.path), *notes])
        folder = Path(written.path).parent
        self.sig_notice_raised.emit(title, message, "warning" if notes else "info",
                                    ("Open folder", lambda: open_folder(folder)))


def _export_in_worker(session, kind, path, clustering, overwrite_input, ctx):
    return session.export(kind, path, clustering=clustering, overwrite_input=overwrite_input)
