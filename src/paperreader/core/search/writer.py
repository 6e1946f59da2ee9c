"""Every write to the index (made by the lease holder, see indexer.py): commits, the merge policy,
rebuild and swap, and cleaning what a killed writer left."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import shutil
import sys
import threading
from collections.abc import Callable, Iterable
from itertools import chain, islice
from pathlib import Path

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.models import Paper, UserData
from paperreader.core.search import bulk, journal
from paperreader.core.search.schema import SCHEMA_VERSION, document

WRITER_ARGS: dict[str, object] = {"limitmb": 128}
# A rebuild of at least this many papers runs in parallel processes (see rebuild()).
PARALLEL_REBUILD_FROM = 5000
MAX_REBUILD_PROCS = 2
# A rebuild's worker writes a segment every SEGMENT_DOCS papers (its postings are kept in
# memory until then), as Whoosh's multisegment writer left 1,000,000 papers in 20 segments.
SEGMENT_DOCS = 50_000
FEED_CHUNK = 500  # papers sent to a worker at a time
SMALL_MERGE_DOCS = 10_000  # a commit merges at most this many papers' older segments
# Threads that hold no lock a forked child could need: the lease's heartbeat.
QUIET_THREADS = ("paperreader-lease",)
WATCH_EVERY = 1.0  # seconds between looks at a parallel rebuild's workers (are they alive?)


def merge_small_segments(writer, segments: list, added: int = 0) -> list:  # type: ignore[no-untyped-def,type-arg]
    """A commit's merge policy: fully deleted segments are dropped, and the smallest ones
    merged into the new segment while each is no bigger than what is merged so far (the new
    papers included) and at most SMALL_MERGE_DOCS papers are moved. Like a binary counter: a
    paper is rewritten about log2(n) times, and there are about log2(n) small segments.

    Whoosh's MERGE_SMALL merges every segment up to the first whose running total is below
    a Fibonacci number of its rank: at 1,000,000 papers (20 segments of 50,000) a few
    segments left by saves passed that bound, and one bookmark's commit set out to rewrite
    the whole index (hours, with every search waiting for it)."""
    from whoosh.reading import SegmentReader

    total = max(1, writer.docnum - writer.docbase + added)  # the commit's own papers
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
        fresh.mkdir(parents=True)
        ix = whoosh_index.create_in(str(fresh), schema)
        done = journal.start(fresh, SCHEMA_VERSION, upto)
    else:  # the segments the cut-short rebuild finished: in the TOC (their leftovers cleaned)
        ix = whoosh_index.open_dir(str(fresh))
        _commit_segments(ix, done.segments)
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
    _commit_segments(ix, segments)
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
    """A large rebuild indexes in one process per core (about 2x on 2 cores). Only from a
    single-threaded process: forking beside the UI's threads is not safe."""
    procs = min(MAX_REBUILD_PROCS, os.cpu_count() or 1)
    others = [t for t in threading.enumerate() if t.name not in QUIET_THREADS]
    if head < PARALLEL_REBUILD_FROM or procs < 2 or len(others) > 1:
        return 1
    return procs


def _build_here(ix, docs: Iterable[dict[str, object]], progress, done) -> tuple[list, int]:  # type: ignore[no-untyped-def]
    """Segments of SEGMENT_DOCS papers written by this process (each noted in the journal)."""
    segments = []
    count = 0
    codec = _codec()
    builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname)
    ranges = journal.Ranges()
    for doc in docs:
        builder.add(doc)
        ranges.add(str(doc["id"]))
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
        if len(builder) >= SEGMENT_DOCS:
            segments.append(done.finished(builder.write(), ranges.take()))
            builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname, builder)
    if len(builder):
        segments.append(done.finished(builder.write(), ranges.take()))
    return segments, count


def _codec():  # type: ignore[no-untyped-def]
    from whoosh.codec import default_codec

    return default_codec()


def _build_in_workers(  # type: ignore[no-untyped-def]
    folder: Path, docs: Iterable[dict[str, object]], procs: int, progress, done
) -> tuple[list, int]:
    """Documents sent to `procs` worker processes a chunk at a time, in turn; each writes
    its segments into `folder` and sends them back. A worker that dies ends the rebuild
    with IndexDamaged (never a wait for ever, never a segment missing unnoticed)."""
    context = multiprocessing.get_context("fork")
    inboxes = [context.Queue(maxsize=4) for _ in range(procs)]
    outbox = context.Queue()
    workers = [
        context.Process(
            target=_worker, args=(str(folder), inbox, outbox), name=f"paperreader-index-{i}"
        )
        for i, inbox in enumerate(inboxes)
    ]
    for worker in workers:
        worker.start()
    segments: list = []  # type: ignore[type-arg]
    count = 0
    finished = 0
    journal_ = done
    try:
        chunk: list[dict[str, object]] = []
        turn = 0
        for doc in docs:
            chunk.append(doc)
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
            if len(chunk) >= FEED_CHUNK:
                _send(inboxes[turn], chunk, workers, outbox, segments, journal_)
                turn = (turn + 1) % procs
                chunk = []
        if chunk:
            _send(inboxes[turn], chunk, workers, outbox, segments, journal_)
        for inbox in inboxes:
            _send(inbox, None, workers, outbox, segments, journal_)
        while finished < procs:
            finished += _receive(outbox, workers, segments, journal_, wait=True)
    except BaseException:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.kill()
        # Chunks still in a queue's pipe would make the interpreter's exit wait for ever on
        # its feeder thread (nobody reads them now): drop them.
        for box in [*inboxes, outbox]:
            with contextlib.suppress(Exception):
                box.cancel_join_thread()
                box.close()
        raise
    finally:
        for worker in workers:
            worker.join(timeout=5)
    return segments, count


