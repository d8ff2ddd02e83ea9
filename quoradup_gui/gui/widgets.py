"""Small reusable widgets: error banner, job progress, length histogram."""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from .jobs import Job


def open_folder(folder) -> bool:
    """Show ``folder`` in the desktop's file manager."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def format_eta(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


def format_rate(progress: dict) -> str:
    """"12.3 pairs/s · ETA 0:20" from a job's progress partial (its rate and ETA, as it measured them).

    The Train tab and the status bar both show this text, so they never disagree."""
    return f"{progress.get('samples_per_s') or 0:.1f} pairs/s · ETA {format_eta(progress.get('eta_s') or 0)}"


BANNER_STYLES = {  # level: background, border, text
    "error": ("#fdecea", "#e0a39c", "#5f1d16"),
    "warning": ("#fff4e0", "#e5c07b", "#5c3d00"),
    "info": ("#e8f4ea", "#9cc9a4", "#1d4d27"),
}


class ErrorBanner(QFrame):
    """The one strip at the top of the window where the app tells the user something: errors
    (red, with Details… for unexpected ones), warnings (amber) and results (green), each with an
    optional action button such as "Open folder"."""

    sig_details_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error_banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.action_button = QPushButton(objectName="banner_action_button")
        self.action_button.clicked.connect(self._on_action_clicked)
        self.action_button.hide()
        self.details_button = QPushButton("Details…", objectName="error_details_button")
        self.details_button.setToolTip("What went wrong, for a bug report (also in the log file)")
        self.details_button.clicked.connect(self._show_details)
        self.details_button.hide()
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss (Esc)")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(self._label)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.details = ""
        self.level = "error"
        self._title = ""
        self._action = None
        self._set_level("error")
        self.hide()

    def _set_level(self, level: str) -> None:
        self.level = level
        background, border, text = BANNER_STYLES[level]
        self.setStyleSheet(f"#error_banner {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}"
                           f"#error_banner QLabel {{ color: {text}; }}")

    def show_message(self, title: str, message: str, details: str = "", level: str = "error",
                     action: tuple[str, object] | None = None) -> None:
        """``details``: the traceback of an unexpected error, offered behind Details…;
        ``action``: (button text, callable) offered beside the message."""
        self.details, self._title = details, title
        self._set_level(level)
        self._label.setText(f"<b>{_escape(title)}</b><br>{_escape(message).replace(chr(10), '<br>')}")
        self.details_button.setVisible(bool(details))
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def _on_action_clicked(self) -> None:
        if self._action is not None:
            self._action()

    def _show_details(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Warning, self._title, "This went wrong inside quoradup. The details "
                          "below (also in the log file, Help ▸ Open Log Folder) help to fix it.", parent=self)
        box.setDetailedText(self.details)
        box.open()

    def text(self) -> str:
        return self._label.text()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class JobProgress(QWidget):
    """Status-bar widget following the most recent job: status text, progress, Cancel.

    The rate and ETA beside the bar are the job's own when it reports them (a partial
    ``{"kind": "progress", "samples_per_s", "eta_s"}``, as training does); otherwise they are
    estimated here from the progress calls.

    It appears only once a job has run for SHOW_DELAY_MS, so the quick jobs of a dragged slider
    (re-clustering takes tens of milliseconds) do not make it flash on and off."""

    SHOW_DELAY_MS = 300

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(300)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._job: Job | None = None
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(self.SHOW_DELAY_MS)
        self._show_timer.timeout.connect(self._show_if_running)
        self.hide()

    def track(self, job: Job) -> None:
        self._job = job
        self.label.setText(job.name + "…")
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.bar.setFormat("%p%")
        self._phase_total, self._phase_start, self._phase_done0 = -1.0, time.monotonic(), 0.0
        self._reported: dict | None = None  # the job's own latest progress partial
        self.cancel_button.setEnabled(True)
        job.sig_status_changed.connect(self._on_job_status_changed)
        job.sig_progress_changed.connect(self._on_job_progress_changed)
        job.sig_partial_emitted.connect(self._on_job_partial_emitted)
        job.sig_done.connect(self._on_job_done)
        if not self.isVisible():
            self._show_timer.start()

    def _show_if_running(self) -> None:
        if self._job is not None:
            self.show()

    def current_job(self) -> Job | None:
        return self._job

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _on_job_status_changed(self, text: str) -> None:
        if self.sender() is self._job:
            self.label.setText(text)

    def _on_job_progress_changed(self, done: float, total: float) -> None:
        if self.sender() is not self._job:
            return
        if total <= 0:
            self.bar.setRange(0, 0)
            return
        now = time.monotonic()
        if total != self._phase_total or done < self._phase_done0:  # a new phase: restart the rate
            self._phase_total, self._phase_start, self._phase_done0 = total, now, done
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * min(done / total, 1.0)))
        if self._reported is not None:
            return  # the job's own rate stays until its next report
        elapsed = now - self._phase_start
        rate = (done - self._phase_done0) / elapsed if elapsed > 0.5 else 0.0
        text = "%p%"
        if rate > 0:
            eta = int((total - done) / rate)
            text += f" · {rate:,.0f}/s · ETA {format_eta(eta)}"
        self.bar.setFormat(text)

    def _on_job_partial_emitted(self, value) -> None:
        if (self.sender() is self._job and isinstance(value, dict) and value.get("kind") == "progress"
                and "samples_per_s" in value):
            self._reported = value
            self.bar.setFormat(f"%p% · {format_rate(value)}")

    def _on_job_done(self) -> None:
        if self.sender() is self._job:
            self._job = None
            self._show_timer.stop()
            self.hide()


class LengthHistogram(QWidget):
    """Bar chart of question lengths, painted directly (no plotting library on this path)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bins: tuple[tuple[int, int], ...] = ()
        self.setMinimumSize(220, 110)
        self.setToolTip("Question length in characters")

    def set_bins(self, bins: tuple[tuple[int, int], ...]) -> None:
        self._bins = tuple(bins)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if not self._bins:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(4, 4, -4, -18)
        peak = max(count for _, count in self._bins) or 1
        width = rect.width() / len(self._bins)
        bar_color = QColor(20, 135, 122)
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        for i, (edge, count) in enumerate(self._bins):
            height = rect.height() * count / peak
            bar = QRectF(rect.left() + i * width + 1, rect.bottom() - height, width - 2, height)
            painter.fillRect(bar, bar_color)
        painter.setPen(text_color)
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6))
        painter.setFont(font)
        step = max(1, len(self._bins) // 4)
        for i in range(0, len(self._bins), step):
            x = rect.left() + (i + 1) * width
            painter.drawText(QRectF(x - 30, rect.bottom() + 2, 60, 14), Qt.AlignmentFlag.AlignCenter,
                             f"≤{self._bins[i][0]}")
        painter.end()


class SimilarityHistogram(QWidget):
    """Neighbour similarities with the current threshold marked; pairs at or above it are drawn
    in the accent colour. Its x scale is the threshold slider's own (``align_to``), so a value
    sits right above the slider handle that selects it; the y axis counts pairs on a log scale.
    A click picks the threshold under the pointer."""

    sig_threshold_picked = Signal(float)
    Y_AXIS = 44  # px left of the bars for the count labels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: list[int] = []
        self._low, self._high = 0.5, 1.0
        self.threshold = 0.85
        self._slider = None
        self.setMinimumSize(240, 96)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("How many neighbour pairs have each similarity (log scale); pairs right of the line "
                        "are duplicates. Click to set the threshold there.")

    def align_to(self, slider) -> None:
        """Use ``slider``'s scale (its range is the similarity x 1000)."""
        self._slider = slider

    def set_scores(self, scores, low: float = 0.5, high: float = 1.0, bins: int = 50) -> None:
        self.set_counts(score_counts(scores, low, high, bins), low, high)

    def set_counts(self, counts: list[int], low: float = 0.5, high: float = 1.0) -> None:
        """Counts :func:`score_counts` made (on a worker: for a big graph it is not free)."""
        self._low, self._high = low, high
        self._counts = list(counts)
        self.update()

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        self.update()

    # ----- the shared scale --------------------------------------------------------------------
    def _slider_span(self) -> tuple[float, float]:
        """x (in this widget) of the slider handle's centre at its minimum and at its maximum."""
        slider = self._slider
        if slider is None:
            return float(self.Y_AXIS), float(self.width() - 14)
        from PySide6.QtCore import QPoint
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider

        option = QStyleOptionSlider()
        slider.initStyleOption(option)
        groove = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                               QStyle.SubControl.SC_SliderGroove, slider)
        handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                               QStyle.SubControl.SC_SliderHandle, slider)
        first = groove.left() + handle.width() / 2
        last = groove.right() + 1 - handle.width() / 2
        offset = slider.mapTo(self.window(), QPoint(0, 0)).x() - self.mapTo(self.window(), QPoint(0, 0)).x()
        return offset + first, offset + last

    def value_to_x(self, value: float) -> float:
        first, last = self._slider_span()
        low = self._slider.minimum() / 1000 if self._slider is not None else self._low
        high = self._slider.maximum() / 1000 if self._slider is not None else self._high
        return first + (last - first) * (value - low) / (high - low)

    def x_to_value(self, x: float) -> float:
        first, last = self._slider_span()
        low = self._slider.minimum() / 1000 if self._slider is not None else self._low
        high = self._slider.maximum() / 1000 if self._slider is not None else self._high
        value = low + (high - low) * (x - first) / max(last - first, 1.0)
        return min(max(value, low), high)

    def y_ticks(self) -> list[int]:
        """The counts labelled on the y axis: 1, 10, 100, … up to the tallest bar."""
        peak = max(self._counts or [0])
        ticks, tick = [], 1
        while tick <= max(peak, 1):
            ticks.append(tick)
            tick *= 10
        return ticks

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._counts:
            self.sig_threshold_picked.emit(round(self.x_to_value(event.position().x()), 3))
            event.accept()
        else:
            super().mousePressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        if not self._counts:
            return
        import math

        painter = QPainter(self)
        top, bottom = 4, self.height() - 16  # room below for the x labels
        plot_height = bottom - top
        peak = math.log1p(max(self._counts)) or 1.0
        span = self._high - self._low
        n = len(self._counts)
        for i, count in enumerate(self._counts):
            left_value = self._low + span * i / n
            x0, x1 = self.value_to_x(left_value), self.value_to_x(self._low + span * (i + 1) / n)
            height = plot_height * math.log1p(count) / peak
            color = QColor(20, 135, 122) if left_value >= self.threshold - 1e-9 else QColor(170, 178, 189)
            painter.fillRect(QRectF(x0, bottom - height, max(x1 - x0 - 1, 1), height), color)
        x = self.value_to_x(self.threshold)
        painter.setPen(QColor(200, 60, 40))
        painter.drawLine(int(x), top, int(x), bottom)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setPen(text)
        axis_x = int(self.value_to_x(self._low)) - 3
        painter.drawLine(axis_x, top, axis_x, bottom)
        for tick in self.y_ticks():
            y = bottom - plot_height * math.log1p(tick) / peak
            painter.drawLine(axis_x - 3, int(y), axis_x, int(y))
            label = f"{tick // 1000}k" if tick >= 1000 else str(tick)
            painter.drawText(QRectF(axis_x - 40, y - 7, 35, 14), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             label)
        for value in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            vx = min(max(self.value_to_x(value), 20.0), self.width() - 20.0)  # the end labels stay inside
            painter.drawText(QRectF(vx - 20, bottom + 1, 40, 14), Qt.AlignmentFlag.AlignCenter, f"{value:.1f}")
        painter.end()


def score_counts(scores, low: float = 0.5, high: float = 1.0, bins: int = 50) -> list[int]:
    """The similarity histogram's counts: ``bins`` equal bins from ``low`` to ``high``."""
    import numpy as np

    counts, _ = np.histogram(np.clip(scores, low, high), bins=bins, range=(low, high))
    return counts.tolist()
