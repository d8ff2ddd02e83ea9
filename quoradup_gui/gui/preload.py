"""What the window loads in the background at start-up, before the user needs it."""

from __future__ import annotations

import time

from ..core.jobs import JobContext


def preload_libraries(ctx: JobContext | None = None) -> float:
    """Import the heavy native libraries (seconds taken); run in the background at start-up.

    Loading a big extension module holds the GIL for a while; doing all of them here, once,
    keeps those pauses out of the first "Find duplicates" and the first training run (whose
    live plots would stutter while datasets/pyarrow, accelerate and the trainer load). Model
    saves a crash interrupted are repaired first (a directory listing). Nothing that touches Qt
    is imported here: PySide6 sets up its types and enums on first use, and that set-up is not
    thread-safe (pyqtgraph's import, done here once, crashed the app while the window painted).
    """
    from ..core.encode.models import recover_models_folder

    start = time.perf_counter()
    recover_models_folder()
    if ctx is not None:
        ctx.set_status("Loading model libraries…")
    import accelerate  # noqa: F401
    import datasets  # noqa: F401
    import faiss  # noqa: F401
    import onnxruntime  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401
    import sentence_transformers  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import tokenizers  # noqa: F401
    import torch  # noqa: F401
    from sentence_transformers import SentenceTransformerTrainer  # noqa: F401
    from transformers.trainer_callback import TrainerCallback  # noqa: F401

    from ..core.training import callbacks, data, losses  # noqa: F401

    return time.perf_counter() - start
