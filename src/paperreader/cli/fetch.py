"""`paperreader fetch ...`: papers from Hugging Face Daily Papers or the arXiv API.

paperreader fetch hf-daily [--date YYYY-MM-DD]
paperreader fetch arxiv QUERY [--max N]
paperreader fetch arxiv-id ID [ID ...]
paperreader fetch text ID [ID ...]     (the papers' full texts: arXiv's HTML, else the PDF)
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from paperreader.cli.common import open_library, say
from paperreader.core.errors import PaperreaderError
from paperreader.core.models import Paper, normalise_arxiv_id


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value


def add_fetch_parser(
    subparsers: Any, common: argparse.ArgumentParser | None = None
) -> argparse.ArgumentParser:
    """Register `fetch` and its sources on the CLI's subparsers (`common`: shared options)."""
    parents = [common] if common is not None else []
    help_text = "fetch papers from Hugging Face Daily Papers or arXiv into the library"
    parser = subparsers.add_parser("fetch", parents=parents, help=help_text, description=help_text)
    sources = parser.add_subparsers(dest="fetch_source", metavar="SOURCE", required=True)

    text = "the papers on Hugging Face's Daily Papers (today's list, or --date)"
    p = sources.add_parser("hf-daily", parents=parents, help=text, description=text)
    p.add_argument("--date", type=_iso_date, metavar="YYYY-MM-DD", help="the day's list")

    text = "papers matching an arXiv API query (plain words, or ti:/au:/abs:/cat: fields)"
    p = sources.add_parser("arxiv", parents=parents, help=text, description=text)
    p.add_argument("query")
    p.add_argument("--max", type=_positive, default=50, metavar="N", help="at most N (50)")

    text = "papers by arXiv id (2403.01234, cs/0503050v1, or an arxiv.org URL)"
    p = sources.add_parser("arxiv-id", parents=parents, help=text, description=text)
    p.add_argument("ids", nargs="+", metavar="ID")

    text = (
        "the full text of papers in the library from arXiv (the HTML page, else the PDF), "
        "stored in <library>/files/<id>/ and indexed"
    )
    p = sources.add_parser("text", parents=parents, help=text, description=text)
    p.add_argument("ids", nargs="+", metavar="ID")

    parser.set_defaults(func=cmd_fetch)
    return parser


def cmd_fetch(args: argparse.Namespace) -> int:
    library = open_library(args)
    try:
        return run_fetch(args, library)
    finally:
        close = getattr(library, "close", None)
        if close:
            close()


def _progress(label: str) -> Any:
    from paperreader.cli.progress import CliProgress

    return CliProgress(label)


def run_fetch(args: argparse.Namespace, library: Any) -> int:
    """Fetch what `args` asks for and add it to `library`; 0 on success, 1 on any failure."""
    from paperreader.core import fetch  # (httpx: loaded by the commands that fetch only)

    source = args.fetch_source
    if source == "text":
        return fetch_texts(args.ids, library)
    progress = _progress(f"fetching from {'arXiv' if source != 'hf-daily' else 'Hugging Face'}")
    missing: list[str] = []
    try:
        if source == "hf-daily":
            papers = fetch.fetch_hf_daily(args.date)
            empty = f"Hugging Face lists no papers for {args.date or 'today'}"
        elif source == "arxiv":
            papers = fetch.fetch_arxiv_query(args.query, args.max, progress=progress)
            empty = f"arXiv has no papers matching {args.query!r}"
        elif source == "arxiv-id":
            papers = fetch.fetch_arxiv_ids(args.ids, progress=progress)
            found = {p.arxiv_id for p in papers}
            missing = [i for i in args.ids if normalise_arxiv_id(i) not in found]
            empty = "arXiv knows none of these ids"
        else:
            say(f"unknown source {source!r}")
            return 2
    except PaperreaderError as exc:
        progress.done()
        say(str(exc))
        return 1
    progress.done()
    for raw in missing:
        say(f"not found on arXiv: {raw}")
    if not papers:
        say(empty)
        return 1
    return _add(library, papers, missing)


def _add(library: Any, papers: list[Paper], missing: list[str]) -> int:
    progress = _progress("adding")
    try:
        report = library.add_papers(papers, progress=progress)
    except PaperreaderError as exc:
        progress.done()
        say(str(exc))
        return 1
    progress.done()
    print(f"fetched {len(papers)}: {report.summary()}")
    for problem in report.problems:
        print(f"  skipped {problem}")
    return 1 if missing else 0


def fetch_texts(ids: list[str], library: Any) -> int:
    """`fetch text`: each paper's line (what was stored, or why not), then the index. 0 when
    every text was stored, else 1 (the others are kept)."""
    from paperreader.cli.reading import describe

    progress = _progress("fetching full texts from arXiv")

    def report(paper_id: str, document: Any, error: str | None) -> None:
        if error is not None:
            say(error if paper_id in error else f"{paper_id}: {error}")
        else:
            print(f"{paper_id}: {describe(document, library.text_info(paper_id))}")

    results = library.fetch_text(ids, progress, index=False, on_result=report)
    progress.done()
    if any(not isinstance(r, str) for r in results.values()):
        indexing = _progress("indexing the texts")
        library.run_indexer(indexing)
        indexing.done()
    return 1 if any(isinstance(r, str) for r in results.values()) else 0
