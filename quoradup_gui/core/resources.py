"""Where the files shipped with quoradup live (icon, desktop entry, demo collection).

In a source checkout they are in ``resources/`` beside the package; an installed wheel maps
that folder to the ``quoradup_gui.resources`` package (pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

DEMO_COLLECTION = "demo_questions.csv"
ICON_SVG = "quoradup.svg"
ICON_PNG = "quoradup.png"
DESKTOP_TEMPLATE = "quoradup.desktop"


def resources_dir() -> Path:
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("quoradup_gui.resources")))


def resource_path(name: str) -> Path:
    return resources_dir() / name


def demo_collection_path() -> Path:
    return resource_path(DEMO_COLLECTION)


def app_data_dir() -> Path:
    """Where quoradup keeps its own data (sessions, trained models, logs): $XDG_DATA_HOME/quoradup."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "quoradup"
