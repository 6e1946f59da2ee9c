"""Errors the user sees as one clear line (never a traceback)."""


class PaperreaderError(Exception):
    """Base class: str(error) is the one-line message shown to the user."""


class UnknownPaper(PaperreaderError):
    def __init__(self, paper_id: str) -> None:
        super().__init__(f"no paper with id {paper_id!r} in this library")
        self.paper_id = paper_id


class QueryError(PaperreaderError):
    """A query that cannot be parsed or run."""


class StoreError(PaperreaderError):
    """The YAML store cannot be read or written; nothing was overwritten."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock for too long."""


class ImportFailure(PaperreaderError):
    """A file that cannot be imported at all (unreadable, binary, unknown format)."""


class FullTextError(PaperreaderError):
    """A paper's file whose text cannot be extracted (encrypted, damaged, scanned, empty)."""
