"""Every change paperreader makes to Whoosh's classes, applied by install(), never at import."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable

from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.reading import MultiReader

from paperreader.core import mapped
from paperreader.core.search.segments import CACHES, MAPPED_LIMIT

PREAD_FROM_BYTES = 1 << 30  # an index this big is read with pread, not its maps (_ViewFile)
_MAPS = CACHES.maps  # (read at every look-up: one name, as before the move)


def _cached_length_reader(self, fieldname, column):  # type: ignore[no-untyped-def]
    """Whoosh caches a segment's field-length reader only when the field has lengths, so for
    every posting of the other fields (spelling, ids, flags) it stats a file again: a fifth of
    all indexing time. Remember the misses too (the segment's files no longer change)."""
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


def _multi_terms_within(self, fieldname, text, maxdist, prefix=0):  # type: ignore[no-untyped-def]
    """Fuzzy term look-up over several segments: each segment's own automaton, not Whoosh's
    fallback for a multi-segment reader, which computes an edit distance in Python for every
    term of the field (`attenton~2`: 11.5 s at 10,000 papers once the index had 2 segments)."""
    seen: set[str] = set()
    for reader in self.readers:
        for word in reader.terms_within(fieldname, text, maxdist, prefix=prefix):
            if word not in seen:
                seen.add(word)
                yield word
        # Its walk maps much of the segment's term table: `transformer~1` mapped 280 MB over
        # the 20 segments of 1,000,000 papers, when trimmed only after the search.
        mapped.trim(MAPPED_LIMIT)


class _ViewIO:
    """A read-only file over a memoryview: what BufferFile wraps in a BytesIO, which copies."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        data = bytes(self._view[self._pos : end])
        self._pos += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        rest = self._view[self._pos :]
        newline = bytes(rest[:4096]).find(b"\n")  # pickled headers are short
        end = newline + 1 if newline >= 0 else len(rest)
        if size is not None and size >= 0:
            end = min(end, size)
        return self.read(end)

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = base + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()


class _ViewFile(BufferFile):
    """A file inside a memory-mapped compound segment, read in place. Whoosh's BufferFile
    copies the whole sub-file into a BytesIO, so every reader opened (start-up, each search
    after a change, each save's writer) copied most of the index into the heap: 2.6 GB peak
    and 0.75 s to open at 100,000 papers."""

    def __init__(self, view: memoryview, name: str | None = None) -> None:
        StructFile.__init__(self, _ViewIO(view), name=name)
        self._buf = view
        self.pread_at: tuple[int, int] | None = None

    def get(self, position: int, length: int) -> bytes:
        # Whoosh's look-ups (term tables, column headers) read a few bytes at scattered
        # places. In an index too big to keep mapped, each page touched stayed resident
        # (with up to 15 neighbours the kernel maps along) until a trim, then came back as
        # a fault: at 1,000,000 papers a look-up's read cost ~80 us, and a session's peak
        # was 490 MB (275 with pread). A smaller index keeps its pages: a read from the map
        # is cheaper than a system call (typing at 100,000 papers: p95 12 ms, 26 with pread).
        if self.pread_at is not None and _MAPS.total > PREAD_FROM_BYTES:
            fd, base = self.pread_at
            return os.pread(fd, length, base + position)
        return bytes(self._buf[position : position + length])


def _compound_open_file(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
    if self._source is None or self.is_closed:
        return _whoosh_compound_open_file(self, name, *args, **kwargs)
    offset, length = self.range(name)
    view = _ViewFile(memoryview(self._source)[offset : offset + length], name=name)
    if self._pread_fd is not None:
        view.pread_at = (self._pread_fd, offset)  # see SegmentSource._read
    return view


def _compound_init(self, dbfile, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Keep a descriptor of the segment file (Whoosh closes its own once mapped) for reading
    posting lists with pread, and map the file once per process (SharedMaps). Both are
    released with the storage, or when it is collected."""
    fd = None
    with contextlib.suppress(Exception):
        fd = os.dup(dbfile.fileno())
    _whoosh_compound_init(self, dbfile, *args, **kwargs)
    self._pread_fd = fd
    release_map = None
    if fd is not None and self._source is not None:
        self._source, release_map = _MAPS.share(fd, self._source)
    self._pread_closer = (
        weakref.finalize(self, _close_segment_file, fd, release_map) if fd is not None else None
    )


def _close_segment_file(fd: int, release_map: Callable[[], None] | None) -> None:
    os.close(fd)
    if release_map is not None:
        release_map()


def _compound_close(self):  # type: ignore[no-untyped-def]
    closer = getattr(self, "_pread_closer", None)
    if closer is not None:
        self._source = None  # the shared map is not this storage's to close: closer releases it
    try:
        return _whoosh_compound_close(self)
    finally:
        if closer is not None:
            closer()


# Whoosh's own methods, which the patched ones call.
_whoosh_compound_open_file = CompoundStorage.open_file
_whoosh_compound_init = CompoundStorage.__init__
_whoosh_compound_close = CompoundStorage.close
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Apply every patch to Whoosh's classes (once; later calls do nothing)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        W3PerDocReader._cached_reader = _cached_length_reader
        MultiReader.terms_within = _multi_terms_within
        CompoundStorage.open_file = _compound_open_file
        CompoundStorage.__init__ = _compound_init
        CompoundStorage.close = _compound_close
        _installed = True
