"""Shared GUI fixtures: a real MainWindow with its own settings file, and drag-and-drop helpers."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from quoradup_gui.gui.main_window import MainWindow


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def demo_copy(tmp_path, monkeypatch):
    """A copy of the demo collection (319 questions) with its own sessions folder."""
    import shutil

    from quoradup_gui.core.resources import demo_collection_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = tmp_path / "faq.csv"
    shutil.copyfile(demo_collection_path(), path)
    return path


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.shutdown()


def drop_files(target: QWidget, paths: list[Path]) -> bool:
    """Drag real file URLs onto ``target`` (any widget of the window); True if the drop was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = target.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return drop.isAccepted()


def wait_for_view(qtbot, window, timeout: int = 30_000):
    qtbot.waitUntil(lambda: not window.data_tab.is_busy() and window.data_tab.view() is not None, timeout=timeout)
    return window.data_tab.view()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path




def _thread_stacks(scratch) -> list[tuple[int, str]]:
    """(thread id, its innermost 4 calls) of every other thread, read with faulthandler.

    faulthandler reads the threads' states without creating frame objects. Holding frames
    (sys._current_frames) deadlocked CI: a frame the GUI thread had left kept its locals alive,
    the sampler dropped the last reference, and a pytest-qt signal blocker was destroyed on the
    sampler thread, whose QObject::disconnect waited for the GIL while the GUI thread, holding
    the GIL, waited in QObject::connect for the lock the disconnect held.
    """
    import faulthandler

    scratch.seek(0)
    scratch.truncate()
    faulthandler.dump_traceback(scratch, all_threads=True)
    scratch.flush()
    scratch.seek(0)
    stacks, ident, calls = [], None, []
    for line in scratch.read().decode("utf-8", "replace").splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")):
            if ident is not None:
                stacks.append((ident, " < ".join(calls[:4])))
            current = line.startswith("Current")
            ident = None if current else int(line.split()[1], 16)
            calls = []
        elif line.startswith("  File ") and ident is not None:
            try:
                path_part, rest = line.strip()[5:].split(", line ", 1)
                number, function = rest.split(" in ", 1)
                calls.append(f"{Path(path_part.strip(chr(34))).name}:{number} {function}")
            except ValueError:
                continue
    if ident is not None:
        stacks.append((ident, " < ".join(calls[:4])))
    return stacks


class Heartbeat:
    """A 10 ms timer on the GUI thread; the largest gap between beats is the worst stall.

    A sampler thread notes every 10 ms what each thread is doing, so that a failing assertion
    can say (``explain()``) what the GUI thread and the others were running during the worst gap.
    The sampler needs the GIL, so it sees nothing while C code holds it; for that, every beat
    re-arms faulthandler's watchdog, a C thread that dumps every thread's stack without the GIL
    once no beat has come for WATCHDOG_S, and the dump taken in the worst gap is kept.
    """

    WATCHDOG_S = 0.05

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.worst_span = (0.0, 0.0)
        self.beats = 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._beat)
        self._samples: collections.deque = collections.deque(maxlen=6000)
        self._stop = threading.Event()
        self._dump = None
        self.worst_dump = ""

    def _beat(self) -> None:
        import faulthandler

        now = time.perf_counter()
        faulthandler.cancel_dump_traceback_later()
        dumped = ""
        if self._dump is not None and self._dump.tell():
            self._dump.seek(0)
            dumped = self._dump.read().decode("utf-8", "replace")
            self._dump.seek(0)
            self._dump.truncate()
        if now - self.last > self.worst:
            self.worst, self.worst_span, self.worst_dump = now - self.last, (self.last, now), dumped
        self.last = now
        self.beats += 1
        if self._dump is not None and not self._stop.is_set():
            faulthandler.dump_traceback_later(self.WATCHDOG_S, file=self._dump)

    def start(self) -> None:
        import tempfile

        self.last = time.perf_counter()
        self.worst, self.beats, self.worst_dump = 0.0, 0, ""
        if self._dump is None:
            self._dump = tempfile.TemporaryFile()
        self.timer.start()
        if not getattr(self, "_sampler", None):
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()

    def stop(self) -> None:
        import faulthandler

        self.timer.stop()
        self._stop.set()
        faulthandler.cancel_dump_traceback_later()

    def _sample(self) -> None:
        import tempfile

        main = threading.main_thread().ident
        with tempfile.TemporaryFile() as scratch:
            while not self._stop.wait(0.01):
                stacks = [("GUI" if ident == main else "other", stack) for ident, stack in _thread_stacks(scratch)]
                self._samples.append((time.perf_counter(), stacks))

    def explain(self) -> str:
        start, end = self.worst_span
        lines = [f"worst gap {self.worst * 1000:.0f} ms; threads sampled during it:"]
        seen = set()
        for when, stacks in list(self._samples):
            if start <= when <= end:
                for who, stack in stacks:
                    if (who, stack) not in seen and "wait" not in stack.split(" < ")[0]:
                        seen.add((who, stack))
                        lines.append(f"  +{(when - start) * 1000:4.0f} ms {who}: {stack}")
        if self.worst_dump:
            lines.append(f"every thread {self.WATCHDOG_S * 1000:.0f} ms into the gap (faulthandler, without the GIL):")
            lines += [f"  {line}" for line in self.worst_dump.splitlines()
                      if line.strip() and "threading.py" not in line][:60]
        return "\n".join(lines)


__all__ = ["Heartbeat", "drop_files", "wait_for_view", "write_csv", "QPoint"]
