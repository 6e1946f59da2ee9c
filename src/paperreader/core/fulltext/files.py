"""A paper's own files: attach a PDF or HTML page, keep its text beside it, find or remove them.

A paper's folder (`document.paper_folder`) holds the original (`paper.pdf` or `paper.html`),
`text.json` (the Document) and `text.txt` (its plain text). The text is extracted before
anything is stored: a file that cannot be read leaves the folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from paperreader.core.errors import FullTextError
from paperreader.core.fsutil import atomic_write, fsync_dir
from paperreader.core.fulltext.document import (
    DOCUMENT_FILE,
    FILES_FOLDER,
    PLAIN_FILE,
    Document,
    paper_folder,
)

Progress = Callable[[int, int | None], None]

MAX_FILE = 200 * 1024 * 1024  # bigger than any paper: refuse rather than fill the disk
ORIGINALS = {"pdf": "paper.pdf", "html": "paper.html"}
_SNIFF = 8192


def detect_kind(head: bytes) -> str | None:
    """ "pdf" or "html" from a file's first bytes (never from its name), else None."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    sniff = head[:_SNIFF].lower()
    if any(mark in sniff for mark in (b"<!doctype html", b"<html", b"<body", b"<head")):
        return "html"
    return None


def extract(path: Path, kind: str, progress: Progress | None = None) -> Document:
    """The Document of a PDF or HTML file whose kind is already known."""
    if kind == "pdf":
        from paperreader.core.fulltext.pdf import extract_pdf

        return extract_pdf(path, progress=progress)
    from paperreader.core.fulltext.html import extract_html

    return extract_html(path)


def attach(root: Path, paper_id: str, source: Path, progress: Progress | None = None) -> Document:
    """Store `source` (a PDF or a LaTeXML HTML page) as the paper's file, with its text.

    Raises FullTextError (one line) when the file is missing, too big, neither PDF nor HTML,
    or its text cannot be extracted; the paper's folder is then left untouched."""
    source = Path(source)
    try:
        size = source.stat().st_size
        with source.open("rb") as handle:
            head = handle.read(_SNIFF)
    except OSError as exc:
        raise FullTextError(
            f"{source.name}: cannot read the file ({exc.strerror or exc})"
        ) from None
    if size > MAX_FILE:
        raise FullTextError(f"{source.name}: the file is too large for a paper ({size:,} bytes)")
    return _store(
        root, paper_id, source.name, head, lambda dest: shutil.copyfile(source, dest), progress
    )


def attach_bytes(
    root: Path, paper_id: str, data: bytes, name: str = "download", progress: Progress | None = None
) -> Document:
    """Like `attach`, for a file already in memory (a download); `name` is used in messages."""
    if len(data) > MAX_FILE:
        raise FullTextError(f"{name}: the file is too large for a paper ({len(data):,} bytes)")
    return _store(
        root, paper_id, name, data[:_SNIFF], lambda dest: Path(dest).write_bytes(data), progress
    )


def _store(
    root: Path,
    paper_id: str,
    name: str,
    head: bytes,
    write: Callable[[Path], object],
    progress: Progress | None,
) -> Document:
    kind = detect_kind(head)
    if kind is None:
        raise FullTextError(f"{name}: is neither a PDF nor an HTML page")
    area = Path(root) / FILES_FOLDER
    area.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".attach-", dir=area))
    try:
        original = work / ORIGINALS[kind]
        write(original)
        _fsync_file(original)
        try:
            doc = extract(original, kind, progress)
        except FullTextError as exc:  # name the user's file, not the copy being read
            message = str(exc)
            if message.startswith(f"{original.name}:"):
                raise FullTextError(name + message[len(original.name) :]) from None
            raise
        if doc.source != kind:
            doc.source = kind
        folder = paper_folder(root, paper_id)
        folder.mkdir(parents=True, exist_ok=True)
        # Each file is replaced atomically; text.json, which says "this paper has text", last.
        os.replace(original, folder / ORIGINALS[kind])
        fsync_dir(folder)
        atomic_write(folder / PLAIN_FILE, doc.plain_text().encode("utf-8"))
        atomic_write(folder / DOCUMENT_FILE, doc.to_json().encode("utf-8"))
        for other_kind, other in ORIGINALS.items():
            if other_kind != kind:
                with contextlib.suppress(FileNotFoundError):
                    (folder / other).unlink()
        return doc
    except OSError as exc:
        raise FullTextError(
            f"{name}: cannot store the paper's files ({exc.strerror or exc})"
        ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def document_path(root: Path, paper_id: str) -> Path:
    """Where the paper's Document (text.json) is, whether or not it exists."""
    return paper_folder(root, paper_id) / DOCUMENT_FILE


def plain_path(root: Path, paper_id: str) -> Path:
    """Where the paper's plain text (text.txt) is, whether or not it exists."""
    return paper_folder(root, paper_id) / PLAIN_FILE


def original_path(root: Path, paper_id: str) -> Path | None:
    """The attached or fetched original (paper.pdf or paper.html), if any."""
    folder = paper_folder(root, paper_id)
    return next((folder / n for n in ORIGINALS.values() if (folder / n).is_file()), None)


def has_text(root: Path, paper_id: str) -> bool:
    """Whether the paper has a stored full text."""
    return document_path(root, paper_id).is_file()


def remove(root: Path, paper_id: str) -> bool:
    """Delete the paper's files (original and text); False when it had none."""
    folder = paper_folder(root, paper_id)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    fsync_dir(folder.parent)
    return True
