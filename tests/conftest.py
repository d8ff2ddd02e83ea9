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
