"""glibc's malloc set for a searching process: numpy's temporaries kept in the heap.

A search makes arrays of a few hundred KB per segment (a common word's scores, lengths and
masks over 30,000 documents) and frees them at once. glibc maps each array over 128 KB on its
own and gives the top of its heap back past twice that: every array's pages were faulted in
again, each search. The same warm query for "model" at 1,000,000 papers took 63-66 ms, or
38-45 ms when something earlier had happened to free a bigger array (which raises glibc's
own thresholds). Fixed thresholds make that the rule; the heap keeps at most TRIM_BYTES
free above its top.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading

MMAP_BYTES = 4 * 1024 * 1024  # arrays up to this come from the heap
TRIM_BYTES = 16 * 1024 * 1024  # free memory at the heap's top kept for the next search
_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_done = False
_lock = threading.Lock()


def settle() -> bool:
    """Set the thresholds (once; glibc only). True if they were set by this call."""
    global _done
    with _lock:
        if _done or not sys.platform.startswith("linux"):
            return False
        _done = True
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None)
            return bool(
                libc.mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)
                and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES)
            )
        return False
