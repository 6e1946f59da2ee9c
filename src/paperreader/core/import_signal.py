"""Whether an import is being written into a library, for the indexer that follows it.

An import holds a shared OS lock on `<library>/import.lock` while it writes its records; the
indexer's bulk catch-up (search/stream.py) keeps its workers waiting for more papers while the
lock is held, instead of ending between two of the import's batches. The kernel drops the lock
when the import ends or dies, so nothing is left to clean. Without fcntl (not POSIX) nobody is
ever seen importing: the catch-up then ends at the first pause, which costs a commit, no paper.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "import.lock"


@contextlib.contextmanager
def importing(root: Path) -> Iterator[None]:
    """Hold the import signal of the library in `root` for the duration."""
    if fcntl is None:
        yield
        return
    try:
        handle = open(Path(root) / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the block
    except OSError:  # a read-only library folder: no signal, the import goes on
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield
    finally:
        handle.close()  # (drops the lock)


def import_running(root: Path) -> bool:
    """Whether some process holds the import signal of the library in `root` now."""
    if fcntl is None:
        return False
    try:
        handle = open(Path(root) / LOCK_FILE, "rb")  # noqa: SIM115
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
