"""The `quoradup` command end to end, in a subprocess as a user runs it."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from quoradup_gui.core.resources import demo_collection_path


def quoradup(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "quoradup_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_inspect_demo_text():
    result = quoradup("inspect", str(demo_collection_path()))
    assert result.returncode == 0, result.stderr
    assert "question collection" in result.stdout
    assert "rows" in result.stdout and "exact duplicate" in result.stdout


def test_inspect_json_is_one_object(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("question1,question2,is_duplicate\nHow are you?,How do you do?,yes\nWhy?,What?,no\n",
                    encoding="utf-8")
    result = quoradup("inspect", str(path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["role"] == "pairs"
    assert data["pairs"]["text1"] == "question1" and data["pairs"]["label"] == "is_duplicate"
    assert data["pairs"]["n_duplicates"] == 1 and data["pairs"]["n_not_duplicates"] == 1
    assert data["format"]["kind"] == "csv"
    assert data["summary"]["n_rows"] == 4  # distinct questions of the pairs


def test_inspect_bad_input_exits_2_with_message(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = quoradup("inspect", str(empty))
    assert result.returncode == 2
    assert "empty" in result.stderr.lower()
    assert "Traceback" not in result.stderr

    missing = quoradup("inspect", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr


def test_install_desktop_writes_valid_entry(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)
    result = quoradup("install-desktop", env=env)
    assert result.returncode == 0, result.stderr

    entry_path = home / ".local/share/applications/quoradup.desktop"
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(entry_path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "quoradup"
    assert entry["Icon"] == "quoradup" and entry["Terminal"] == "false"
    assert (home / ".local/share/icons/hicolor/256x256/apps/quoradup.png").stat().st_size > 1000
    assert (home / ".local/share/icons/hicolor/scalable/apps/quoradup.svg").exists()
    mimes = entry["MimeType"].rstrip(";").split(";")
    assert {"text/csv", "text/tab-separated-values",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(mimes)
    exec_args = shlex.split(entry["Exec"])
    assert exec_args[-1] == "%f"
    assert Path(exec_args[0]).exists() and os.access(exec_args[0], os.X_OK)
    assert Path(entry["TryExec"]).exists()
    # every line is key=value or a group header, as the spec requires
    for line in entry_path.read_text(encoding="utf-8").splitlines():
        assert line == "" or line.startswith(("[", "#")) or "=" in line

    removed = quoradup("install-desktop", "--uninstall", env=env)
    assert removed.returncode == 0 and not entry_path.exists()


def test_console_scripts_are_declared():
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert project["gui-scripts"]["quoradup-gui"] == "quoradup_gui.gui.app:main"
    assert project["scripts"]["quoradup"] == "quoradup_gui.cli:main"


def test_version_comes_from_one_place():
    import quoradup_gui

    result = quoradup("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"quoradup {quoradup_gui.__version__}"
