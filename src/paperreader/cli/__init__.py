"""The command line. With no command it opens the reader (the TUI).

`build_parser` and `main` live here (the `paperreader` entry point and `python -m paperreader`);
the commands are in `commands`, `fetch` has its own module, and `common` holds what they share.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from paperreader import __version__
from paperreader.cli.commands import (
    BACKGROUND_INDEX_FROM,
    cmd_bookmark,
    cmd_bookmarks,
    cmd_check,
    cmd_export,
    cmd_import,
    cmd_index,
    cmd_mark,
    cmd_note,
    cmd_reindex,
    cmd_search,
    cmd_show,
    cmd_similar,
    cmd_tag,
    cmd_tui,
)
from paperreader.cli.common import finish, open_library, say
from paperreader.cli.fetch import add_fetch_parser
from paperreader.cli.reading import add_reading_parsers
from paperreader.cli.views import add_views_parser
from paperreader.core.errors import PaperreaderError
from paperreader.core.models import ReadState

__all__ = ["build_parser", "main", "open_library"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperreader",
        description="A keyboard-driven terminal reader for research papers. "
        "With no command, opens the reader.",
    )
    parser.add_argument("--version", action="version", version=f"paperreader {__version__}")
    library_help = "the library folder (default: $PAPERREADER_HOME, else the user data dir)"
    parser.add_argument("--library", metavar="DIR", default=None, help=library_help)
    common = argparse.ArgumentParser(add_help=False)  # --library after the command works too
    common.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS, help=library_help)
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
        "--sort",
        default=None,
        choices=["relevance", "newest", "oldest", "title"],
        help="default: relevance, or the saved view's sort",
    )
    p.add_argument(
        "--view",
        help="all, bookmarked, unread, reading, read, notes, tagged, new, for-you, tag:NAME, "
        "or a saved view (`paperreader views` lists them)",
    )
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
    add_reading_parsers(add)
    add_fetch_parser(sub, common)
    add_views_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        try:
            return int(args.func(args) or 0)
        finally:  # (the indexer commands are the indexer: they start no other)
            finish(start_indexer=args.func not in (cmd_index, cmd_reindex))
    except PaperreaderError as exc:
        say(str(exc))
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        say("interrupted; nothing half-written was kept")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("PAPERREADER_DEBUG"):
            raise
        say(f"internal error: {type(exc).__name__}: {exc} (set PAPERREADER_DEBUG=1 for details)")
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
