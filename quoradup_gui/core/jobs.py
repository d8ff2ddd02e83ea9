"""The JobContext protocol: how a long, Qt-free job reports back and learns it was cancelled.

A job is a plain function ``run_x(params, inputs, ctx) -> Result``. It calls
``ctx.set_status`` / ``ctx.set_progress`` (throttled by the front end, so calling it per
batch is fine), ``ctx.emit_partial`` for partial results, and ``ctx.check_cancelled()`` at
batch or step boundaries. The GUI supplies a Qt-backed context (gui/jobs.py), the CLI a
tqdm-backed one, tests a :class:`RecordingContext`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from .errors import JobCancelled


class JobContext(Protocol):
    def set_status(self, text: str) -> None: ...

    def set_progress(self, done: float, total: float | None = None) -> None: ...

    def emit_partial(self, value: Any) -> None: ...

    def is_cancelled(self) -> bool: ...

    def check_cancelled(self) -> None: ...


class BaseContext:
    """A context that does nothing but can be cancelled; base for the concrete ones."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def set_status(self, text: str) -> None:
        pass

    def set_progress(self, done: float, total: float | None = None) -> None:
        pass

    def emit_partial(self, value: Any) -> None:
        pass

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()


class NullContext(BaseContext):
    """For callers that do not care about progress."""


class RecordingContext(BaseContext):
    """Keeps everything reported; for tests. ``cancel_after`` cancels after N progress calls."""

    def __init__(self, cancel_after: int | None = None) -> None:
        super().__init__()
        self.statuses: list[str] = []
        self.progress: list[tuple[float, float | None]] = []
        self.partials: list[Any] = []
        self._cancel_after = cancel_after

    def set_status(self, text: str) -> None:
        self.statuses.append(text)

    def set_progress(self, done: float, total: float | None = None) -> None:
        self.progress.append((done, total))
        if self._cancel_after is not None and len(self.progress) >= self._cancel_after:
            self.cancel()

    def emit_partial(self, value: Any) -> None:
        self.partials.append(value)


class Throttle:
    """True at most ``hz`` times a second (plus always on the first call)."""

    def __init__(self, hz: float = 10.0) -> None:
        self._interval = 1.0 / hz
        self._last = 0.0

    def ready(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            return True
        return False
