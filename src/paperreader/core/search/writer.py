"""Whole-index writes (made by the lease holder, see indexer.py): the rebuild and its swap,
optimize, and cleaning what a killed writer left. Commits of saves and catch-ups: commit.py."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable
from itertools import chain, islice
from pathlib import Path

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.models import Paper, UserData
from paperreader.core.search import bulk, commit, journal, workers
from paperreader.core.search.schema import SCHEMA_VERSION, document

WRITER_ARGS: dict[str, object] = {"limitmb": 128}
# A rebuild of at least this many papers runs in parallel processes (see rebuild()).
PARALLEL_REBUILD_FROM = 1000
MAX_REBUILD_PROCS = 2
# Threads that hold no lock a forked child could need: the lease's heartbeat.
QUIET_THREADS = ("paperreader-lease",)


def rebuild(  # type: ignore[no-untyped-def]
    path: Path,
    schema,
    items: Iterable[tuple[Paper, UserData | None]],
    progress: Callable[[int], None] | None,
    before_swap: Callable[[], None],
    upto: int = 0,
) -> tuple[whoosh_index.Index, int]:
    """Build a fresh index beside the one in `path`, call `before_swap` (which closes the
    old one), then swap the fresh one in; returns it opened, and the papers it holds.

    Segments are written in bulk (bulk.py): in one worker process per core for a large
    rebuild, each writing segments of SEGMENT_DOCS papers, committed together in one TOC.
    Each finished segment is noted in a journal (journal.py): a rebuild cut short (killed, a
    worker dead) is resumed by the next one from its last finished segments. `upto` is the
    queue mark the rebuild started from, kept in the journal for the one that resumes."""
    fresh = path.with_name(path.name + ".new")
    done = journal.load(fresh, SCHEMA_VERSION)
    if done is None:
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()  # not parents: a library deleted meanwhile is not made again
        ix = whoosh_index.create_in(str(fresh), schema)
        done = journal.start(fresh, SCHEMA_VERSION, upto)
    else:  # the segments the cut-short rebuild finished: in the TOC (their leftovers cleaned)
        ix = whoosh_index.open_dir(str(fresh))
        commit.commit(ix, lambda _: list(done.segments))
    items = iter(items)
    head = list(islice(items, PARALLEL_REBUILD_FROM))
    procs = rebuild_procs(len(head))
    docs = (
        doc
        for doc in (document(paper, user) for paper, user in chain(head, items))
        if not done.holds(str(doc["id"]))
    )
    if procs > 1:
        segments, count = _build_in_workers(fresh, docs, procs, progress, done)
    else:
        segments, count = _build_here(ix, docs, progress, done)
    count += done.count
    commit.commit(ix, lambda _: segments)
    with ix.searcher() as searcher:  # a segment lost on the way: never swapped in
        if searcher.doc_count() != count:
            raise IndexDamaged(
                f"{fresh}: the rebuild indexed {searcher.doc_count()} of {count} papers "
                "(an indexing worker died); it starts again with the next indexer"
            )
    (fresh / "paperreader-schema").write_text(SCHEMA_VERSION)
    journal.remove(fresh)
    before_swap()
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    fresh.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return whoosh_index.open_dir(str(path)), count


def rebuild_procs(head: int) -> int:
    """A large rebuild indexes in one process per core (about 2x on 2 cores)."""
    return 1 if head < PARALLEL_REBUILD_FROM else fork_procs()


def fork_procs() -> int:
    """Worker processes this process may fork: one per core, only from a single-threaded
    process (forking beside the UI's threads is not safe); 1 means none."""
    procs = min(MAX_REBUILD_PROCS, os.cpu_count() or 1)
    others = [t for t in threading.enumerate() if t.name not in QUIET_THREADS]
    return 1 if procs < 2 or len(others) > 1 else procs


def _build_here(ix, docs: Iterable[dict[str, object]], progress, done) -> tuple[list, int]:  # type: ignore[no-untyped-def]
    """Segments of SEGMENT_DOCS papers written by this process (each noted in the journal)."""
    segments = []
    count = 0
    codec = workers.codec()
    builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname)
    ranges = journal.Ranges()
    for doc in docs:
        builder.add(doc)
        ranges.add(str(doc["id"]))
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
        if len(builder) >= workers.SEGMENT_DOCS:
            segments.append(done.finished(builder.write(), ranges.take()))
            builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname, builder)
    if len(builder):
        segments.append(done.finished(builder.write(), ranges.take()))
    return segments, count


def _build_in_workers(  # type: ignore[no-untyped-def]
    folder: Path, docs: Iterable[dict[str, object]], procs: int, progress, done
) -> tuple[list, int]:
    """Documents sent to `procs` worker processes a chunk at a time, in turn; each writes
    its segments into `folder` (each noted in the journal as it comes)."""
    segments: list = []  # type: ignore[type-arg]
    count = 0
    with workers.Workers(str(folder), procs) as pool:

        def note(written: list[workers.Written]) -> None:
            segments.extend(done.finished(w.segment, w.ranges) for w in written)

        chunk: list[dict[str, object]] = []
        for doc in docs:
            chunk.append(doc)
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
            if len(chunk) >= workers.FEED_CHUNK:
                pool.send(chunk)
                note(pool.take())
                chunk = []
        if chunk:
            pool.send(chunk)
        note(pool.flush(last=True))
    return segments, count


def optimize(ix, lock: threading.Lock) -> None:  # type: ignore[no-untyped-def]
    """Merge the index into one segment."""
    with lock:
        ix.writer(**WRITER_ARGS).commit(optimize=True)


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
