"""Letting go of the pages of memory-mapped files that the process has touched.

The index's segment files and the saved warm-up are mapped, not read. Every page a search
touches (and the kernel's fault-around maps up to 16 of its neighbours with it) stays counted
in the process's resident size until it is unmapped: a 1,000,000-paper session grew to
1.3 GB resident while its own memory was 170 MB. Those pages belong to the page cache, not to
the process, so once the mapped share passes a limit they are dropped from the process's
mappings (MADV_DONTNEED on a read-only shared map: the next touch maps them again from the
page cache, a minor fault, with nothing read from disk).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import weakref

_MAPS: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()
_LOCK = threading.Lock()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def register(mapped: mmap.mmap) -> None:
    """A read-only map whose pages may be dropped (see trim)."""
    with _LOCK:
        _MAPS.add(mapped)


def file_resident_bytes() -> int | None:
    """Resident bytes of mapped files (and shared memory) in this process; None off Linux."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[2]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def trim(limit: int) -> bool:
    """Drop the registered maps' pages from this process when its mapped share is over
    `limit` bytes (~10 us to check). True if they were dropped."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    resident = file_resident_bytes()
    if advice is None or resident is None or resident <= limit:
        return False
    with _LOCK:
        maps = list(_MAPS)
    for mapped in maps:
        with contextlib.suppress(ValueError, OSError):  # closed meanwhile
            mapped.madvise(advice)
    return True
