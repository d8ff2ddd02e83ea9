"""A JobContext for the terminal: a tqdm progress bar on stderr, Ctrl+C cancels."""

from __future__ import annotations

import sys
from typing import Any

from .core.jobs import BaseContext, Throttle


class TerminalContext(BaseContext):
    """Progress on stderr (only when it is a terminal, or when ``force``); stdout stays clean for --json."""

    def __init__(self, force: bool = False) -> None:
        super().__init__()
        self._enabled = force or sys.stderr.isatty()
        self._bar: Any = None
        self._status = ""
        self._throttle = Throttle(10.0)

    def __enter__(self) -> "TerminalContext":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_status(self, text: str) -> None:
        self._status = text
        if self._bar is not None:
            self._bar.set_description(text, refresh=False)
        elif self._enabled:
            print(text, file=sys.stderr)

    def set_progress(self, done: float, total: float | None = None) -> None:
        if not self._enabled or not self._throttle.ready(force=total is not None and done >= total):
            return
        if self._bar is None or (total and self._bar.total != total):
            from tqdm import tqdm

            self.close()
            self._bar = tqdm(total=total, desc=self._status or None, file=sys.stderr, leave=False,
                             dynamic_ncols=True)
        self._bar.n = done
        self._bar.refresh()

    def emit_partial(self, value: Any) -> None:
        pass

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
