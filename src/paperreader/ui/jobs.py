"""Long jobs the reader runs from the palette: fetch papers from the network, import a file.

A job is a function of a `Reporter` (what it is doing, how far it got) that returns an `Outcome`.
It runs in a thread worker (TaskBar), so it never touches a widget; errors are raised and the
worker turns them into one notification."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from paperreader.core import fetch
from paperreader.core.errors import FullTextError
from paperreader.core.library import Library
from paperreader.core.models import ImportReport, Paper

MAX_PROBLEMS_SHOWN = 3  # skipped records named in the notification; the rest only counted


class Cancelled(Exception):
    """The job's worker was cancelled (the reader is closing): stop at the next chance."""


class Reporter(Protocol):
    def stage(self, label: str) -> None:
        """What the job does now (the bar's label); the bar goes back to indeterminate."""

    def progress(self, done: int, total: int | None) -> None:
        """How far it got; raises Cancelled when the job should stop."""

    def sleep(self, seconds: float) -> None:
        """Wait (backoff, arXiv pacing); raises Cancelled when the job should stop."""


@dataclass(frozen=True)
class Outcome:
    message: str
    severity: str = "information"
    changed: bool = False  # papers were added or updated: the list must be refreshed


Job = Callable[[Reporter], Outcome]


def fetch_hf_job(library: Library) -> Job:
    def run(reporter: Reporter) -> Outcome:
        reporter.stage("Fetching today's Hugging Face papers")
        papers = fetch.fetch_hf_daily(None, sleep=reporter.sleep)  # None: the latest list
        if not papers:
            return Outcome("Hugging Face lists no papers today.", "warning")
        return _add(library, papers, reporter, "Hugging Face")

    return run


def fetch_arxiv_job(library: Library, query: str, max_results: int) -> Job:
    def run(reporter: Reporter) -> Outcome:
        reporter.stage(f"Fetching from arXiv: {query}")
        papers = fetch.fetch_arxiv_query(
            query, max_results, progress=reporter.progress, sleep=reporter.sleep
        )
        if not papers:
            return Outcome(f"arXiv has no papers matching {query!r}.", "warning")
        return _add(library, papers, reporter, "arXiv")

    return run


def import_job(library: Library, path: Path) -> Job:
    def run(reporter: Reporter) -> Outcome:
        reporter.stage(f"Importing {path.name}")
        # Records first (fast), then the index: the stages show where the time goes.
        report = library.import_path(path, progress=reporter.progress, index=False)
        _catch_up(library, reporter)
        return _outcome(f"Imported {path.name}", report)

    return run


def catch_up_job(library: Library) -> Job:
    """Index the papers an import left for later (see Library.catch_up)."""

    def run(reporter: Reporter) -> Outcome:
        indexed = _catch_up(library, reporter)
        return Outcome(f"Indexed {indexed:,} papers: every paper is searchable.", changed=True)

    return run


def fetch_text_job(library: Library, paper_id: str) -> Job:
    """The reader's `d`: the paper's full text from arXiv (HTML, else PDF), stored and
    indexed. A failure (no arXiv id, 404, offline, an unreadable file) raises one line;
    nothing is stored then."""

    def run(reporter: Reporter) -> Outcome:
        reporter.stage(f"Fetching the full text of {paper_id}")
        results = library.fetch_text(
            [paper_id], index=False, sleep=reporter.sleep, progress=reporter.progress
        )
        result = next(iter(results.values()))
        if isinstance(result, str):
            raise FullTextError(result)
        reporter.stage("Indexing the text for search")
        library.run_indexer(wait=False)  # (another process's indexer takes it otherwise)
        what = result.source.upper() + (f", {result.pages} pages" if result.pages else "")
        sections = len(result.headings())
        return Outcome(f"Fetched the full text of {paper_id} ({what}, {sections} sections).")

    return run


def _catch_up(library: Library, reporter: Reporter) -> int:
    """Be the library's indexer (a rebuild if the index is missing or damaged, then what is
    queued); while another process is, follow its progress and take over if it stops."""
    pending = library.unindexed_count()
    reporter.stage(f"Indexing {pending:,} papers for search" if pending else "Rebuilding the index")
    while library.needs_indexing():
        library.run_indexer(progress=reporter.progress, wait=False)
        if library.needs_indexing():  # another process is the indexer: follow it
            left = library.unindexed_count()
            reporter.progress(max(0, pending - left), max(pending, 1))
            reporter.sleep(1.0)
    return pending


def _add(library: Library, papers: list[Paper], reporter: Reporter, source: str) -> Outcome:
    total = len(papers)
    reporter.stage(f"Adding {total} papers from {source}")
    reporter.progress(0, total)
    report = library.add_papers(papers, progress=lambda done, _: reporter.progress(done, total))
    return _outcome(f"Fetched {total} from {source}", report)


def _outcome(what: str, report: ImportReport) -> Outcome:
    lines = [f"{what}: {report.summary()}"]
    lines += [f"skipped {p}" for p in report.problems[:MAX_PROBLEMS_SHOWN]]
    severity = "warning" if report.skipped else "information"
    return Outcome("\n".join(lines), severity, changed=bool(report.added or report.updated))
