"""The one facade over records, store and index that the CLI and the UI both use."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path

from paperreader.core import importers
from paperreader.core.display import readable
from paperreader.core.errors import QueryError, StoreError, UnknownPaper
from paperreader.core.import_signal import importing
from paperreader.core.importers.base import Record, Skipped
from paperreader.core.library_index import LibraryIndexing
from paperreader.core.library_reading import LibraryReading
from paperreader.core.library_views import FOR_YOU, LibraryViews, hit_of
from paperreader.core.models import (
    Hit,
    ImportReport,
    Note,
    Paper,
    ReadState,
    SearchResult,
    UserData,
    normalise_arxiv_id,
)
from paperreader.core.records import Records, merge
from paperreader.core.search import SearchIndex, highlight
from paperreader.core.search.indexer import Indexer
from paperreader.core.search.schema import INDEXED_TEXT_MAX
from paperreader.core.store import Store, normalise_tags, now
from paperreader.core.text import bound_fields
from paperreader.core.views import BUILTIN

Progress = Callable[[int, int | None], None]
SAMPLE_FILE = "hf-daily-papers.txt"
# The sample page shows "Mar 11" without a year; it was shipped in 2026.
SAMPLE_REFERENCE_DATE = date(2026, 11, 26)
BATCH = 2000
MAX_PROBLEMS = 10
MAX_QUERY = 1000
# The built-in views that are searches (`new` and `for-you` are lists of their own).
VIEWS = {name: query for name, query in BUILTIN.items() if name not in ("new", FOR_YOU)}


def sample_path() -> Path:
    return Path(str(resources.files("paperreader") / "data" / SAMPLE_FILE))


def view_filter(view: str | None) -> str:
    """The filter query of a named view (`bookmarked`, `notes`, `tag:llm`, ...)."""
    if not view or view == "all":
        return ""
    if view.startswith("tag:"):
        return f'tags:"{view[4:]}"'
    if view not in VIEWS:
        known = ", ".join([*VIEWS, "tag:NAME"])
        raise ValueError(f"unknown view {view!r}; known: {known}")
    return VIEWS[view]


class Library(LibraryIndexing, LibraryReading, LibraryViews):
    """A library folder: `papers.db` (records), `store/` (the user's YAML), `index/` (cache)."""

    def __init__(
        self,
        root: Path,
        *,
        seed: bool = True,
        on_message: Callable[[str], None] | None = None,
        progress: Progress | None = None,
        index_seed: bool = True,
    ) -> None:
        """Open a library folder. Opening reads; it never rebuilds or writes the index (that
        is the indexer's job: `run_indexer`, or `start_indexer` for a background process).
        A new folder is seeded with the sample, and its index built here (`index_seed`
        False: left queued, for a command that indexes next, as an import does)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._say = on_message or (lambda _msg: None)
        self.records = Records(self.root / "papers.db")
        self.store = Store(self.root / "store")
        self.index = SearchIndex(self.root / "index")
        self.index.text_loader = self.indexed_text  # full texts go into the index's `text`
        self._users: dict[str, UserData] | None = None
        self._count: int | None = None
        self._users_lock = threading.Lock()
        self._files_checked = (0.0, False)  # (when, whether files/ exists)
        self.store_problems: list[str] = []
        self.indexer = Indexer(self.root, self.records, self.store, self.index, self.users)
        self._init_views()
        fresh = self.records.count() == 0 and not self.records.get_meta("seeded")
        self.index.open()
        if fresh and seed:
            self._seed(progress, index=index_seed)
        else:
            with contextlib.suppress(sqlite3.Error, StoreError):  # hand edits: queued
                self.sync_store()

    def close(self) -> None:
        self.indexer.flush(timeout=15)
        self.index.close()
        self.records.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.root.name

    # -- papers --------------------------------------------------------------------------------
    def count(self, *, fresh: bool = False) -> int:
        """Papers in the library. Counting 100,000 rows costs ~4 ms, so the figure is kept
        until this library adds papers or `fresh` asks again (another process may have)."""
        if fresh or self._count is None:
            self._count = self.records.count()
        return self._count

    def get(self, paper_id: str) -> Paper:
        paper = self.records.get(paper_id)
        if paper is None:
            paper = self._resolve(paper_id)
        return paper

    def _resolve(self, key: str) -> Paper:
        """Accept an arXiv id with a version, a DOI, or a unique id prefix."""
        probe = Paper(id=key, title="\x00", arxiv_id=normalise_arxiv_id(key))
        if key.lower().startswith("10.") or key.lower().startswith("doi:"):
            probe.doi = key.lower().removeprefix("doi:")
        found = self.records.find_same(probe) if (probe.arxiv_id or probe.doi) else None
        if found is None:
            found = self.records.by_prefix(key)
        if found is None:
            from paperreader.core.errors import AmbiguousId

            total, ids = self.records.prefix_matches(key, AmbiguousId.SHOWN)
            if total > 1:
                raise AmbiguousId(key, total, ids)
            raise UnknownPaper(key)
        return found

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        return self.records.get_many(ids)

    # -- the user's data -------------------------------------------------------------------------
    def users(self) -> dict[str, UserData]:
        """The data of every paper the user touched (read once, then kept up to date)."""
        with self._users_lock:
            if self._users is None:
                found, problems = self.store.scan()
                self._users = found
                self.store_problems = [str(p) for p in problems]
            return self._users

    def user(self, paper_id: str) -> UserData:
        """Fresh from disk, so hand edits and other instances' saves show."""
        return self.store.get(paper_id)

    def _change(self, paper_id: str, change: Callable[[UserData], None]) -> UserData:
        """The user's change first (durable in the YAML store), then its index update: queued
        in papers.db and applied by whoever holds the indexer lease. Whatever the index is
        doing, the change is kept and this returns."""
        paper = self.get(paper_id)
        user = self.store.update(paper.id, change, title=paper.title)
        self.users()[paper.id] = user
        self.index.remember(paper, user)  # searches here show it from now on
        self._user_version += 1  # views' counts are stale
        try:
            with self.records.batch():
                self.records.mark_unindexed([paper.id], "user")
                with contextlib.suppress(OSError):  # (a change that emptied the data: no file)
                    stat = self.store.path_for(paper.id).stat()
                    self.records.saw_store_file(paper.id, stat.st_mtime_ns, stat.st_size)
        except sqlite3.Error:  # papers.db busy for 10 s: the store scan at the next open finds it
            return user
        self.indexer.save_soon()  # the index update, in the background
        return user

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the saves made here are applied to the index (or left to its holder)."""
        return self.indexer.flush(timeout)

    def set_bookmark(self, paper_id: str, on: bool = True) -> UserData:
        return self._change(paper_id, lambda u: setattr(u, "bookmarked", on))

    def toggle_bookmark(self, paper_id: str) -> UserData:
        return self._change(paper_id, lambda u: setattr(u, "bookmarked", not u.bookmarked))

    def set_state(self, paper_id: str, state: ReadState | str) -> UserData:
        value = ReadState(state)
        return self._change(paper_id, lambda u: setattr(u, "state", value))

    def cycle_state(self, paper_id: str) -> UserData:
        return self._change(paper_id, lambda u: setattr(u, "state", u.state.next()))

    def add_tags(self, paper_id: str, tags: Iterable[str]) -> UserData:
        new = list(tags)
        return self._change(paper_id, lambda u: setattr(u, "tags", normalise_tags([*u.tags, *new])))

    def remove_tags(self, paper_id: str, tags: Iterable[str]) -> UserData:
        gone = set(normalise_tags(tags))
        return self._change(
            paper_id, lambda u: setattr(u, "tags", [t for t in u.tags if t not in gone])
        )

    def set_tags(self, paper_id: str, tags: Iterable[str]) -> UserData:
        new = normalise_tags(tags)
        return self._change(paper_id, lambda u: setattr(u, "tags", new))

    def set_note(self, paper_id: str, text: str, *, base: Note | None = None) -> UserData:
        """Save a note. `base` is the note the editor started from: if the note on disk has
        changed since (another instance, a hand edit), both texts are kept, never one lost."""

        def change(user: UserData) -> None:
            stamp = now()
            merged = text
            theirs = user.note
            # The note on disk is not the one the editor started from: keep both.
            if (
                base is not None
                and theirs is not None
                and theirs.text.strip()
                and theirs.text not in (base.text, text)
            ):
                merged = (
                    f"{text.rstrip()}\n\n---\n*paperreader kept this version too: it was saved "
                    f"elsewhere at {theirs.updated.isoformat()} while you were editing.*\n\n"
                    f"{theirs.text}"
                )
            created = theirs.created if theirs else stamp
            user.note = (
                Note(text=merged, created=created, updated=stamp) if merged.strip() else None
            )

        return self._change(paper_id, change)

    def append_note(self, paper_id: str, text: str) -> UserData:
        def change(user: UserData) -> None:
            stamp = now()
            old = user.note.text.rstrip() if user.note else ""
            joined = f"{old}\n\n{text}" if old else text
            created = user.note.created if user.note else stamp
            user.note = Note(text=joined, created=created, updated=stamp)

        return self._change(paper_id, change)

    def tag_counts(self) -> dict[str, int]:
        return self.index.tag_counts()

    # -- search ----------------------------------------------------------------------------------
    def search(
        self,
        query: str = "",
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "relevance",
        view: str | None = None,
        partial_last: bool = False,
        correct: bool = True,
    ) -> SearchResult:
        if len(query) > MAX_QUERY:  # a pasted page as a query costs seconds per keystroke
            raise QueryError(f"the query is {len(query)} characters long; at most {MAX_QUERY}")
        # Lone surrogates (from a broken paste or terminal) cannot be index terms: drop them.
        query = query.encode("utf-8", "ignore").decode("utf-8")
        if self.index.local:  # forget the saves made here that an indexer has applied since
            with contextlib.suppress(sqlite3.Error):
                self.index.local.keep_only(self.records.queued(list(self.index.local.docs)))
        if view and view.startswith(FOR_YOU):
            return self.mark_new(self.search_for_you(view, query, offset, limit))
        filter_text = self.view_filter_of(view)
        if not query.strip() and not filter_text and sort in ("relevance", "newest"):
            return self.mark_new(self._newest(offset, limit))
        result = self.index.search(
            query,
            offset=offset,
            limit=limit,
            sort=sort,
            filter_text=filter_text,
            partial_last=partial_last,
            correct=correct,
        )
        return self.mark_new(result)

    def warm_search(self, should_stop: Callable[[], bool] | None = None) -> int:
        """Load the most common words' postings before they are searched (see
        SearchIndex.warm), after marking the newest-first listing for deep pages (see
        Records.mark_newest); for a background thread of a long-running reader."""
        self.records.mark_newest()
        return self.index.warm(should_stop=should_stop)

    def _newest(self, offset: int, limit: int) -> SearchResult:
        """The whole library newest first, a page at a time, from SQLite (the start-up screen
        and scrolling it); markers come from the user's data, as current as the index's."""
        started = time.perf_counter()
        users = self.users()
        # Page 0 starts a listing: count afresh (another instance may have imported). Later
        # pages page through that listing (a count is ~40 ms at 1,000,000 papers).
        total = self.count(fresh=offset == 0)
        hits = [hit_of(p, users.get(p.id)) for p in self.records.newest(offset, limit, total=total)]
        return SearchResult(
            query="",
            total=total,
            hits=hits,
            offset=offset,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def spans(self, text: str, field: str, result: SearchResult) -> list[tuple[int, int]]:
        """Where the result's query matched `text` of `field`; a title or abstract is matched
        as it is shown (`readable`: LaTeX as Unicode), so the spans are of that text."""
        if field in ("title", "abstract"):
            text = readable(text)
        return self.index.spans(text, field, result.terms)

    def matches(self, paper: Paper, result: SearchResult) -> dict[str, list[tuple[int, int]]]:
        """Where the result's query matched this paper, by field."""
        found = {}
        for field, text in (
            ("title", readable(paper.title)),
            ("abstract", readable(paper.abstract)),
        ):
            spans = self.index.spans(text, field, result.terms)
            if spans:
                found[field] = spans
        return found

    def snippet(
        self, paper: Paper, result: SearchResult, width: int = highlight.SNIPPET_WIDTH
    ) -> tuple[str, list[tuple[int, int]]] | None:
        """For a hit that matched only in the full text: the passage where it matched, and the
        spans of the matched words in it; None when the query matched elsewhere too (the
        title, abstract or note show it) or did not reach the text."""
        if paper.id not in result.text_only:
            return None
        text = self.plain_text(paper.id)
        if not text:
            return None
        return highlight.snippet(text[:INDEXED_TEXT_MAX], result.terms, width)

    def similar(self, paper_id: str, limit: int = 10) -> list[Hit]:
        return self.index.similar(self.get(paper_id), limit=limit)

    # -- import ----------------------------------------------------------------------------------
    def import_path(
        self,
        path: Path,
        fmt: str | None = None,
        progress: Progress | None = None,
        *,
        index: bool = True,
        indexer_from: int | None = None,
        **options: object,
    ) -> ImportReport:
        return self.add_papers(
            importers.read_records(Path(path), fmt, **options),
            progress=progress,
            index=index,
            indexer_from=indexer_from,
        )

    def add_papers(
        self,
        records: Iterable[Record],
        progress: Progress | None = None,
        *,
        index: bool = True,
        indexer_from: int | None = None,
    ) -> ImportReport:
        """Merge records into the library, a batch at a time: each batch lands whole or not at all.

        Each batch's new and changed papers are marked unindexed in the batch's transaction,
        then indexed. `index=False` leaves them to the indexer; with `indexer_from`, a
        background indexer is started once that many papers wait, to index the rest of the
        import as it is written (on the other core: see search/stream.py)."""
        with importing(self.root):  # (the indexer waits for our next batch meanwhile)
            report = self._add_batches(records, progress, indexer_from)
        if index and self.records.unindexed_count():
            self.run_indexer()
        return report

    def _add_batches(
        self, records: Iterable[Record], progress: Progress | None, indexer_from: int | None
    ) -> ImportReport:
        report = ImportReport()
        seen = 0
        started = indexer_from is None
        for chunk in _chunks(records, BATCH):
            changed: dict[str, Paper] = {}  # by id: one batch may hold the same paper twice
            with self.records.batch():
                for record in chunk:
                    if isinstance(record, Skipped):
                        report.skipped += 1
                        if len(report.problems) < MAX_PROBLEMS:
                            report.problems.append(str(record))
                        continue
                    bound_fields(record)  # a 50 MB abstract is cut, not indexed whole
                    existing = self.records.find_same(record)
                    if existing is None:
                        self.records.put(record)
                        changed[record.id] = record
                        report.added += 1
                        continue
                    merged = merge(existing, record)
                    if merged == existing:
                        report.unchanged += 1
                    else:
                        self.records.put(merged)
                        changed[merged.id] = merged
                        report.updated += 1
                self.records.mark_unindexed(changed)
            self._count = None
            self.papers_added()
            seen += len(chunk)
            if progress:
                progress(seen, None)
            if not started and self.records.unindexed_count() >= indexer_from:  # type: ignore[operator]
                started = self.indexer.holder() is not None or self.start_indexer()
        return report

    def _seed(self, progress: Progress | None = None, *, index: bool = True) -> None:
        path = sample_path()
        if path.exists():
            self.add_papers(
                importers.read_records(path, "hfpage", reference=SAMPLE_REFERENCE_DATE),
                index=False,
            )
        self.records.set_meta("seeded", "1")
        if index:
            self.run_indexer(progress)

    # -- export ----------------------------------------------------------------------------------
    def select(
        self, *, query: str = "", bookmarked: bool = False, tag: str | None = None
    ) -> Iterator[Paper]:
        """Papers matching the filters, streamed (all papers when no filter is given)."""
        filters = []
        if bookmarked:
            filters.append("is:bookmarked")
        if tag:
            filters.append(f'tags:"{tag}"')
        if not query and not filters:
            yield from self.records.iter_all()
            return
        result = self.index.search(
            query, limit=10**9, filter_text=" AND ".join(filters), sort="relevance", correct=False
        )
        ids = [h.id for h in result.hits]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found = self.records.get_many(chunk)
            yield from (found[i] for i in chunk if i in found)

    # -- undo ------------------------------------------------------------------------------------
    def restore_user(self, paper_id: str, user: UserData) -> UserData:
        """Put a paper's bookmark, read state, tags and note back as `user` holds them (an
        undo or redo from core/undo.py), saved and indexed like any other change."""

        def change(current: UserData) -> None:
            current.bookmarked = user.bookmarked
            current.state = user.state
            current.tags = list(user.tags)
            current.note = (
                Note(text=user.note.text, created=user.note.created, updated=now())
                if user.note is not None and user.note.text.strip()
                else None
            )

        return self._change(paper_id, change)


def _chunks(items: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
