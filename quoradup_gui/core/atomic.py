"""Write a whole file atomically: readers see the old content or the new, never a partial file."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Iterator

_OS_ERROR_TEXTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the folder does not exist",
    errno.EIO: "the disk reported an input/output error",
}


def describe_os_error(exc: OSError) -> str:
    """A failed write in words a user reads: "the disk is full", "permission denied"…"""
    return _OS_ERROR_TEXTS.get(exc.errno, exc.strerror or str(exc) or type(exc).__name__)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_writer(path, "w", encoding=encoding) as fh:
        fh.write(text)


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Yield a file that replaces ``path`` only when the block ends without an exception.

    Writes to a hidden temp file in the same folder (so os.replace is atomic), fsyncs it,
    then renames; on an exception the target is untouched and the temp file removed.
    """
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_writer writes whole files; mode must be 'w', 'wt' or 'wb', not {mode!r}")
    target = Path(path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # Keep an existing file's permissions; a new one gets the usual 0o666 minus umask.
    permissions = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), permissions)
    try:
        fh = os.fdopen(fd, mode, **open_kwargs)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
