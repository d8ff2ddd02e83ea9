"""Launching as a user does: python -m quoradup_gui, --screenshot, the first paint before torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtGui import QImage

ENV = dict(os.environ, QT_QPA_PLATFORM="offscreen")


def _run(args, tmp_path, timeout=120, env=None):
    return subprocess.run([sys.executable, "-m", "quoradup_gui", "--settings", str(tmp_path / "s.ini"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env or ENV)


def _is_not_blank(image: QImage) -> bool:
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 23)}
    return len(colours) > 5


def test_screenshot_of_demo_data_tab(tmp_path):
    out = tmp_path / "data.png"
    result = _run(["--screenshot", str(out), "--tab", "data"], tmp_path)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert image.width() >= 800 and image.height() >= 500
    assert _is_not_blank(image)


def test_screenshot_of_a_given_file_and_other_tab(tmp_path):
    csv_path = tmp_path / "q.csv"
    csv_path.write_text("question\nWhat is this?\nWhat is that?\n", encoding="utf-8")
    out = tmp_path / "train.png"
    result = _run(["--screenshot", str(out), "--tab", "train", str(csv_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).width() >= 800


def test_screenshot_of_the_duplicates_tab_and_a_quiet_terminal(tmp_path):
    csv_path = tmp_path / "q.csv"
    csv_path.write_text("question\nHow do I reset my password?\nHow can I reset my password?\nIs it raining?\n",
                        encoding="utf-8")
    out = tmp_path / "dup.png"
    env = dict(ENV, XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "data"))
    result = _run(["--screenshot", str(out), "--tab", "duplicates", str(csv_path)], tmp_path, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert _is_not_blank(QImage(str(out)))
    # The duplicates search loaded faiss; its loader's per-CPU-build misses are not shown.
    assert "Could not load library" not in result.stderr, result.stderr


def test_screenshot_of_a_bad_file_still_exits_cleanly(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    out = tmp_path / "bad.png"
    result = _run(["--screenshot", str(out), str(bad)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.exists()


def test_window_paints_before_torch_is_imported(tmp_path):
    env = dict(ENV, QUORADUP_EXIT_AFTER_PAINT="1")
    result = _run([], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert info["torch_loaded"] is False
    assert info["sentence_transformers_loaded"] is False
    assert info["pandas_loaded"] is False  # the data libraries load with the first file, off the GUI thread


def test_heavy_libraries_load_in_the_background(qtbot, window):
    with qtbot.waitSignal(window.sig_heavy_imports_ready, timeout=120_000):
        window.start_heavy_imports()
    assert window.heavy_ready
    assert window.libs_label.text() == "Model libraries ready"


def test_the_background_preload_never_imports_qt_code():
    """PySide6's lazy set-up of its types is not thread-safe: pyqtgraph imported on the preload
    worker while the window painted crashed the app (a segfault in the suite)."""
    code = ("import sys; from quoradup_gui.gui.preload import preload_libraries; preload_libraries(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyqtgraph', 'PySide6', 'shiboken6')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
