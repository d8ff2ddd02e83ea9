"""The launcher on a Linux desktop that lacks libraries of Qt's window system: it names the
packages to install and exits 2, where Qt would abort with a message naming none."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quoradup_gui.gui import system_libraries
from quoradup_gui.gui.system_libraries import all_packages, system_library_problem, uses_xcb

REPO = Path(__file__).resolve().parents[2]
NO_SUCH = {"libquoradup-no-such.so.0": "libquoradup-no-such0"}  # a library no system has
X11 = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}


def test_a_missing_library_is_named_with_the_package_that_holds_it():
    problem = system_library_problem(X11, "linux", gui_libraries={"libc.so.6": "libc6"},
                                     xcb_libraries={**NO_SUCH, "libm.so.6": "libc6"})
    assert problem.startswith("quoradup cannot open its window: Qt's X11 platform plugin (xcb) needs system "
                              "libraries that are not installed: libquoradup-no-such.so.0.")
    assert "\n    sudo apt install libquoradup-no-such0\n" in problem  # only what is missing
    assert f"sudo apt install {' '.join(all_packages())})" in problem  # and the README's line


def test_nothing_to_say_when_the_libraries_load_or_are_not_needed():
    present = {"libc.so.6": "libc6"}
    assert system_library_problem(X11, "linux", gui_libraries=present, xcb_libraries=present) is None
    # offscreen or Wayland: the X11 libraries are not needed; not Linux: nothing is checked
    assert system_library_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", present, NO_SUCH) is None
    wayland = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert system_library_problem(wayland, "linux", present, NO_SUCH) is None
    assert system_library_problem(X11, "darwin", NO_SUCH, NO_SUCH) is None
    assert "Qt needs system libraries" in system_library_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", NO_SUCH, {})


@pytest.mark.parametrize("environ, xcb", [
    ({"DISPLAY": ":0"}, True), ({}, True), ({"QT_QPA_PLATFORM": "xcb:display=:1"}, True),
    ({"QT_QPA_PLATFORM": "offscreen"}, False), ({"QT_QPA_PLATFORM": "wayland;xcb"}, False),
    ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, True),
])
def test_when_qt_uses_its_xcb_plugin(environ, xcb):
    assert uses_xcb(environ) is xcb


def test_the_launcher_names_the_packages_and_exits_2_instead_of_qt_aborting():
    """The real launcher in a subprocess, on X11, with a library the check cannot load."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=":99")
    code = ("import sys; from quoradup_gui.gui import system_libraries as s; "
            f"s.XCB_LIBRARIES.update({NO_SUCH!r}); from quoradup_gui.gui.app import main; sys.exit(main([]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                            cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert "quoradup cannot open its window: Qt's X11 platform plugin (xcb) needs" in result.stderr
    assert "libquoradup-no-such.so.0" in result.stderr and "sudo apt install" in result.stderr
    assert "libquoradup-no-such0" in re.search(r"^    sudo apt install (.*)$", result.stderr, re.M).group(1)
    assert "qt.qpa.plugin" not in result.stderr  # stopped before Qt tried


def test_the_lists_hold_every_system_library_qt_links():
    """When PySide6 is upgraded: its Qt may link more (objdump -p reads the NEEDED entries)."""
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("needs objdump (binutils)")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    runtime = re.compile(r"^(libQt6|libicu|libc\.|libm\.|libstdc\+\+|libgcc_s|ld-linux|libpthread|libdl|librt)")
    needed = {}
    for binary in ["plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6", "lib/libQt6Core.so.6",
                   "lib/libQt6Gui.so.6", "lib/libQt6Widgets.so.6", "lib/libQt6DBus.so.6"]:
        out = subprocess.run([objdump, "-p", str(qt / binary)], capture_output=True, text=True, check=True).stdout
        for name in re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M):
            if not runtime.match(name):
                needed.setdefault(name, binary)
    known = {**system_libraries.GUI_LIBRARIES, **system_libraries.XCB_LIBRARIES}
    assert {name: binary for name, binary in needed.items() if name not in known} == {}


def test_the_readme_lists_the_packages_in_one_apt_line():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [line.split("sudo apt install", 1)[1].split() for line in readme.splitlines()
             if "sudo apt install" in line]
    assert lines and sorted(lines[0]) == sorted(all_packages())
