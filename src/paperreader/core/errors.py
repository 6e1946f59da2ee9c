"""Errors the user sees as one clear line (never a traceback)."""

from __future__ import annotations

import functools


class PaperreaderError(Exception):
    """Base class: str(error) is the one-line message shown to the user."""


class UnknownPaper(PaperreaderError):
    def __init__(self, paper_id: str) -> None:
        super().__init__(f"no paper with id {paper_id!r} in this library")
        self.paper_id = paper_id


class AmbiguousId(PaperreaderError):
    """An id prefix that several papers share; the command line exits with 2."""

    exit_code = 2
    SHOWN = 5  # ids named in the message; the rest are counted

    def __init__(self, prefix: str, total: int, ids: list[str]) -> None:
        shown = ", ".join(ids[: self.SHOWN])
        more = f" and {total - self.SHOWN} more" if total > self.SHOWN else ""
        super().__init__(f"{prefix!r} matches {total} papers: {shown}{more}")
        self.prefix, self.total, self.ids = prefix, total, ids


class QueryError(PaperreaderError):
    """A query that cannot be parsed or run; the command line exits with 2."""

    exit_code = 2


class StoreError(PaperreaderError):
    """The YAML store cannot be read or written; nothing was overwritten."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock for too long."""


class ImportFailure(PaperreaderError):
    """A file that cannot be imported at all (unreadable, binary, unknown format)."""


class FullTextError(PaperreaderError):
    """A paper's file whose text cannot be extracted (encrypted, damaged, scanned, empty)."""


class IndexDamaged(PaperreaderError):
    """The index could not be read or written. It is a cache: the library rebuilds it."""


def _guarded(method):  # type: ignore[no-untyped-def]
    """Whoosh failures (a TOC or segment damaged after open, a writer lock held too long)
    become one clear IndexDamaged line instead of a raw traceback in the UI."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(self, *args, **kwargs)
        except PaperreaderError:
            raise
        except Exception as exc:
            raise IndexDamaged(
                f"{self.path}: the search index failed ({type(exc).__name__}: "
                f"{str(exc)[:120]}); it is rebuilt when paperreader next starts"
            ) from exc

    return run
