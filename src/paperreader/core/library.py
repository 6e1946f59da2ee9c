"""The one facade over records, store and index that the CLI and the UI both use."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path

from filelock import FileLock, Timeout

from paperreader.core import importers
from paperreader.core.errors import QueryError, StoreError, UnknownPaper
from paperreader.core.importers.base import Record, Skipped
from paperreader.core.index import IndexDamaged, SearchIndex
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
from paperreader.core.store import Store, normalise_tags, now
from paperreader.core.text import bound_fields

Progress = Callable[[int, int | None], None]
SAMPLE_FILE = "hf-daily-papers.txt"
# The sample page shows "Mar 11" without a year; it was shipped in 2026.
SAMPLE_REFERENCE_DATE = date(2026, 11, 26)
BATCH = 2000
# Papers an import left unindexed: up to this many are indexed when the library opens (an
# import cut short; a second or two), more are left to catch_up() in the background.
CATCH_UP_AT_OPEN = 500
CATCH_UP_BATCH = 1000  # papers per index commit while catching up (~4 s of Whoosh)
PARALLEL_CATCH_UP_FROM = 5000
MAX_PROBLEMS = 10
MAX_QUERY = 1000
VIEWS = {
    "all": "",
    "bookmarked": "is:bookmarked",
    "unread": "is:unread",
    "reading": "is:reading",
    "read": "is:read",
    "notes": "has:note",
    "tagged": "has:tags",
}


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


class Library:
    """A library folder: `papers.db` (records), `store/` (the user's YAML), `index/` (cache)."""

    def __init__(
        self,
        root: Path,
        *,
        seed: bool = True,
        on_message: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._say = on_message or (lambda _msg: None)
        self.records = Records(self.root / "papers.db")
        self.store = Store(self.root / "store")
        self.index = SearchIndex(self.root / "index")
        self._users: dict[str, UserData] | None = None
        self._count: int | None = None
        self._users_lock = threading.Lock()
        self.store_problems: list[str] = []
        fresh = self.records.count() == 0 and not self.records.get_meta("seeded")
        why = self.index.open()
        if why is None and self.records.get_meta("index_pending"):
            why = "the search index missed an update"
        unindexed = self.records.unindexed_count() if why is None else 0
        # With papers still to index (a large import's), the counts differ by design.
        if why is None and not unindexed and self.index.doc_count() != self.records.count():
            why = "the search index is out of step with the library"
        if why:
            if not fresh:
                self._say(f"{why}; rebuilding it (your notes and bookmarks are safe)")
            self.reindex(progress)
        else:
            self.sync_store()
            if 0 < unindexed <= CATCH_UP_AT_OPEN:  # an import cut short: seconds at most
                self.catch_up()
        if fresh and seed:
            self._seed()

    def close(self) -> None:
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
        paper = self.get(paper_id)
        user = self.store.update(paper.id, change, title=paper.title)
        self.users()[paper.id] = user
        try:  # committed in the background; every search waits for it
            self.index.upsert_soon([(paper, user)], on_error=self._index_missed)
        except IndexDamaged as exc:  # the change is saved; the index is a cache
            self.records.set_meta("index_pending", "1")
            self._say(f"saved, but {exc}")
        return user

    def _index_missed(self, _exc: BaseException) -> None:
        self.records.set_meta("index_pending", "1")  # the next start rebuilds the index

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
        if not query.strip() and not view_filter(view) and sort in ("relevance", "newest"):
            return self._newest(offset, limit)
        return self.index.search(
            query,
            offset=offset,
            limit=limit,
            sort=sort,
            filter_text=view_filter(view),
            partial_last=partial_last,
            correct=correct,
        )

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
        self.index.flush()  # a failed background save surfaces here as it would in a search
        users = self.users()
        # Page 0 starts a listing: count afresh (another instance may have imported). Later
        # pages page through that listing (a count is ~40 ms at 1,000,000 papers).
        total = self.count(fresh=offset == 0)
        hits = []
        for paper in self.records.newest(offset, limit, total=total):
            user = users.get(paper.id)
            hits.append(
                Hit(
                    id=paper.id,
                    title=paper.title,
                    first_author=paper.first_author,
                    published=paper.published,
                    score=0.0,
                    bookmarked=bool(user and user.bookmarked),
                    has_note=bool(user and user.note and user.note.text.strip()),
                    state=user.state if user else ReadState.UNREAD,
                    tags=list(user.tags) if user else [],
                )
            )
        return SearchResult(
            query="",
            total=total,
            hits=hits,
            offset=offset,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def spans(self, text: str, field: str, result: SearchResult) -> list[tuple[int, int]]:
        return self.index.spans(text, field, result.terms)

    def matches(self, paper: Paper, result: SearchResult) -> dict[str, list[tuple[int, int]]]:
        """Where the result's query matched this paper, by field."""
        found = {}
        for field, text in (("title", paper.title), ("abstract", paper.abstract)):
            spans = self.index.spans(text, field, result.terms)
            if spans:
                found[field] = spans
        return found

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
        **options: object,
    ) -> ImportReport:
        return self.add_papers(
            importers.read_records(Path(path), fmt, **options), progress=progress, index=index
        )

    def add_papers(
        self, records: Iterable[Record], progress: Progress | None = None, *, index: bool = True
    ) -> ImportReport:
        """Merge records into the library, a batch at a time: each batch lands whole or not at all.

        Each batch's new and changed papers are marked unindexed in the batch's transaction,
        then indexed. `index=False` leaves them to `catch_up()`: records are written at
        ~1,700 papers/s, Whoosh indexes ~250/s, so a large import need not wait for it."""
        report = ImportReport()
        seen = 0
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
            if changed and index:
                self._index_papers(list(changed.values()))
            seen += len(chunk)
            if progress:
                progress(seen, None)
        return report

    def _index_papers(self, papers: list[Paper], ids: list[str] | None = None) -> None:
        """Index `papers`, then clear their unindexed marks (or those of `ids`, which may
        name papers gone since they were marked: nothing to index for those)."""
        users = self.users()
        self.index.upsert((p, users.get(p.id)) for p in papers)
        with self.records.batch():
            self.records.mark_indexed(ids if ids is not None else [p.id for p in papers])

    def unindexed_count(self) -> int:
        """Papers in the library that searches do not find yet (see catch_up)."""
        return self.records.unindexed_count()

    def catch_up(
        self,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        wait: bool = False,
    ) -> int:
        """Index the papers an import left unindexed, one commit per CATCH_UP_BATCH papers
        (between commits a save's index update gets its turn). Resumable: a stop or a crash
        leaves the rest marked. Only one process catches up at a time: without `wait` this
        returns 0 at once when another one is at it. Returns the papers indexed here."""
        lock = FileLock(str(self.root / "index-catch-up.lock"))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            return 0
        try:
            total = self.records.unindexed_count()
            if (
                total >= PARALLEL_CATCH_UP_FROM
                and 2 * total >= self.records.count()
                and threading.active_count() == 1
            ):
                # Most of the library is new: one rebuild in two processes (~2.5x the rate of
                # batches, see SearchIndex.rebuild); only where no other thread runs.
                self.reindex(progress)
                return total
            done = 0
            while not (should_stop and should_stop()):
                ids = self.records.unindexed(CATCH_UP_BATCH)
                if not ids:
                    break
                self._index_papers(list(self.records.get_many(ids).values()), ids)
                done += len(ids)
                if progress:
                    progress(done, total)
            return done
        finally:
            lock.release()

    def _seed(self) -> None:
        path = sample_path()
        if path.exists():
            self.add_papers(importers.read_records(path, "hfpage", reference=SAMPLE_REFERENCE_DATE))
        self.records.set_meta("seeded", "1")

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

    # -- maintenance -----------------------------------------------------------------------------
    def reindex(self, progress: Progress | None = None) -> int:
        total = self.records.count()
        started = self.store.latest_change()
        users = self.users()
        self.records.set_meta("index_pending", "1")
        count = self.index.rebuild(
            ((p, users.get(p.id)) for p in self.records.iter_all()),
            progress=(lambda n: progress(n, total)) if progress else None,
        )
        # A save made while the new index was built may have gone to the old one.
        late = []
        for path in self.store.changed_since(started):
            with contextlib.suppress(StoreError):  # a broken file is reported by the scan
                if data := self.store.read_file(path):
                    late.append(data)
        if late:
            found = self.records.get_many([u.paper_id for u in late])
            by_id = {u.paper_id: u for u in late}
            self.index.upsert((p, by_id[p.id]) for p in found.values())
        self.records.set_meta("index_pending", "")
        self.records.clear_unindexed()
        self.records.set_meta("store_synced", str(self.store.latest_change()))
        return count

    def sync_store(self) -> int:
        """Bring hand edits of the YAML (or another instance's saves) into the index."""
        stamp = float(self.records.get_meta("store_synced") or 0)
        changed = self.store.changed_since(stamp)
        if not changed and stamp:
            return 0
        found, problems = self.store.scan()
        with self._users_lock:
            previous = self._users or {}
            self._users = found
            self.store_problems = [str(p) for p in problems]
        stale = {u.paper_id for u in found.values()} ^ set(previous) if previous else set(found)
        stale |= {uid for uid, u in found.items() if previous.get(uid) != u}
        papers = self.records.get_many(sorted(stale))
        if papers:
            self.index.upsert((p, found.get(p.id)) for p in papers.values())
        self.records.set_meta("store_synced", str(self.store.latest_change()))
        return len(papers)

    def backup(self, reason: str) -> Path:
        """Copy the store to `<lib>/backups/` before a destructive step (last 10 kept)."""
        return self.store.backup(reason)

    def backups(self) -> list[str]:
        """Names of the store backups, oldest first (for `paperreader check --restore NAME`)."""
        return [p.name for p in self.store.backups()]

    def restore_backup(self, name: str) -> int:
        """Put the store back as backup `name` holds it (the current state is backed up first)
        and bring the index in step. Returns how many papers' files were restored."""
        self.users()  # know the papers that had data, so the ones the restore drops re-index
        restored = self.store.restore(name)
        self.records.set_meta("store_synced", "")
        self.sync_store()
        return restored

    def check(self) -> list[str]:
        """Problems with the store and the index, one line each (empty when all is well)."""
        problems = []
        _, bad = self.store.scan()
        problems.extend(str(p) for p in bad)
        records = self.records.count()
        indexed = self.index.doc_count()
        waiting = self.records.unindexed_count()
        if waiting:  # an import's papers still being indexed: not damage, but say so
            problems.append(
                f"{self.index.path}: {waiting} imported papers are not searchable yet; "
                "`paperreader index` indexes them"
            )
        elif indexed != records:
            problems.append(
                f"{self.index.path}: indexes {indexed} papers, the library has {records}"
            )
        users, _ = self.store.scan()
        for paper_id in users:
            if self.records.get(paper_id) is None:
                problems.append(
                    f"{self.store.path_for(paper_id)}: notes for {paper_id!r}, "
                    "which is not in the library (kept; import the paper to see them)"
                )
        return problems

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