def _send(inbox, item, workers, outbox, segments, done) -> None:  # type: ignore[no-untyped-def]
    while True:
        try:
            inbox.put(item, timeout=WATCH_EVERY)
            return
        except queue.Full:
            _receive(outbox, workers, segments, done, wait=False)


def _receive(outbox, workers, segments, done, *, wait: bool) -> int:  # type: ignore[no-untyped-def]
    """Collect what the workers sent (segments, and how many finished); a dead worker raises."""
    finished = 0
    while True:
        try:
            kind, value = outbox.get(timeout=WATCH_EVERY) if wait else outbox.get_nowait()
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:
                print(
                    f"paperreader: an indexing worker died (exit {dead[0].exitcode}); the "
                    "rebuild starts again with the next indexer",
                    file=sys.stderr,
                    flush=True,
                )
                raise IndexDamaged("an indexing worker died; the rebuild starts again") from None
            if wait and finished == 0:
                continue
            return finished
        if kind == "segment":
            segment, ranges = value
            segments.append(done.finished(segment, ranges))
        elif kind == "done":
            finished += 1
            if wait:
                return finished
        else:  # "error": the worker's exception, as text
            raise IndexDamaged(f"an indexing worker failed: {value}")


def _worker(folder: str, inbox, outbox) -> None:  # type: ignore[no-untyped-def]
    """A rebuild's worker process: documents in, segments out."""
    try:
        ix = whoosh_index.open_dir(folder)
        codec = _codec()
        builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname)
        ranges = journal.Ranges()
        while True:
            chunk = inbox.get()
            if chunk is None:
                break
            for doc in chunk:
                builder.add(doc)
                ranges.add(str(doc["id"]))
            ranges.cut()  # (this worker's next chunk is not the next in id order)
            if len(builder) >= SEGMENT_DOCS:
                outbox.put(("segment", (builder.write(), ranges.take())))
                builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec, ix.indexname, builder)
        if len(builder):
            outbox.put(("segment", (builder.write(), ranges.take())))
        outbox.put(("done", None))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises
        outbox.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


def _commit_segments(ix, segments, mergetype=None, deletes=()) -> None:  # type: ignore[no-untyped-def]
    """Add written segments to the index's TOC in one commit, under its write lock.
    `segments`: a list, or a function that writes them (called holding the lock, so that no
    other commit's clean-up takes their files for a killed writer's)."""
    writer = ix.writer(timeout=10.0)
    try:
        written = segments() if callable(segments) else list(segments)
        for paper_id in deletes:
            writer.delete_by_term("id", paper_id)

        def policy(w, existing):  # type: ignore[no-untyped-def]
            kept = mergetype(w, existing) if mergetype else list(existing)
            return kept + written

        writer.commit(mergetype=policy)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.cancel()
        raise


def upsert(  # type: ignore[no-untyped-def]
    ix, lock: threading.Lock, items: Iterable[tuple[Paper, UserData | None]]
) -> int:
    """Add or replace documents in one commit: the old documents of these ids deleted, the
    new ones written as a segment in bulk (bulk.py), small segments merged."""
    docs: dict[str, dict[str, object]] = {}
    for paper, user in items:
        doc = document(paper, user)
        docs[str(doc["id"])] = doc  # (a paper twice in one batch: the last one)
    if not docs:
        return 0

    def write() -> list:  # type: ignore[type-arg]
        builder = bulk.SegmentBuilder(ix.schema, ix.storage, _codec(), ix.indexname)
        for doc in docs.values():
            builder.add(doc)
        return [builder.write()]

    with lock:
        # Merge small segments: without it every bookmark or tag edit left one more
        # segment and searches slowed with each edit (60 edits: 2 ms -> 40 ms on
        # the sample).
        _commit_segments(
            ix,
            write,
            mergetype=lambda w, segs: merge_small_segments(w, segs, len(docs)),
            deletes=docs,
        )
    return len(docs)


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
