"""Application entry point: QApplication, names, logging, excepthook, qasync loop, MainWindow.

Only Qt is imported before the window paints; pandas, torch and sentence-transformers load
in the background (the first file load and :func:`gui.preload.preload_libraries`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="quoradup-gui", description="Find duplicate questions by meaning.")
    parser.add_argument("file", nargs="?", help="a question file to open (CSV, TSV, TXT, XLSX, Parquet, JSONL)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="open the window, wait until the chosen tab has finished its work, save a PNG and exit")
    parser.add_argument("--tab", choices=("data", "train", "duplicates"), default="data",
                        help="the tab to show (with --screenshot)")
    parser.add_argument("--settings", metavar="FILE.ini", help="use this settings file instead of the user's")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds --screenshot waits at most")
    return parser.parse_args(argv)


def app_data_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quoradup"


def _setup_logging(log_dir: Path) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_dir / "quoradup.log", encoding="utf-8"))
    except OSError:
        pass  # a read-only home must not stop the app
    logging.basicConfig(level=logging.INFO, handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # faiss's loader reports at INFO each per-CPU build it does not ship ("Could not load library
    # with AVX512 support ... ModuleNotFoundError") before loading the one that dispatches at run
    # time: alarming, and not a problem.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .system_libraries import system_library_problem

    problem = system_library_problem()  # Qt would abort the process, naming no package
    if problem:
        print(problem, file=sys.stderr)
        return 2

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .. import APP_NAME, ORG_NAME
    from ..core.resources import ICON_PNG, resource_path
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setDesktopFileName("quoradup")
    app.setWindowIcon(QIcon(str(resource_path(ICON_PNG))))
    log_dir = app_data_dir() / "logs"
    _setup_logging(log_dir)

    settings = QSettings(args.settings, QSettings.Format.IniFormat) if args.settings else QSettings()
    window = MainWindow(settings, log_dir)
    _install_excepthook(window)
    app.aboutToQuit.connect(window.runner.shutdown)  # cancel jobs and wait for the workers
    if os.environ.get("QUORADUP_EXIT_AFTER_PAINT"):
        _exit_after_first_paint(app, window)  # for benchmarks/startup.py
    window.show()
    log.info("window shown after %.2f s", time.perf_counter() - _T0)

    # After the first paint: open a file and warm up the heavy libraries.
    def after_first_paint() -> None:
        if args.file:
            window.open_file(args.file)
        else:
            window.open_last_or_demo()
        if not args.screenshot:
            window.start_heavy_imports()

    QTimer.singleShot(0, after_first_paint)
    if args.screenshot:
        window.select_tab(args.tab)
        _schedule_screenshot(app, window, args.tab, Path(args.screenshot), args.timeout)
    return _run_event_loop(app)


log = logging.getLogger("quoradup")


def _install_excepthook(window) -> None:
    def hook(exc_type, exc, tb) -> None:
        import traceback

        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception\n%s", details)
        try:
            window.show_error("Something went wrong", exc, details)
        except Exception:  # the window may be gone at shutdown
            pass

    sys.excepthook = hook


def _exit_after_first_paint(app, window) -> None:
    """Print when the window first painted (and whether torch was loaded by then), then quit."""
    import json

    from PySide6.QtCore import QEvent, QObject

    class PaintWatcher(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                print(json.dumps({"first_paint_wall": time.time(), "since_main_s": time.perf_counter() - _T0,
                                  "torch_loaded": "torch" in sys.modules,
                                  "sentence_transformers_loaded": "sentence_transformers" in sys.modules,
                                  "pandas_loaded": "pandas" in sys.modules}), flush=True)
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, lambda: _quit(app, 0))
            return False

    watcher = PaintWatcher(window)
    window.installEventFilter(watcher)


def _schedule_screenshot(app, window, tab: str, out: Path, timeout: float) -> None:
    from PySide6.QtCore import QTimer

    started = time.monotonic()
    timer = QTimer(window)

    def poll() -> None:
        if window.is_tab_ready(tab):
            timer.stop()
            window.select_tab(tab)
            app.processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            ok = window.grab().save(str(out))
            print(f"screenshot saved to {out}" if ok else f"could not write {out}", file=sys.stderr)
            _quit(app, 0 if ok else 1)
        elif time.monotonic() - started > timeout:
            timer.stop()
            print(f"the {tab} tab was not ready after {timeout:.0f} s", file=sys.stderr)
            _quit(app, 1)

    timer.timeout.connect(poll)
    timer.start(100)


def _run_event_loop(app) -> int:
    """Run Qt's loop under qasync, so coroutines can be awaited on the GUI thread."""
    import asyncio

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_forever()
    return int(app.property("quoradup_exit_code") or 0)


def _quit(app, code: int) -> None:
    app.setProperty("quoradup_exit_code", code)
    app.quit()


if __name__ == "__main__":
    sys.exit(main())
