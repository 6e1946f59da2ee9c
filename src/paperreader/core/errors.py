"""Errors the user sees as one clear line (never a traceback)."""


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
    """A query that cannot be parsed or run."""


class StoreError(PaperreaderError):
    """The YAML store cannot be read or written; nothing was overwritten."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock for too long."""


class ImportFailure(PaperreaderError):
    """A file that cannot be imported at all (unreadable, binary, unknown format)."""
