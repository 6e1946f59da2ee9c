"""The commands for views, what is new and recommendations: `view save/remove`, `views`,
`mark-read --view`, `recommend`."""

from __future__ import annotations

import argparse
from typing import Any

from paperreader.cli.common import hit_json, hit_line, open_library, print_json, say
from paperreader.core.views import SORTS


def cmd_view(args: argparse.Namespace) -> int:
    library = open_library(args)
    if args.action == "save":
        view = library.save_view(args.name, args.query, args.sort)
        say(f"saved the view {view.name!r}: {view.query or '(every paper)'} · sort {view.sort}")
    else:
        library.remove_view(args.name)
        say(f"removed the view {args.name!r}")
    return 0


def cmd_views(args: argparse.Namespace) -> int:
    library = open_library(args)
    views = library.views.all()
    counts = library.count_views(views)
    rows: list[dict[str, Any]] = []
    for view in views:
        c = counts.get(view.name)
        rows.append(
            {
                "name": view.name,
                "query": view.query,
                "sort": view.sort,
                "builtin": view.builtin,
                "unread": c.unread if c else 0,
                "new": c.new if c else 0,
                "last_opened": view.last_opened.isoformat() if view.last_opened else None,
            }
        )
    if args.json:
        print_json({"views": rows})
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        query = (
            ""
            if r["builtin"]
            else f"  {r['query']}" + (f"  (sort {r['sort']})" if r["sort"] != "relevance" else "")
        )
        print(f"{r['name']:<{width}}  {r['unread']:>7,} unread  {r['new']:>6,} new{query}")
    return 0


def cmd_mark_read(args: argparse.Namespace) -> int:
    library = open_library(args)
    ids = library.view_ids(args.view, args.query or "", unread=True)
    if not ids:
        say(f"no unread papers in the view {args.view!r}")
        return 0
    if not args.yes:
        say(f"{len(ids):,} unread papers in the view {args.view!r}; add --yes to mark them read")
        return 1
    done = library.mark_view_read(args.view, args.query or "")
    say(f"marked {done:,} papers read in the view {args.view!r}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    library = open_library(args)
    ranking = library.recommend(args.tag, limit=args.limit)
    papers = library.get_many([pid for pid, _ in ranking])
    result = library.search_for_you(
        f"for-you:{args.tag}" if args.tag else "for-you", "", 0, args.limit
    )
    if args.json:
        print_json(
            {
                "tag": args.tag,
                "reason": ranking.reason,
                "hits": [hit_json(h, papers.get(h.id), None, library) for h in result.hits],
            }
        )
        return 0
    if not ranking:
        say(ranking.reason or "nothing to recommend")
        return 0
    for hit in result.hits:
        print(f"{hit.score:+.3f} {hit_line(hit)}")
    return 0


def add_views_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("view", cmd_view, "save a search as a view, or remove one")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    save = actions.add_parser("save", parents=[common], help="save QUERY as the view NAME")
    save.add_argument("name", metavar="NAME")
    save.add_argument("query", metavar="QUERY")
    save.add_argument("--sort", default="relevance", choices=list(SORTS))
    remove = actions.add_parser("remove", parents=[common], help="remove the saved view NAME")
    remove.add_argument("name", metavar="NAME")

    p = add("views", cmd_views, "list the views with their unread and new counts")
    p.add_argument("--json", action="store_true", help="print a JSON document")

    p = add("mark-read", cmd_mark_read, "mark every unread paper of a view read")
    p.add_argument("--view", required=True, help="a built-in view, a saved one, tag:NAME, new")
    p.add_argument("--query", help="only the papers of the view matching this query")
    p.add_argument("--yes", action="store_true", help="do it (without: say how many)")

    p = add("recommend", cmd_recommend, "unread papers like your bookmarked (or tagged) ones")
    p.add_argument("--tag", help="papers like those with this tag")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="print a JSON document")
