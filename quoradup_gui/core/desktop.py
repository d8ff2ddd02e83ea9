"""Freedesktop integration: a .desktop entry and icon under ~/.local/share (XDG_DATA_HOME)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_text, atomic_writer, describe_os_error
from .errors import QuoradupError
from .resources import DESKTOP_TEMPLATE, ICON_PNG, ICON_SVG, resource_path

DESKTOP_NAME = "quoradup.desktop"


@dataclass(frozen=True)
class InstalledEntry:
    desktop_file: Path
    icon_file: Path
    exec_line: str


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher_command() -> list[str]:
    """How to start this very installation: its `quoradup-gui` script, else `python -m quoradup_gui`."""
    script = Path(sys.executable).parent / "quoradup-gui"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "quoradup_gui"]


def _quote(arg: str) -> str:
    # Desktop Entry spec: quote arguments holding reserved characters; escape \ " ` $ inside.
    if not any(ch in arg for ch in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def install_desktop_entry(base: Path | None = None) -> InstalledEntry:
    base = base or data_home()
    command = launcher_command()
    exec_line = " ".join(_quote(arg) for arg in command)
    template = resource_path(DESKTOP_TEMPLATE).read_text(encoding="utf-8")
    text = template.replace("@EXEC@", exec_line).replace("@TRYEXEC@", command[0])

    icons = base / "icons" / "hicolor"
    icon_png = icons / "256x256" / "apps" / "quoradup.png"
    icon_svg = icons / "scalable" / "apps" / "quoradup.svg"
    desktop_file = base / "applications" / DESKTOP_NAME
    try:
        for source, target in ((ICON_PNG, icon_png), (ICON_SVG, icon_svg)):
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_writer(target, "wb") as fh:
                fh.write(resource_path(source).read_bytes())
        desktop_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(desktop_file, text)
    except OSError as exc:
        raise QuoradupError(f"The desktop entry cannot be written under {base}: {describe_os_error(exc)}.",
                            "Check that folder's permissions and free space (XDG_DATA_HOME chooses another "
                            "folder), then run install-desktop again.") from exc
    _refresh_caches(base)
    return InstalledEntry(desktop_file, icon_png, exec_line)


def uninstall_desktop_entry(base: Path | None = None) -> list[Path]:
    base = base or data_home()
    removed = []
    for path in (base / "applications" / DESKTOP_NAME,
                 base / "icons" / "hicolor" / "256x256" / "apps" / "quoradup.png",
                 base / "icons" / "hicolor" / "scalable" / "apps" / "quoradup.svg"):
        if path.exists():
            try:
                path.unlink()
            except OSError as exc:
                raise QuoradupError(f"{path} cannot be removed: {describe_os_error(exc)}.") from exc
            removed.append(path)
    _refresh_caches(base)
    return removed


def _refresh_caches(base: Path) -> None:
    # Optional helpers: menus pick the entry up without them, just later.
    for command in (["update-desktop-database", str(base / "applications")],
                    ["gtk-update-icon-cache", "-q", "-t", str(base / "icons" / "hicolor")]):
        if shutil.which(command[0]):
            subprocess.run(command, check=False, capture_output=True, timeout=30)
