"""Shared core fixtures: the bundled model, loaded once per session, and cheap copies of it."""

import shutil
from pathlib import Path

import pytest

from quoradup_gui.core.encode.models import bundled_model_path, load_model, resolve_model

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx")


def copy_model_folder(target: Path, link_weights: bool = True) -> Path:
    """A copy of the bundled model; weights are symlinked unless the test needs to change them."""
    source = bundled_model_path()
    for file in source.rglob("*"):
        dest = target / file.relative_to(source)
        if file.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link_weights and file.suffix in WEIGHT_SUFFIXES:
            dest.symlink_to(file)
        else:
            shutil.copyfile(file, dest)
    return target


@pytest.fixture(scope="session")
def bundled_spec():
    return resolve_model("default")


@pytest.fixture(scope="session")
def bundled_model(bundled_spec):
    """The bundled all-MiniLM-L6-v2 on the CPU (load_model's cache shares it with the code under test)."""
    return load_model(bundled_spec, "cpu")


@pytest.fixture(scope="session")
def onnx_cache_dir(tmp_path_factory) -> Path:
    """One cache folder per session so the ONNX export and its agreement check run once."""
    return tmp_path_factory.mktemp("onnx-cache")
