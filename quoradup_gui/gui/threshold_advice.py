"""The Duplicates tab's estimate of the clusters an export would write (precision and recall on
the judged pairs: the file's labels and the review's decisions), Best F1 over those clusters, and
the threshold remembered per file, column and model."""

from __future__ import annotations

import hashlib

from .duplicates_view import mode_name

THRESHOLD_KEY = "duplicates/threshold"  # the last threshold anywhere: the start for a new file


class ThresholdAdvice:
    """A mixin of DuplicatesTab (it uses the tab's labels, button, runner and session)."""

    def threshold_key(self) -> str | None:
        """Settings key of this file, column and model's threshold."""
        if self.review is None:
            return None
        from pathlib import Path

        ident = f"{Path(self.review.path).resolve()}|{self.review.column}|{self.model_name()}"
        return f"{THRESHOLD_KEY}/{hashlib.blake2b(ident.encode(), digest_size=10).hexdigest()}"

    def remember_threshold(self) -> None:
        self._settings.setValue(THRESHOLD_KEY, self.threshold())
        key = self.threshold_key()
        if key is not None:
            self._settings.setValue(key, self.threshold())

    def restore_threshold(self) -> None:
        """This file and model's own threshold, when the user set one before."""
        key = self.threshold_key()
        value = self._settings.value(key) if key else None
        if value is not None:
            self._set_threshold_widgets(float(value))

    def show_cluster_estimate(self, estimate) -> None:
        self._cluster_estimate = estimate
        if estimate is None:
            self.estimate_label.hide()
            self.best_f1_button.hide()
            return
        self.estimate_label.setText(
            f"The clusters at {estimate.threshold:.3f} ({mode_name(estimate.mode)}), checked on "
            f"{estimate.n_pairs:,} judged pairs (the file's labels and your decisions): "
            f"precision <b>{estimate.precision:.2f}</b>, recall "
            f"<b>{estimate.recall:.2f}</b>, F1 {estimate.f1:.2f}")
        self.estimate_label.show()
        self.best_f1_button.show()

    def use_best_f1_threshold(self):
        """Find the threshold whose clusters (in the current mode) score the best F1, in the background."""
        if self.session is None or self.mined is None or self._runner.is_closed():
            return None
        mode = str(self.mode_combo.currentData())
        self.best_f1_button.setEnabled(False)
        job = self._runner.submit("Finding the best threshold", _best_in_worker, self.session, self.session.resolved, mode,
                                  lane="cluster", on_result=self._on_best_found,
                                  on_error=self._error_handler("Finding the best threshold failed"))
        job.sig_done.connect(lambda: self.best_f1_button.setEnabled(True))
        self._best_job = job
        return job

    def _on_best_found(self, best) -> None:
        if best is None:
            self.sig_status_message.emit("There are no judged pairs to choose a threshold with.")
            return
        self.set_threshold(best.threshold)
        self.sig_status_message.emit(f"Best F1 {best.f1:.2f} at {best.threshold:.2f} ({mode_name(best.mode)}): precision "
                                     f"{best.precision:.2f}, recall {best.recall:.2f} on {best.n_pairs:,} judged pairs")


def _best_in_worker(session, resolved, mode, ctx):
    from ..core.review.estimate import best_cluster_threshold, judged_pairs

    pairs = judged_pairs(session.collection, resolved)
    return None if pairs is None else best_cluster_threshold(session.mined, pairs, mode, ctx)


def cluster_and_estimate(session, threshold, mode, resolved, ctx):
    """The cluster job: the clustering the user sees and the estimate of its clusters."""
    from ..core.review.estimate import estimate_clusters, judged_pairs, score_clusters

    clustering = session.cluster(threshold, mode, resolved=resolved, ctx=ctx)
    pairs = judged_pairs(session.collection, resolved)
    if pairs is None:
        return clustering, None
    constraints = resolved.constraints
    if not (constraints.must_link or constraints.cannot_link):  # no decision changes the clusters: reuse them
        return clustering, score_clusters(clustering.labels, pairs, threshold, mode)
    return clustering, estimate_clusters(session.mined, pairs, threshold, mode, ctx)
