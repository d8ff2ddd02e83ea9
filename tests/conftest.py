import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # hubs are unreachable here; never wait on them

REPO = Path(__file__).resolve().parents[1]
QUORA_DIR = REPO.parent / "shared" / "data" / "quora"


@pytest.fixture
def quora_dir() -> Path:
    if not (QUORA_DIR / "quora_kaggle_dev.csv").exists():
        pytest.skip("needs ../shared/data/quora (real Quora data, not part of the repo)")
    return QUORA_DIR
