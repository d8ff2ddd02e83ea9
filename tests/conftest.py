import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # hubs are unreachable here; never wait on them
# Caches, logs and sessions of the test run go to a temporary folder, never the user's home
# (subprocesses started by tests inherit these).
_TEST_HOME = tempfile.mkdtemp(prefix="quoradup-tests-")
os.environ["XDG_CACHE_HOME"] = os.path.join(_TEST_HOME, "cache")
os.environ["XDG_DATA_HOME"] = os.path.join(_TEST_HOME, "data")

REPO = Path(__file__).resolve().parents[1]
QUORA_DIR = REPO.parent / "shared" / "data" / "quora"


@pytest.fixture
def quora_dir() -> Path:
    if not (QUORA_DIR / "quora_kaggle_dev.csv").exists():
        pytest.skip("needs ../shared/data/quora (real Quora data, not part of the repo)")
    return QUORA_DIR


def _mount_tmpfs(folder: Path, options: str) -> None:
    """Mount a tmpfs on ``folder`` (root only); skip the test where that is not possible."""
    import shutil
    import subprocess

    if shutil.which("mount") is None or (hasattr(os, "geteuid") and os.geteuid() != 0):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")


def _unmount(folder: Path) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """A folder on a real 256 KiB file system, for full-disk tests (see fill_disk)."""
    folder = tmp_path / "tiny-disk"
    folder.mkdir()
    _mount_tmpfs(folder, "size=256k")
    yield folder
    _unmount(folder)


def fill_disk(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` up to ``leave`` free bytes."""
    with open(folder / ".filler", "wb") as fh:
        free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
        try:
            fh.write(b"\0" * max(0, free - leave))
            fh.flush()
            os.fsync(fh.fileno())
        except OSError:
            pass


@pytest.fixture
def readonly_folder(tmp_path):
    """A folder on a read-only file system (root ignores permission bits, so a mount it is)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    _mount_tmpfs(folder, "size=64k,ro")
    yield folder
    _unmount(folder)


# A small FAQ for the review tests (core session and window): three paraphrase groups and three others.
GROUPS = [
    ["How do I reset my password?", "How can I reset my password?", "How to reset my password?",
     "I need to reset my password, how?"],
    ["Where is my parcel?", "Where is my package?", "Where's my parcel?"],
    ["Can I pay by credit card?", "Can I pay with a credit card?"],
]
OTHERS = ["Why is the sky blue?", "What is the capital of France?", "How do volcanoes form?"]


@pytest.fixture
def faq(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    texts = [t for g in GROUPS for t in g] + OTHERS
    path = tmp_path / "faq.csv"
    import pandas as pd

    pd.DataFrame({"id": range(len(texts)), "question": texts}).to_csv(path, index=False)
    return path


def demo_truth():
    """same(row1, row2): the demo collection's own answer (its paraphrase and exact-duplicate groups)."""
    import json

    from quoradup_gui.core.resources import demo_collection_path

    data = json.loads(demo_collection_path().with_name("demo_groups.json").read_text(encoding="utf-8"))
    group = {}
    for i, ids in enumerate(data["paraphrase_groups"] + data["exact_duplicate_groups"]):
        for question_id in ids:
            group[int(question_id) - 1] = i  # ids are 1-based rows

    def same(row1: int, row2: int) -> bool:
        return row1 in group and group.get(row2) == group[row1]

    return same
