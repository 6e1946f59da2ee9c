"""The command line. With no command it opens the reader (the TUI)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from paperreader import __version__
from paperreader.config import library_dir
from paperreader.core.errors import PaperreaderError
from paperreader.core.models import Hit, Paper, ReadState, SearchResult
from paperreader.progress import StderrProgress

if False:  # typing only: keep start-up imports light
    from paperreader.core.library import Library


def _say(message: str) -> None:
    print(f"paperreader: {message}", file=sys.stderr)


def open_library(args: argparse.Namespace) -> Library:
    from paperreader.core.library import Library

    progress = StderrProgress("indexing")
    library = Library(library_dir(args.library), on_message=_say, progress=progress)
    progress.done()
    return library


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _hit_json(
    hit: Hit, paper: Paper | None, result: SearchResult | None, library: Library
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": hit.id,
        "title": hit.title,
        "authors": paper.authors if paper else ([hit.first_author] if hit.first_author else []),
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
            for text in [getattr(paper, field)]
        }
    return out


def _hit_line(hit: Hit) -> str:
    marks = ("*" if hit.bookmarked else " ") + ("n" if hit.has_note else " ")
    when = hit.published.isoformat() if hit.published else "----------"
    author = f" — {hit.first_author}" if hit.first_author else ""
    tags = f"  [{', '.join(hit.tags)}]" if hit.tags else ""
    return f"{marks} {when}  {hit.id:<24} {hit.title}{author}{tags}"


# -- commands ------------------------------------------------------------------------------------
def cmd_tui(args: argparse.Namespace) -> int:
    from paperreader.ui.app import run_tui  # Textual loads only for the reader

    return run_tui(library_dir(args.library))


def cmd_import(args: argparse.Namespace) -> int:
    library = open_library(args)
    options: dict[str, Any] = {}
    if args.category:
        options["categories"] = args.category
    if args.since:
        options["since"] = date.fromisoformat(args.since)
    failed = 0
    for path in args.paths:
        progress = StderrProgress(f"importing {path}")
        try:
            report = library.import_path(
                Path(path), args.format, progress=progress, index=False, **options
            )
        except PaperreaderError as exc:
            progress.done()
            _say(str(exc))
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


# An import leaving more papers than this to index returns at once and indexes them in a
# background process (records are written ~7x faster than Whoosh indexes them).
BACKGROUND_INDEX_FROM = 5000


def _index_imported(library: Library, *, wait: bool) -> None:
    pending = library.unindexed_count()
    if not pending:
        return
    if wait or pending < BACKGROUND_INDEX_FROM:
        progress = StderrProgress("indexing")
        library.catch_up(progress, wait=True)
        progress.done()
        return
    _start_background_index(library.root)
    _say(
        f"{pending:,} papers are in the library and listed now; they become searchable as a "
        "background process indexes them (`paperreader index` waits for it)"
    )


def _start_background_index(root: Path) -> None:
    with open(root / "index-catch-up.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "paperreader", "index", "--library", str(root), "--quiet"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # outlives this command and the terminal's Ctrl-C
            close_fds=True,
        )


def cmd_index(args: argparse.Namespace) -> int:
    library = open_library(args)
    pending = library.unindexed_count()
    if not pending:
        if not args.quiet:
            print("every paper is in the search index")
        return 0
    progress = None if args.quiet else StderrProgress(f"indexing {pending:,} papers")
    library.catch_up(progress, wait=True)  # waits for a background indexer first, if any
    if progress:
        progress.done()
    left = library.unindexed_count()  # another indexer may have done them meanwhile
    if not args.quiet:
        print(f"indexed {pending - left:,} papers" + (f"; {left:,} still to do" if left else ""))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    library = open_library(args)
    result = library.search(args.query, limit=args.limit, sort=args.sort, view=args.view)
    papers = library.get_many([h.id for h in result.hits])
    if args.json:
        _print_json(
            {
                "query": result.query,
                "total": result.total,
                "suggestion": result.suggestion,
                "corrected": result.corrected,
                "elapsed_ms": round(result.elapsed_ms, 2),
                "hits": [_hit_json(h, papers.get(h.id), result, library) for h in result.hits],
            }
        )
        return 0
    if result.suggestion:
        _say(f'showing results for "{result.suggestion}" (you typed "{result.query}")')
    for hit in result.hits:
        print(_hit_line(hit))
    _say(f"{result.total} found in {result.elapsed_ms:.0f} ms")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    user = library.user(paper.id)
    if args.json:
        data = paper.to_dict()
        data["links"] = paper.links
        data["user"] = {
            "bookmarked": user.bookmarked,
            "state": user.state.value,
            "tags": user.tags,
            "note": user.note.text if user.note else None,
        }
        _print_json(data)
        return 0
    print(paper.title)
    print(", ".join(paper.authors) or "(authors unknown)")
    facts = [f"id {paper.id}", paper.published.isoformat() if paper.published else "no date"]
    facts.append(user.state.value + (", bookmarked" if user.bookmarked else ""))
    if user.tags:
        facts.append("tags: " + ", ".join(user.tags))
    print(" · ".join(facts))
    for kind, url in paper.links.items():
        print(f"{kind}: {url}")
    print()
    print(paper.abstract or "(no abstract)")
    if user.note and user.note.text.strip():
        print("\n--- note ---")
        print(user.note.text)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    library = open_library(args)
    hits = library.similar(args.id, limit=args.limit)
    if args.json:
        papers = library.get_many([h.id for h in hits])
        _print_json([_hit_json(h, papers.get(h.id), None, library) for h in hits])
    else:
        for hit in hits:
            print(_hit_line(hit))
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
        _print_json([_hit_json(h, papers.get(h.id), None, library) for h in result.hits])
    else:
        for hit in result.hits:
            print(_hit_line(hit))
    return 0


def _edit_in_editor(text: str) -> str | None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as fh:
        fh.write(text)
        name = fh.name
    try:
        status = subprocess.call(f'{editor} "{name}"', shell=True)
        if status != 0:
            _say(f"the editor exited with status {status}; the note is unchanged")
            return None
        return Path(name).read_text(encoding="utf-8")
    finally:
        os.unlink(name)


def cmd_note(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    if args.set is not None:
        library.set_note(paper.id, args.set)
    elif args.append is not None:
        library.append_note(paper.id, args.append)
    elif args.edit:
        base = library.user(paper.id).note
        edited = _edit_in_editor(base.text if base else "")
        if edited is None:
            return 1
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
        _say(f"exported {count} papers to {out_path}")
    else:
        export(args.format, papers, sys.stdout, user=users.get)
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    library = open_library(args)
    progress = StderrProgress("reindexing")
    count = library.reindex(progress)
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


# -- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperreader",
        description="A keyboard-driven terminal reader for research papers. "
        "With no command, opens the reader.",
    )
    parser.add_argument("--version", action="version", version=f"paperreader {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--library",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the library folder (default: $PAPERREADER_HOME, else the user data dir)",
    )
    parser.add_argument("--library", metavar="DIR", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("import", cmd_import, "import papers from files (format guessed from content)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", help="force the input format")
    p.add_argument("--category", action="append", help="arXiv snapshot: keep these categories")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="arXiv snapshot: papers from this date")
    p.add_argument(
        "--wait",
        action="store_true",
        help=f"index for search before returning (done anyway below {BACKGROUND_INDEX_FROM:,} papers)",
    )

    p = add("search", cmd_search, "search the library")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument(
        "--sort", default="relevance", choices=["relevance", "newest", "oldest", "title"]
    )
    p.add_argument("--view", help="all, bookmarked, unread, reading, read, notes, tagged, tag:NAME")
    p.add_argument("--json", action="store_true", help="print a JSON document")

    p = add("show", cmd_show, "show one paper")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")

    p = add("similar", cmd_similar, "papers most like one paper")
    p.add_argument("id")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")

    p = add("bookmark", cmd_bookmark, "bookmark a paper (or --remove the bookmark)")
    p.add_argument("id")
    p.add_argument("--remove", action="store_true")

    p = add("bookmarks", cmd_bookmarks, "list bookmarked papers")
    p.add_argument("--json", action="store_true")

    p = add("note", cmd_note, "print, set, append to or edit a paper's note")
    p.add_argument("id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--set", metavar="TEXT")
    group.add_argument("--append", metavar="TEXT")
    group.add_argument("--edit", action="store_true", help="edit in $EDITOR")

    p = add("tag", cmd_tag, "add (or --remove) tags")
    p.add_argument("id")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--remove", action="store_true")

    p = add("mark", cmd_mark, "set the read state")
    p.add_argument("id")
    p.add_argument("state", choices=[s.value for s in ReadState])

    p = add("export", cmd_export, "export papers")
    p.add_argument("--bookmarked", action="store_true")
    p.add_argument("--tag")
    p.add_argument("--query")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "json", "markdown", "bibtex"])
    p.add_argument("-o", "--output", metavar="FILE")

    p = add("index", cmd_index, "index the papers an import left for later (waits for it)")
    p.add_argument("--quiet", action="store_true", help="no progress, no summary")
    add("reindex", cmd_reindex, "rebuild the search index from the library")
    p = add("check", cmd_check, "verify the store and the index (exit 1 on a problem)")
    p.add_argument("--backups", action="store_true", help="list the store's backups")
    p.add_argument("--restore", metavar="NAME", help="put the store back as a backup holds it")
    _add_optional_commands(sub, common)
    return parser


def _add_optional_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    try:
        from paperreader.cli_fetch import add_fetch_parser
    except ImportError:
        return
    add_fetch_parser(sub, common)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PaperreaderError as exc:
        _say(str(exc))
        return 1
    except KeyboardInterrupt:
        _say("interrupted; nothing half-written was kept")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("PAPERREADER_DEBUG"):
            raise
        _say(f"internal error: {type(exc).__name__}: {exc} (set PAPERREADER_DEBUG=1 for details)")
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
