"""The commands of the command line, one `cmd_*` function each (the parser is in __init__)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperreader.cli.common import (
    BACKGROUND_ENV,
    hit_json,
    hit_line,
    open_library,
    print_json,
    say,
)
from paperreader.cli.progress import CliProgress
from paperreader.config import library_dir
from paperreader.core.display import readable, readable_authors
from paperreader.core.errors import PaperreaderError
from paperreader.editor import edit_text

if TYPE_CHECKING:
    from paperreader.core.library import Library


def cmd_tui(args: argparse.Namespace) -> int:
    from paperreader.ui.app import run_tui  # Textual loads only for the reader

    return run_tui(library_dir(args.library))


def cmd_import(args: argparse.Namespace) -> int:
    # (a new library's sample is indexed with the import's papers: it was indexed alone
    # first, then again in the import's segments, which fold it in)
    library = open_library(args, index_seed=False)
    options: dict[str, Any] = {}
    if args.category:
        options["categories"] = args.category
    if args.since:
        options["since"] = date.fromisoformat(args.since)
    failed = 0
    for path in args.paths:
        progress = CliProgress(f"importing {path}")
        try:
            report = library.import_path(
                Path(path),
                args.format,
                progress=progress,
                index=False,
                indexer_from=BACKGROUND_INDEX_FROM,  # indexed beside the import, on both cores
                **options,
            )
        except PaperreaderError as exc:
            progress.done()
            say(str(exc))
            failed += 1
            continue
        progress.done()
        print(f"{path}: {report.summary()}")
        for problem in report.problems:
            print(f"  skipped {problem}")
        if report.skipped > len(report.problems):
            print(f"  ... and {report.skipped - len(report.problems)} more skipped")
    _index_imported(library, wait=args.wait)
    return 1 if failed else 0


# An import of more papers than this starts a background indexer once this many wait, which
# indexes them while the import writes the rest; the import returns without waiting for it.
BACKGROUND_INDEX_FROM = 5000


def _index_imported(library: Library, *, wait: bool) -> None:
    from paperreader.core.search.indexer import LONG_JOBS

    pending = library.unindexed_count()
    if not pending:
        return
    holder = library.indexer.holder()  # (the one this import started, say: it takes them)
    indexing = holder is not None and holder.job in LONG_JOBS
    if wait or (pending < BACKGROUND_INDEX_FROM and not indexing):
        progress = CliProgress("indexing")
        library.run_indexer(progress, on_wait=_waiting(progress))  # (or waits for the indexer)
        progress.done()
        return
    library.start_indexer()  # no-op when an indexer runs: it takes these too before it stops
    say(
        f"{pending:,} papers are in the library and listed now; they become searchable as a "
        "background process indexes them (`paperreader index` waits for it)"
    )


def _waiting(progress: CliProgress | None):  # type: ignore[no-untyped-def]
    """While another process is the indexer: say so once, then show its progress."""
    said: list[int] = []

    def on_wait(holder) -> None:  # type: ignore[no-untyped-def]
        if not said or said[0] != holder.pid:
            said[:] = [holder.pid]
            say(
                f"another paperreader process is indexing this library ({holder.describe()}); "
                "waiting for it"
            )
        if progress is not None and holder.total:
            progress(holder.done, holder.total)

    return on_wait


def cmd_index(args: argparse.Namespace) -> int:
    """Be the library's one indexer, or wait for the one that runs (showing its progress). The
    background indexer (started by other commands) does not wait: it leaves at once."""
    library = open_library(args)
    background = bool(os.environ.get(BACKGROUND_ENV))
    pending = library.unindexed_count()
    why = library.indexer.rebuild_reason()
    holder = library.indexer.holder()
    if not pending and why is None and holder is None:
        if not args.quiet:
            print("every paper is in the search index")
        return 0
    progress = None if args.quiet else CliProgress(f"indexing {pending:,} papers")
    waited: list[object] = []
    follow = _waiting(progress)

    def on_wait(holder) -> None:  # type: ignore[no-untyped-def]
        waited.append(holder)
        if not args.quiet:
            follow(holder)

    done = library.run_indexer(progress, wait=not background, on_wait=on_wait)
    if progress:
        progress.done()
    left = library.unindexed_count()
    if not args.quiet:
        if waited and not done:
            print(
                "the running indexer finished"
                + (f"; {left:,} papers still to do" if left else ": every paper is searchable")
            )
        else:
            print(f"indexed {done:,} papers" + (f"; {left:,} still to do" if left else ""))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    library = open_library(args)
    sort = args.sort
    if sort is None:
        saved = library.saved_view(args.view) if args.view else None
        sort = saved.sort if saved else "relevance"
    result = library.search(args.query, limit=args.limit, sort=sort, view=args.view)
    papers = library.get_many([h.id for h in result.hits])
    if args.json:
        print_json(
            {
                "query": result.query,
                "total": result.total,
                "suggestion": result.suggestion,
                "corrected": result.corrected,
                "elapsed_ms": round(result.elapsed_ms, 2),
                "hits": [hit_json(h, papers.get(h.id), result, library) for h in result.hits],
            }
        )
        return 0
    if result.suggestion:
        say(f'showing results for "{result.suggestion}" (you typed "{result.query}")')
    for hit in result.hits:
        print(hit_line(hit))
        paper = papers.get(hit.id)
        found = library.snippet(paper, result) if paper is not None else None
        if found is not None:  # matched only in the full text: where
            print(f"{'':16}  {found[0]}")
    say(f"{result.total} found in {result.elapsed_ms:.0f} ms")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    user = library.user(paper.id)
    text = library.text_info(paper.id)
    if args.json:
        data = paper.to_dict()
        # What people read: LaTeX as Unicode; the record's own text in the *_latex fields.
        data["title_latex"], data["title"] = paper.title, readable(paper.title)
        data["abstract_latex"], data["abstract"] = paper.abstract, readable(paper.abstract)
        data["authors_latex"], data["authors"] = paper.authors, readable_authors(paper.authors)
        data["full_text"] = text
        data["links"] = paper.all_links()
        data["user"] = {
            "bookmarked": user.bookmarked,
            "state": user.state.value,
            "tags": user.tags,
            "note": user.note.text if user.note else None,
        }
        print_json(data)
        return 0
    print(readable(paper.title))
    print(", ".join(readable_authors(paper.authors)) or "(authors unknown)")
    facts = [f"id {paper.id}", paper.published.isoformat() if paper.published else "no date"]
    facts.append(user.state.value + (", bookmarked" if user.bookmarked else ""))
    if user.tags:
        facts.append("tags: " + ", ".join(user.tags))
    print(" · ".join(facts))
    for kind, url in paper.all_links().items():
        print(f"{kind}: {url}")
    if text is not None:
        what = str(text["source"]).upper()
        size = f", {text['file_bytes']:,} bytes" if text.get("file_bytes") else ""
        pages = f", {text['pages']} pages" if text.get("pages") else ""
        print(
            f"full text: {what}{pages}{size}; {text['text_chars']:,} characters, "
            f"{text['sections']} sections (`paperreader read {paper.id}`)"
        )
    else:
        print("full text: none (`paperreader attach` or `fetch text` adds it)")
    print()
    print(readable(paper.abstract) or "(no abstract)")
    if user.note and user.note.text.strip():
        print("\n--- note ---")
        print(user.note.text)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    library = open_library(args)
    hits = library.similar(args.id, limit=args.limit)
    if args.json:
        papers = library.get_many([h.id for h in hits])
        print_json([hit_json(h, papers.get(h.id), None, library) for h in hits])
    else:
        for hit in hits:
            print(hit_line(hit))
    return 0


def cmd_bookmark(args: argparse.Namespace) -> int:
    library = open_library(args)
    user = library.set_bookmark(args.id, not args.remove)
    print(f"{user.paper_id}: {'bookmarked' if user.bookmarked else 'bookmark removed'}")
    return 0


def cmd_bookmarks(args: argparse.Namespace) -> int:
    library = open_library(args)
    result = library.search("", view="bookmarked", limit=10**9, sort="newest")
    if args.json:
        papers = library.get_many([h.id for h in result.hits])
        print_json([hit_json(h, papers.get(h.id), None, library) for h in result.hits])
    else:
        for hit in result.hits:
            print(hit_line(hit))
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    if args.set is not None:
        library.set_note(paper.id, args.set)
    elif args.append is not None:
        library.append_note(paper.id, args.append)
    elif args.edit:
        base = library.user(paper.id).note
        edited = edit_text(base.text if base else "")  # EditorError: one line, exit 1
        if edited != (base.text if base else ""):
            library.set_note(paper.id, edited, base=base)
            print(f"{paper.id}: note saved")
        else:
            print(f"{paper.id}: note unchanged")
        return 0
    else:
        note = library.user(paper.id).note
        if note and note.text:
            print(note.text)
        return 0
    print(f"{paper.id}: note saved")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    library = open_library(args)
    if args.remove:
        user = library.remove_tags(args.id, args.tags)
    else:
        user = library.add_tags(args.id, args.tags)
    print(f"{user.paper_id}: tags {', '.join(user.tags) or '(none)'}")
    return 0


def cmd_mark(args: argparse.Namespace) -> int:
    library = open_library(args)
    user = library.set_state(args.id, args.state)
    print(f"{user.paper_id}: {user.state.value}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from paperreader.core.exporters import export

    library = open_library(args)
    papers = library.select(query=args.query or "", bookmarked=args.bookmarked, tag=args.tag)
    users = library.users()
    if args.output:
        out_path = Path(args.output)
        tmp = out_path.with_name(f".{out_path.name}.partial")
        with open(tmp, "w", encoding="utf-8") as out:
            count = export(args.format, papers, out, user=users.get)
        os.replace(tmp, out_path)
        say(f"exported {count} papers to {out_path}")
    else:
        export(args.format, papers, sys.stdout, user=users.get)
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    library = open_library(args)
    progress = CliProgress("reindexing")
    count = library.reindex(progress, on_wait=_waiting(progress))
    progress.done()
    print(f"indexed {count} papers")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    library = open_library(args)
    if args.backups:
        for name in library.backups():
            print(name)
        return 0
    if args.restore:
        restored = library.restore_backup(args.restore)
        print(f"restored {restored} papers' data from backup {args.restore}")
        return 0
    problems = library.check()
    for problem in problems:
        print(problem)
    if not problems:
        print(f"ok: {library.count()} papers, {len(library.users())} with your data, index in step")
    return 1 if problems else 0
