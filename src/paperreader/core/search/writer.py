"""Every write to the index (made by the lease holder, see indexer.py): commits, the merge policy,
rebuild and swap, and cleaning what a killed writer left."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable
from itertools import chain, islice
from pathlib import Path

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.models import Paper, UserData
from paperreader.core.search.schema import SCHEMA_VERSION, document

WRITER_ARGS: dict[str, object] = {"limitmb": 128}
# A rebuild of at least this many papers runs in parallel processes (see rebuild()).
PARALLEL_REBUILD_FROM = 5000
MAX_REBUILD_PROCS = 2
# A rebuild commits a segment set every REBUILD_CHUNK papers. Whoosh's final postings write
# grows faster than the papers: 100,000 papers build in ~5 min, but one writer for 1,000,000
# spent 43 min adding and over an hour in the final write (36 GB of temporary runs).
# Chunks keep the rebuild linear and its temporary files small.
REBUILD_CHUNK = 100_000
SMALL_MERGE_DOCS = 10_000  # a commit merges at most this many papers' older segments
# Threads that hold no lock a forked child could need: the lease's heartbeat, the watchdog.
QUIET_THREADS = ("paperreader-lease", "paperreader-watchdog")
WATCH_EVERY = 1.0  # seconds between the watchdog's looks at a parallel rebuild's workers


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
    watchdog = _Watchdog(writer)
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
                watchdog.writer = writer
        writer.commit(merge=False)
    except BaseException:
        # Committed chunks stay in the .new folder: the next rebuild clears it.
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cancel()
        raise
    finally:
        watchdog.stop()
    with ix.searcher() as searcher:  # a worker that died at the very end loses its segment
        if searcher.doc_count() != count:
            raise IndexDamaged(
                f"{fresh}: the rebuild indexed {searcher.doc_count()} of {count} papers "
                "(an indexing worker died); it starts again with the next indexer"
            )
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
    others = [t for t in threading.enumerate() if t.name not in QUIET_THREADS]
    if head < PARALLEL_REBUILD_FROM or procs < 2 or len(others) > 1:
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


class _Watchdog:
    """Ends the process when a parallel rebuild's worker dies: Whoosh's MpWriter would wait
    for its result for ever (seen: indexers left hanging on a futex). One line goes to the
    log; the lease dies with the process, and the next indexer starts the rebuild again."""

    def __init__(self, writer) -> None:  # type: ignore[no-untyped-def]
        self.writer = writer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if hasattr(writer, "tasks"):  # a parallel writer (its workers start with the first batch)
            self._thread = threading.Thread(
                target=self._watch, name="paperreader-watchdog", daemon=True
            )
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY):
            for task in list(getattr(self.writer, "tasks", None) or ()):
                code = task.exitcode
                if code not in (None, 0):
                    print(
                        f"paperreader: an indexing worker died (exit {code}); the rebuild "
                        "starts again with the next indexer",
                        file=sys.stderr,
                        flush=True,
                    )
                    for other in self.writer.tasks:
                        with contextlib.suppress(Exception):
                            other.kill()
                    os._exit(75)

    def stop(self) -> None:
        self._stop.set()


def clean_leftovers(path: Path) -> None:
    """Files in the index folder that its TOC does not name: the segments and temporary
    runs of a writer that was killed before it committed."""
    if not whoosh_index.exists_in(str(path)):
        return
    ix = whoosh_index.open_dir(str(path))
    try:
        toc = ix._read_toc()
        whoosh_index.clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
    finally:
        ix.close()
