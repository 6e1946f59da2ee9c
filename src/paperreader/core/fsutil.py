"""Atomic file writes: a reader or a crash sees the old file or the new one, never a mix."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

TEMP_MARK = ".tmp-"


def atomic_write(path: Path, data: bytes | Iterable[bytes], *, make_folders: bool = True) -> None:
    """Write `data` (bytes, or chunks of them) to `path` via a temp file in the same folder,
    fsync, then `os.replace`.

    Any failure (disk full, a read-only folder, Ctrl-C) removes the temp file and leaves `path`
    exactly as it was. A symlinked file is written through to its target (notes kept in a
    dotfiles repo stay linked), and a replaced file keeps its permissions. Without
    `make_folders`, a missing folder is an error (a cache never makes a deleted library again)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if make_folders:
        path.parent.mkdir(parents=True, exist_ok=True)
    mode = _existing_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", dir=path.parent)
    try:
        try:
            for chunk in [data] if isinstance(data, bytes) else data:
                _write_all(fd, chunk)
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (signals, pipes, some file systems): loop."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # never seen on a regular file, but never spin
            raise OSError(f"write returned {written}")
        view = view[written:]


def _existing_mode(path: Path) -> int | None:
    """The permissions of the file being replaced (a new file stays private: 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def fsync_dir(folder: Path) -> None:
    """Make a rename durable: fsync the folder that holds it (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed writer left behind; returns how many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        if entry.name.startswith(".") and TEMP_MARK in entry.name and entry.is_file():
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed
