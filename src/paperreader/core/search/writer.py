"""Every write to the index: the background write queue, commits, the merge policy, rebuild and swap."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from itertools import chain, islice
from pathlib import Path

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.models import Paper, UserData
from paperreader.core.search.schema import SCHEMA_VERSION, document

WRITER_ARGS: dict[str, object] = {"limitmb": 128}
COMMIT_COALESCE = 0.5  # seconds a background commit waits for more saves (see _WriteQueue)
# A rebuild of at least this many papers runs in parallel processes (see rebuild()).
PARALLEL_REBUILD_FROM = 5000
MAX_REBUILD_PROCS = 2
# A rebuild commits a segment set every REBUILD_CHUNK papers. Whoosh's final postings write
# grows faster than the papers: 100,000 papers build in ~5 min, but one writer for 1,000,000
# spent 43 min adding and over an hour in the final write (36 GB of temporary runs).
# Chunks keep the rebuild linear and its temporary files small.
REBUILD_CHUNK = 100_000
SMALL_MERGE_DOCS = 10_000  # a commit merges at most this many papers' older segments


def merge_small_segments(writer, segments: list) -> list:  # type: ignore[no-untyped-def,type-arg]
    """A commit's merge policy: fully deleted segments are dropped, and the smallest ones
    merged into the new segment while each is no bigger than what is merged so far (the new
    papers included) and at most SMALL_MERGE_DOCS papers are moved. Like a binary counter: a
    paper is rewritten about log2(n) times, and there are about log2(n) small segments.

    Whoosh's MERGE_SMALL merges every segment up to the first whose running total is below
    a Fibonacci number of its rank: at 1,000,000 papers (20 segments of 50,000) a few
    segments left by saves passed that bound, and one bookmark's commit set out to rewrite
    the whole index (hours, with every search waiting for it)."""
    from whoosh.reading import SegmentReader

    total = max(1, writer.docnum - writer.docbase)  # the commit's own papers
    moved = 0
    merged: list = []  # type: ignore[type-arg]
    for segment in sorted(segments, key=lambda seg: seg.doc_count()):
        live = segment.doc_count()
        if live and (live > total or moved + live > SMALL_MERGE_DOCS):
            break
        if live:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        merged.append(segment)
        total += live
        moved += live
    return [seg for seg in segments if seg not in merged]


class _WriteQueue:
    """Documents waiting for a background commit to one index folder, by paper id.

    One queue per folder per process, so that every SearchIndex of that folder (a second
    Library instance, a CLI command run in-process) sees the writes in order."""

    _all: dict[str, _WriteQueue] = {}
    _all_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.docs: dict[str, dict[str, object]] = {}
        self.cv = threading.Condition()
        self.thread: threading.Thread | None = None
        self.busy = False
        self.waiting = 0  # readers in flush(): commit at once
        self.error: BaseException | None = None
        self.on_error: Callable[[BaseException], None] | None = None

    @classmethod
    def for_path(cls, path: Path) -> _WriteQueue:
        key = str(Path(path).resolve())
        with cls._all_lock:
            if not cls._all:  # the first queue: wait for the queued writes at exit
                atexit.register(cls.flush_all)
            if key not in cls._all:
                cls._all[key] = cls(Path(key))
            return cls._all[key]

    def put(
        self, docs: list[dict[str, object]], on_error: Callable[[BaseException], None] | None
    ) -> None:
        with self.cv:
            if on_error is not None:
                self.on_error = on_error
            for doc in docs:
                self.docs[str(doc["id"])] = doc  # a newer save of a paper replaces the older
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="paperreader-index-writer", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        while True:
            with self.cv:
                # Saves in a burst (tagging papers one after another) wait for each other, so
                # that a commit's segment write does not land between them: on ext4 a save's
                # fsync then waited for the segment's data too (50-150 ms instead of 3 ms).
                # A read (flush) does not wait.
                deadline = time.monotonic() + COMMIT_COALESCE
                while self.docs and not self.waiting and time.monotonic() < deadline:
                    self.cv.wait(max(0.0, deadline - time.monotonic()))
                if not self.docs:
                    self.thread = None
                    self.cv.notify_all()
                    return
                docs = list(self.docs.values())
                self.docs.clear()
                self.busy = True
            try:
                self._commit(docs)
            except BaseException as exc:  # kept for the next flush() to raise
                self.error = IndexDamaged(
                    f"{self.path}: the search index failed ({type(exc).__name__}: "
                    f"{str(exc)[:120]}); it is rebuilt when paperreader next starts"
                )
                if self.on_error is not None:
                    with contextlib.suppress(Exception):
                        self.on_error(exc)
            with self.cv:
                self.busy = False
                self.cv.notify_all()

    def _commit(self, docs: list[dict[str, object]]) -> None:
        ix = whoosh_index.open_dir(str(self.path))  # the folder's current index (rebuilds swap it)
        try:
            writer = ix.writer(timeout=10.0, **WRITER_ARGS)
            try:
                for doc in docs:
                    writer.update_document(**doc)
                writer.commit(mergetype=merge_small_segments)
            except BaseException:
                writer.cancel()
                raise
        finally:
            ix.close()

    def flush(self) -> None:
        if not (self.docs or self.busy or self.error):
            return
        with self.cv:
            self.waiting += 1
            self.cv.notify_all()  # the writer commits now instead of waiting for more
            try:
                while self.docs or self.busy:
                    self.cv.wait()
            finally:
                self.waiting -= 1
            error, self.error = self.error, None
        if error is not None:
            raise error

    @classmethod
    def flush_all(cls) -> None:
        for queue in list(cls._all.values()):
            with contextlib.suppress(Exception):
                queue.flush()


def rebuild(  # type: ignore[no-untyped-def]
    path: Path,
    schema,
    items: Iterable[tuple[Paper, UserData | None]],
    progress: Callable[[int], None] | None,
    before_swap: Callable[[], None],
) -> tuple[whoosh_index.Index, int]:
    """Build a fresh index beside the one in `path`, call `before_swap` (which closes the
    old one), then swap the fresh one in; returns it opened, and the papers it holds."""
    fresh = path.with_name(path.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    ix = whoosh_index.create_in(str(fresh), schema)
    count = 0
    items = iter(items)
    head = list(islice(items, PARALLEL_REBUILD_FROM))
    writer_args = rebuild_writer_args(len(head))
    writer = ix.writer(**writer_args)
    try:
        for paper, user in chain(head, items):
            writer.add_document(**document(paper, user))
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
            if count % REBUILD_CHUNK == 0:
                writer.commit(merge=False)  # merging would redo the work chunks avoid
                writer = None
                writer = ix.writer(**writer_args)
        writer.commit(merge=False)
    except BaseException:
        # Committed chunks stay in the .new folder: the next rebuild clears it.
        if writer is not None:
            writer.cancel()
        raise
    (fresh / "paperreader-schema").write_text(SCHEMA_VERSION)
    before_swap()
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    fresh.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return whoosh_index.open_dir(str(path)), count


def rebuild_writer_args(head: int) -> dict[str, object]:
    """A large rebuild indexes in one process per core (about 2x on 2 cores) and keeps
    their segments as they are (merging them would cost what the second core saved).
    Only from a single-threaded process: forking beside the UI's threads is not safe."""
    procs = min(MAX_REBUILD_PROCS, os.cpu_count() or 1)
    if head < PARALLEL_REBUILD_FROM or procs < 2 or threading.active_count() > 1:
        return {**WRITER_ARGS, "limitmb": 256}
    return {**WRITER_ARGS, "procs": procs, "multisegment": True, "batchsize": 256}


def upsert(  # type: ignore[no-untyped-def]
    ix, lock: threading.Lock, items: Iterable[tuple[Paper, UserData | None]]
) -> int:
    """Add or replace documents in one commit."""
    count = 0
    with lock:
        writer = ix.writer(timeout=10.0, **WRITER_ARGS)
        try:
            for paper, user in items:
                writer.update_document(**document(paper, user))
                count += 1
            # Merge small segments: without it every bookmark or tag edit left one more
            # segment and searches slowed with each edit (60 edits: 2 ms -> 40 ms on
            # the sample).
            writer.commit(mergetype=merge_small_segments)
        except BaseException:
            writer.cancel()
            raise
    return count


def optimize(ix, lock: threading.Lock) -> None:  # type: ignore[no-untyped-def]
    """Merge the index into one segment."""
    with lock:
        ix.writer(**WRITER_ARGS).commit(optimize=True)
