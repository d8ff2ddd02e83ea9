"""Typed errors whose message is written for the user (shown as is by the GUI and the CLI)."""

from __future__ import annotations


class QuoradupError(Exception):
    """An expected problem the user can act on. ``str(err)`` is the whole message."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n{hint}")


class InputFileError(QuoradupError):
    """The input file cannot be used: missing, unreadable, empty, binary, malformed..."""


class ColumnError(QuoradupError):
    """A requested column does not exist or holds no usable text."""


class JobCancelled(Exception):
    """Raised inside a job when the user cancelled it; not an error to report."""
