"""A paper's full text in the library: attach a file, fetch it from arXiv, read it, and what
the index's `text` field gets; a part of `Library` (it inherits this), kept apart from the
facade's papers, search and import code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from paperreader.core.fulltext import files as fulltext_files
from paperreader.core.fulltext.document import FILES_FOLDER, Document, load_document
from paperreader.core.models import UserData
from paperreader.core.search.schema import INDEXED_TEXT_MAX

Progress = Callable[[int, int | None], None]


class LibraryReading:
    """Mixed into Library: needs its root, records, `get`, `_change` and `run_indexer`."""

    _files_checked: tuple[float, bool] = (0.0, False)

    # -- reading ---------------------------------------------------------------------------------
    def full_text(self, paper_id: str) -> Document | None:
        """The paper's full text (see core/fulltext), or None while it has none."""
        return load_document(self.root, paper_id)

    def has_text(self, paper_id: str) -> bool:
        return fulltext_files.has_text(self.root, paper_id)

    def text_info(self, paper_id: str) -> dict[str, object] | None:
        """What the paper's stored full text is (None when it has none): its source ("pdf",
        "html"), the original's file and size, the plain text's size, PDF pages, sections."""
        document = self.full_text(paper_id)
        if document is None:
            return None
        original = fulltext_files.original_path(self.root, paper_id)
        plain = fulltext_files.plain_path(self.root, paper_id)
        info: dict[str, object] = {
            "source": document.source,
            "file": str(original) if original else None,
            "file_bytes": _size(original),
            "text_chars": len(self.plain_text(paper_id) or ""),
            "text_file": str(plain),
            "sections": len(document.headings()),
        }
        if document.pages:
            info["pages"] = document.pages
        return info

    def plain_text(self, paper_id: str) -> str | None:
        """The paper's full text as plain text (text.txt), or None while it has none."""
        try:
            return fulltext_files.plain_path(self.root, paper_id).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def indexed_text(self, paper_id: str) -> str:
        """What the index's `text` field gets for a paper: its plain text, cut to
        INDEXED_TEXT_MAX characters ("" without one). A library without any files costs one
        stat per rebuild, not one per paper."""
        if not self._has_files():
            return ""
        try:
            with fulltext_files.plain_path(self.root, paper_id).open(
                encoding="utf-8", errors="replace"
            ) as handle:
                return handle.read(INDEXED_TEXT_MAX)
        except OSError:
            return ""

    def _has_files(self) -> bool:
        now_ = time.monotonic()
        if now_ - self._files_checked[0] > 1.0:
            self._files_checked = (now_, (self.root / FILES_FOLDER).is_dir())
        return self._files_checked[1]

    def attach(
        self, paper_id: str, path: Path, progress: Progress | None = None, *, index: bool = True
    ) -> Document:
        """Store a PDF or (LaTeXML) HTML file as the paper's full text, and index the text.
        Raises FullTextError (one line) when it cannot be read: nothing is stored then."""
        paper = self.get(paper_id)
        document = fulltext_files.attach(self.root, paper.id, Path(path), progress)
        self._text_stored([paper.id], index=index)
        return document

    def fetch_text(
        self,
        paper_ids: Iterable[str],
        progress: Progress | None = None,
        *,
        index: bool = True,
        on_result: Callable[[str, Document | None, str | None], None] | None = None,
        **options: object,
    ) -> dict[str, Document | str]:
        """Fetch each paper's full text from arXiv (the HTML page, else the PDF: see
        fulltext/fetch_text.py), store and index it. Returns, by paper id, the Document or
        the one-line error (FetchError, FullTextError, UnknownPaper); a failed paper keeps
        whatever it had. `options` go to fetch_text (client, base_url, retries, sleep...)."""
        from paperreader.core.errors import PaperreaderError
        from paperreader.core.fulltext.fetch_text import fetch_text

        ids = list(paper_ids)
        results: dict[str, Document | str] = {}
        stored: list[str] = []
        for n, key in enumerate(ids):
            try:
                paper = self.get(key)
                document = fetch_text(self.root, paper, **options)  # type: ignore[arg-type]
            except PaperreaderError as exc:
                results[key] = str(exc)
                if on_result:
                    on_result(key, None, str(exc))
            else:
                results[key] = document
                stored.append(paper.id)
                if on_result:
                    on_result(paper.id, document, None)
            if progress:
                progress(n + 1, len(ids))
        self._text_stored(stored, index=index)
        return results

    def remove_text(self, paper_id: str) -> bool:
        """Delete the paper's files and take its text out of the index."""
        paper = self.get(paper_id)
        removed = fulltext_files.remove(self.root, paper.id)
        if removed:
            self._text_stored([paper.id], index=True)
        return removed

    def _text_stored(self, ids: list[str], *, index: bool) -> None:
        """Queue the papers whose text changed ("record": the indexer re-reads text.txt)."""
        if not ids:
            return
        self._files_checked = (0.0, False)
        with self.records.batch():
            self.records.mark_unindexed(ids, "record")
        if index:
            self.run_indexer()

    def set_position(self, paper_id: str, position: int) -> UserData:
        """Remember where the article view was left: the block at its top (0: the start)."""
        value = max(0, int(position))
        return self._change(paper_id, lambda u: setattr(u, "position", value))


def _size(path: Path | None) -> int | None:
    try:
        return path.stat().st_size if path else None
    except OSError:
        return None
