"""Exporters: each module has `export(papers, out, user=None) -> int` writing to a text stream."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TextIO

from paperreader.core.errors import PaperreaderError
from paperreader.core.models import Paper, UserData

FORMATS = {
    "jsonl": "jsonl",
    "json": "json",
    "markdown": "markdown",
    "md": "markdown",
    "bibtex": "bibtex",
    "bib": "bibtex",
}

UserLookup = Callable[[str], UserData | None]


def export(fmt: str, papers: Iterable[Paper], out: TextIO, user: UserLookup | None = None) -> int:
    """Write `papers` in `fmt` to `out`; returns how many were written."""
    name = FORMATS.get(fmt)
    if name is None:
        raise PaperreaderError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    module = importlib.import_module(f"paperreader.core.exporters.{name}")
    return module.export(papers, out, user=user)
