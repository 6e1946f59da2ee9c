"""Titles, abstracts and names as people read them: LaTeX turned into Unicode (`$\\alpha$` ->
`α`, `--` -> `–`), cached by text. Every place that shows them uses this (the list, the detail
pane, the article header, `show`, `search`, the Markdown export); the record keeps the original
and the BibTeX export writes it unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from paperreader.core.fulltext.latex import to_unicode

SHORT = 300  # titles and names: many, small, shown again at every keystroke


@lru_cache(maxsize=16384)
def _short(text: str) -> str:
    return to_unicode(text)


@lru_cache(maxsize=512)
def _long(text: str) -> str:
    return to_unicode(text)


def readable(text: str | None) -> str:
    """`text` with its LaTeX as Unicode; plain text comes back unchanged (cheaply)."""
    if not text:
        return ""
    return _short(text) if len(text) <= SHORT else _long(text)


def readable_authors(authors: Iterable[str]) -> list[str]:
    return [readable(a) for a in authors]
