"""The bulk catch-up: a large backlog of the queue (an import, perhaps still being written)
indexed by worker processes as the papers arrive, committed a segment at a time.

The import writes its records a batch at a time and marks them in the queue; the indexer
reads the marks after its cursor, sends the papers to its workers (workers.py) and commits
each segment they write, deleting older documents of the same papers, then clears the marks
that segment holds. Indexing thus runs beside the import rather than after it, on both cores.
While an import holds its signal (import_signal.py) the workers wait for its next batch; when
nothing more comes, they write what they hold and the job ends.

The workers read the papers from the records themselves (PaperLoader): this process sends
only ids, with the user's data of each. (Reading, converting and pickling 1,000,000 papers
here grew this process to 136 MB while it fed the workers; their own memory is freed with
each segment they write.)

The user's saves (kind "user") are applied on their own every USER_EVERY seconds, as in any
long job; a save of a paper that is with the workers waits for that paper's segment, so that
the segment (built from the paper as it was) cannot overwrite the save.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from whoosh import index as whoosh_index

from paperreader.core.fulltext.latex import to_unicode
from paperreader.core.import_signal import import_running
from paperreader.core.records import Records
from paperreader.core.search import commit, workers
from paperreader.core.search.schema import document

if TYPE_CHECKING:
    from collections.abc import Iterable

    from paperreader.core.models import Paper, UserData
    from paperreader.core.search.lease import Lease


class Holder(Protocol):
    """What the catch-up needs of the indexer that runs it (indexer.Indexer)."""

    root: Path
    records: Records
    index: Any
    lease: Lease

    def users(self) -> dict[str, UserData]: ...
    def apply(self, marks: list[tuple[int, str]]) -> int: ...
    def user_of(self, paper_id: str) -> UserData | None: ...
    def reload(self, ids: list[str]) -> Iterable[tuple[Paper, UserData | None]]: ...


STREAM_FOLDER = "index.stream"  # beside the index: where the workers write their segments
USER_EVERY = 1.0  # seconds between passes over the user's saves
IDLE_WAIT = 0.1  # seconds between looks at the queue while an import writes its next batch
PROGRESS_EVERY = 1.0  # seconds between progress reports (counting the queue costs a scan)


def stream_folder(index_path: Path) -> Path:
    return index_path.with_name(STREAM_FOLDER)


class PaperLoader:
    """In a worker: a chunk of (paper id, the user's data) made documents, the papers read
    from the records through the worker's own connection (an inherited one is the
    indexer's: SQLite's connections must not cross a fork), with their full text."""

    def __init__(self, records_path: Path, with_text: Callable[..., Iterable[Any]]) -> None:
        self.records_path = records_path
        self.with_text = with_text
        self._records: Records | None = None
        # The LaTeX converter loaded here, before the workers are forked: shared by them, not
        # loaded by each in the middle of a segment (its objects then kept the arenas they
        # were made in, among the segment's, resident).
        to_unicode("$\\alpha^2$ \\emph{x}")

    def __call__(self, chunk: list[tuple[str, UserData | None]]) -> list[dict[str, object]]:
        if self._records is None:
            self._records = Records(self.records_path, create=False)
        found = self._records.get_many([paper_id for paper_id, _ in chunk])
        papers = ((found[i], user) for i, user in chunk if i in found)  # (in the order sent)
        return [document(paper, user) for paper, user in self.with_text(papers)]


class BulkCatchUp:
    """One run of the bulk catch-up for `indexer` (which holds the lease)."""

    def __init__(
        self,
        indexer: Holder,
        procs: int,
        progress: Callable[[int, int | None], None] | None,
        should_stop: Callable[[], bool],
    ) -> None:
        self.indexer = indexer
        self.records = indexer.records
        self.index = indexer.index
        self.procs = procs
        self.progress = progress
        self.should_stop = should_stop
        self.folder = stream_folder(Path(self.index.path))
        self.inflight: dict[str, int] = {}  # paper id -> the seq of its mark, sent not committed
        self.known = commit.IndexedIds()  # the ids the index may hold (run() reads them)
        self.done = 0
        self._users = dict(indexer.users())
        self._last_user_pass = time.monotonic()
        self._last_progress = 0.0

    def run(self) -> int:
        """Index the queue's papers (not the user's saves: the catch-up after takes those)
        until it is empty and no import is running. Returns the papers committed."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir()  # not parents: a library deleted meanwhile is not made again
        whoosh_index.create_in(str(self.folder), self.index.schema)
        try:
            self.known = self.index.indexed_ids()
            load = PaperLoader(self.records.path, self.index.with_text)
            with workers.Workers(str(self.folder), self.procs, load) as pool:
                self._fold_ahead(pool)
                self._feed(pool)
                if not self.should_stop():
                    self._commit(pool.flush(last=True))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        return self.done

    def _feed(self, pool: workers.Workers) -> None:
        cursor = 0
        root = self.indexer.root
        while not self.should_stop():
            self._commit(pool.take())
            self._user_pass()
            found = self.records.pending_after(cursor, workers.FEED_CHUNK)
            if found:
                cursor = found[-1][0]
                # A paper marked again while the workers have it waits (its mark stays) for
                # the look after the last flush: its segment must be committed first.
                marks = [m for m in found if m[1] not in self.inflight]
                if marks:
                    self._send(pool, marks)
                continue
            if import_running(root):
                time.sleep(IDLE_WAIT)  # the import is writing its next batch
                continue
            # Nothing more now: what the workers hold is committed, then one more look.
            self._commit(pool.flush())
            # Every mark up to the cursor was sent and is cleared now, but newer ones of a paper
            # (and, should a segment not have named a paper, that paper's: sent again).
            self.inflight.clear()
            cursor = 0
            if not self.records.pending_after(0, 1):
                return

    def _fold_ahead(self, pool: workers.Workers) -> None:
        """The small segments the first commit would fold in: their papers go to the workers
        too (no mark: seq 0), so that the commit only drops the emptied segments instead of
        indexing them in this process after the workers are done."""
        backlog = self.records.unindexed_count(but="user")
        ids = self.index.foldable_ids(backlog)
        for start in range(0, len(ids), workers.FEED_CHUNK):
            chunk = ids[start : start + workers.FEED_CHUNK]
            present = self.records.present(chunk)
            chunk = [paper_id for paper_id in chunk if paper_id in present]
            self.inflight.update((paper_id, 0) for paper_id in chunk)
            if chunk:
                pool.send([(i, self.indexer.user_of(i)) for i in chunk], chunk)

    def _send(self, pool: workers.Workers, marks: list[tuple[int, str]]) -> None:
        present = self.records.present([paper_id for _, paper_id in marks])
        gone = [(seq, i) for seq, i in marks if i not in present]  # (not a paper here)
        if gone:
            with self.records.batch():
                self.records.mark_indexed(gone)
        ids = []
        for seq, paper_id in marks:
            if paper_id in present:
                self.inflight[paper_id] = seq
                ids.append(paper_id)
        users = self._users
        if ids:
            pool.send([(paper_id, users.get(paper_id)) for paper_id in ids], ids)
        self._report(pool)

    def _commit(self, written: list[workers.Written]) -> None:
        if not written:
            return
        self.index.add_segments(self.folder, written, self.known.maybe)
        self.known.add(paper_id for w in written for paper_id in w.ids)
        marks = [(self.inflight.pop(i), i) for w in written for i in w.ids if i in self.inflight]
        marks = [(seq, paper_id) for seq, paper_id in marks if seq]  # (not the folded papers)
        with self.records.batch():
            self.records.mark_indexed(marks)
        self.done += len(marks)

    def _user_pass(self) -> None:
        """The user's saves since the last pass, but those of papers with the workers."""
        if time.monotonic() - self._last_user_pass < USER_EVERY:
            return
        self._last_user_pass = time.monotonic()
        marks = [m for m in self.records.pending(10_000, "user") if m[1] not in self.inflight]
        if marks:
            self.known.add(paper_id for _, paper_id in marks)  # (before: a superset always)
            self.indexer.apply(marks)
            for _, paper_id in marks:  # (later papers of the import: their data as saved)
                user = self.indexer.user_of(paper_id)
                if user is not None:
                    self._users[paper_id] = user

    def _report(self, pool: workers.Workers) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        sent = pool.sent
        total = sent + self.records.unindexed_count() - len(self.inflight)
        self.indexer.lease.progress(sent, total)
        if self.progress:
            self.progress(sent, total)
