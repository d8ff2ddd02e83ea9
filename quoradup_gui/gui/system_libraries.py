"""Before Qt starts on Linux: are the system libraries of its window system there?

PySide6's wheels bring Qt but not the X11 client libraries that Qt's xcb platform plugin links,
and a stock desktop lacks some of them (libxcb-cursor0, libxcb-icccm4, ...). Qt then aborts
the process with a message of its own that names no package ("Could not load the Qt platform
plugin "xcb" in "" even though it was found"). This module loads each library first, as the
plugin would, and says which packages to install. It imports no Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

# What PySide6 6.11's Qt links from the system beyond the C and C++ runtimes (objdump -p, NEEDED):
# library → the Debian/Ubuntu package that holds it. QtCore, QtGui, QtWidgets and QtDBus,
# needed whatever the platform plugin (offscreen too):
GUI_LIBRARIES: dict[str, str] = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
}
# plugins/platforms/libqxcb.so and lib/libQt6XcbQpa.so.6, the X11 window system:
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def all_packages() -> list[str]:
    """Every package above, once, in order: the README's apt line."""
    return list(dict.fromkeys([*GUI_LIBRARIES.values(), *XCB_LIBRARIES.values()]))


def uses_xcb(environ: Mapping[str, str]) -> bool:
    """Whether Qt will try the xcb (X11) plugin first: asked for, or the default outside a Wayland session."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    wayland = environ.get("XDG_SESSION_TYPE", "").lower() == "wayland" and bool(environ.get("WAYLAND_DISPLAY"))
    return not wayland


def missing_libraries(libraries: Mapping[str, str]) -> dict[str, str]:
    """The libraries among ``libraries`` that the dynamic loader cannot load, with their packages."""
    missing = {}
    for name, package in libraries.items():
        try:
            ctypes.CDLL(name)
        except OSError:
            missing[name] = package
    return missing


def system_library_problem(environ: Mapping[str, str] | None = None, platform: str | None = None,
                           gui_libraries: Mapping[str, str] | None = None,
                           xcb_libraries: Mapping[str, str] | None = None) -> str | None:
    """What to tell the user when the window cannot open for want of system libraries (None: all there).

    Only on Linux; the X11 libraries only when Qt will use its xcb plugin.
    """
    environ = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return None
    wanted = dict(GUI_LIBRARIES if gui_libraries is None else gui_libraries)
    xcb = uses_xcb(environ)
    if xcb:
        wanted.update(XCB_LIBRARIES if xcb_libraries is None else xcb_libraries)
    missing = missing_libraries(wanted)
    if not missing:
        return None
    what = "Qt's X11 platform plugin (xcb) needs" if xcb else "Qt needs"
    packages = " ".join(dict.fromkeys(missing.values()))
    return (f"quoradup cannot open its window: {what} system libraries that are not installed: "
            f"{', '.join(missing)}.\n"
            f"On Debian or Ubuntu, install them with:\n"
            f"    sudo apt install {packages}\n"
            f"(everything the window needs, as the README lists it: sudo apt install {' '.join(all_packages())})\n"
            f"On other systems, install the packages that hold these libraries. The commands of quoradup "
            f"(inspect, mine, review, evaluate, train) work without them.")
