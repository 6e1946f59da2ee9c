"""What every command shares: opening the library and writing output (stdout) or messages
(stderr, one line each)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from paperreader.config import library_dir
from paperreader.core.display import readable, readable_authors
from paperreader.core.models import Hit, Paper, SearchResult

if TYPE_CHECKING:  # keep start-up imports light
    from paperreader.core.library import Library


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"paperreader: {message}", file=sys.stderr)


# Libraries this command opened: `finish` closes them when the command ends.
OPENED: list[Library] = []
BACKGROUND_ENV = "PAPERREADER_BACKGROUND"  # set in the background indexer's process


def open_library(args: argparse.Namespace, *, index_seed: bool = True) -> Library:
    """Open the library. Opening only reads: a rebuild or catch-up that is needed is left to
    the one indexer (`finish` starts it in the background when none runs). `index_seed`
    False: a new library's sample papers are left queued for the command's own indexing."""
    from paperreader.core.library import Library

    library = Library(library_dir(args.library), on_message=say, index_seed=index_seed)
    OPENED.append(library)
    return library


def finish(*, start_indexer: bool = True) -> None:
    """The command's end: its saves are applied to the index (or left queued for the holder
    of the indexer lease), one line says how many papers are not searchable yet, and an
    indexer starts in the background if work waits and none runs."""
    while OPENED:
        library = OPENED.pop()
        try:
            library.flush(timeout=15)
            if (line := library.index_status()) is not None:
                say(line)
            if start_indexer and not os.environ.get(BACKGROUND_ENV):
                library.start_indexer()
        except Exception:  # noqa: BLE001 - the command's own work is done and saved
            pass
        finally:
            library.close()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def hit_json(
    hit: Hit, paper: Paper | None, result: SearchResult | None, library: Library
) -> dict[str, Any]:
    authors = paper.authors if paper else ([hit.first_author] if hit.first_author else [])
    out: dict[str, Any] = {
        "id": hit.id,
        "title": readable(hit.title),
        "authors": readable_authors(authors),
        "date": hit.published.isoformat() if hit.published else None,
        "score": round(hit.score, 4),
        "bookmarked": hit.bookmarked,
        "state": hit.state.value,
        "has_note": hit.has_note,
        "tags": hit.tags,
    }
    if result is not None and paper is not None:
        out["matches"] = {
            field: [{"start": s, "end": e, "text": text[s:e]} for s, e in spans]
            for field, spans in library.matches(paper, result).items()
            for text in [readable(getattr(paper, field))]
        }
        found = library.snippet(paper, result)
        if found is not None:
            text, spans = found
            out["snippet"] = {
                "text": text,
                "matches": [{"start": s, "end": e, "text": text[s:e]} for s, e in spans],
            }
    return out


def hit_line(hit: Hit) -> str:
    marks = ("*" if hit.bookmarked else " ") + ("n" if hit.has_note else " ")
    marks = ("+" if hit.new else "") + marks  # added since the reader's last visit
    when = hit.published.isoformat() if hit.published else "----------"
    author = f" — {readable(hit.first_author)}" if hit.first_author else ""
    tags = f"  [{', '.join(hit.tags)}]" if hit.tags else ""
    return f"{marks} {when}  {hit.id:<24} {readable(hit.title)}{author}{tags}"
