"""Indexing worker processes: documents in, a chunk at a time (or papers' ids, which a worker
loads itself); Whoosh segments out, written in bulk (bulk.py) into a folder, one per
SEGMENT_DOCS papers and whenever asked to flush.

A rebuild feeds them every paper (writer.rebuild); the queue's bulk catch-up feeds them the
papers of an import while it is being written (stream.py). Either way the parent commits the
segments they send back. A worker that dies or fails ends the job with IndexDamaged (never a
wait for ever, never a segment missing unnoticed)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import multiprocessing.connection
import os
import queue
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.search import bulk, journal

# A worker writes a segment every SEGMENT_DOCS papers: its postings are kept in memory until
# then (a worker's peak: ~430 MB at 30,000 papers, ~580 MB at 50,000; 1,000,000 papers make
# ~34 segments).
SEGMENT_DOCS = 30_000
FEED_CHUNK = 500  # papers sent to a worker at a time
# Chunks a worker's queue holds: of documents (~1 MB each, held in the parent until sent), a
# few; of ids, enough to keep it busy while the parent commits (5 s at 1,000,000 papers).
QUEUED_DOCS = 4
QUEUED_IDS = 16
WATCH_EVERY = 1.0  # seconds between looks at the workers (are they alive?)
FLUSH = "flush"
# In a worker: a chunk of what the parent sent turned into the documents to index (None: the
# chunk is documents already).
Load = Callable[[list[Any]], list[dict[str, object]]]


@dataclass
class Written:
    """A segment a worker wrote (not yet in any TOC), with the ids of its papers."""

    segment: Any
    ranges: list[list[str]]  # the ids as ranges, for a rebuild's journal
    ids: list[str] = field(default_factory=list)


def codec():  # type: ignore[no-untyped-def]
    from whoosh.codec import default_codec

    return default_codec()


def work(folder: str, inbox, outbox, me: int = 0, load: Load | None = None) -> None:  # type: ignore[no-untyped-def]
    """A worker process: chunks of documents in (or of what `load` makes documents of),
    ("segment", me, (segment, ranges, chunks)) out (sent on `outbox`, the write end of its own
    pipe; `chunks`: how many of this worker's chunks the segment holds); on FLUSH or None it
    writes what it holds and says ("flushed", me, chunks with no document); None also ends it."""
    parent = os.getppid()
    # The objects inherited from the indexer are left out of this process's collections: a
    # collection writes to every object it visits, which copied their pages (15 MB of a
    # worker's own memory in a 100,000-paper rebuild).
    gc.freeze()
    try:
        ix = whoosh_index.open_dir(folder)
        codec_ = codec()
        builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec_, ix.indexname)
        ranges = journal.Ranges()
        # The second worker's first segment is half the size: the workers then write (their
        # memory's peak, a segment's postings sorted) in turn, not both at once.
        limit = SEGMENT_DOCS // (me + 1)
        chunks = 0  # taken since the last segment

        def write_segment() -> None:
            nonlocal builder, chunks
            outbox.send(("segment", me, (builder.write(), ranges.take(), chunks)))
            builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec_, ix.indexname, builder)
            chunks = 0
            _release(builder)

        while True:
            chunk = _next(inbox, parent)
            if chunk is None or chunk == FLUSH:
                if len(builder):
                    write_segment()
                outbox.send(("flushed", me, chunks))
                chunks = 0
                if chunk is None:
                    break
                continue
            chunks += 1
            for doc in chunk if load is None else load(chunk):
                builder.add(doc)
                ranges.add(str(doc["id"]))
            ranges.cut()  # (this worker's next chunk is not the next in id order)
            if len(builder) >= limit:
                limit = SEGMENT_DOCS
                write_segment()
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises
        with contextlib.suppress(Exception):
            outbox.send(("error", me, f"{type(exc).__name__}: {exc}"))
        raise


def _release(builder: bulk.SegmentBuilder) -> None:
    """Give the memory of a written segment's postings back to the system: Python keeps freed
    small objects in its arenas and malloc its heap, so a worker's resident size grew with each
    segment (355 -> 427 -> 478 MB over three of 30,000 papers) instead of staying level. The
    word caches of the next `builder` are made afresh meanwhile (see caches_aside)."""
    with builder.caches_aside():
        gc.collect()
        with contextlib.suppress(Exception):  # (glibc only)
            ctypes.CDLL(None).malloc_trim(0)


def _next(inbox, parent: int):  # type: ignore[no-untyped-def]
    """The next item for this worker; exits when the indexer that started it is gone (killed:
    nobody will send more, and its queue's pipe never closes while this worker holds it)."""
    while True:
        try:
            return inbox.get(timeout=WATCH_EVERY)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(0)


class Workers:
    """`procs` forked workers writing segments into the Whoosh index in `folder` (each chunk
    made documents by `load`, in the worker, if given). Used as a context manager: leaving it
    on an error kills them and drops what their queues hold."""

    def __init__(self, folder: str, procs: int, load: Load | None = None) -> None:
        self.load = load
        context = multiprocessing.get_context("fork")
        queued = QUEUED_DOCS if load is None else QUEUED_IDS
        self.inboxes = [context.Queue(maxsize=queued) for _ in range(procs)]
        # Each worker answers on its own pipe, whose write end only it holds once started: a
        # worker that dies halfway through a message is an end of file here. (One Queue for
        # all held a write end in this process too: a message cut short by a killed worker
        # left this process reading the rest for ever.)
        pipes = [context.Pipe(duplex=False) for _ in range(procs)]
        self.replies = [reader for reader, _ in pipes]
        self._ends = [writer for _, writer in pipes]
        self._open = list(self.replies)  # the pipes not yet at their end
        self.procs = [
            context.Process(target=self._start, args=(folder, me), name=f"paperreader-index-{me}")
            for me in range(procs)
        ]
        self.unwritten: list[deque[list[str]]] = [deque() for _ in range(procs)]
        self.ready: list[Written] = []
        self.sent = 0
        self._turn = 0
        self._flushed = 0

    def _start(self, folder: str, me: int) -> None:
        """In worker `me`, just forked: every pipe end it inherited but its own inbox's
        reading end and its own reply's writing end is closed, so that an indexer killed
        halfway through a chunk is an end of file here (and a worker killed halfway through
        a reply one there), not a read for ever. Then `work` (the module's, looked up now:
        tests replace it to make a worker die)."""
        for other, box in enumerate(self.inboxes):
            with contextlib.suppress(Exception):
                box._writer.close()  # type: ignore[attr-defined]
                if other != me:
                    box._reader.close()  # type: ignore[attr-defined]
        for other, (reply, end) in enumerate(zip(self.replies, self._ends, strict=True)):
            with contextlib.suppress(Exception):
                reply.close()
                if other != me:
                    end.close()
        sys.modules[__name__].work(folder, self.inboxes[me], self._ends[me], me, self.load)

    def __enter__(self) -> Workers:
        for proc in self.procs:
            proc.start()
        for end in self._ends:  # (the workers have theirs)
            end.close()
        return self

    def __exit__(self, kind, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if kind is not None or any(proc.is_alive() for proc in self.procs):
            self.kill()
        for proc in self.procs:
            proc.join(timeout=5)

    def kill(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.kill()
        # Chunks still in a queue's pipe would make the interpreter's exit wait for ever on
        # its feeder thread (nobody reads them now): drop them.
        for box in self.inboxes:
            with contextlib.suppress(Exception):
                box.cancel_join_thread()
                box.close()
        for reply in self.replies:
            with contextlib.suppress(Exception):
                reply.close()

    def send(self, chunk: list[Any], ids: list[str] | None = None) -> None:
        """One chunk (documents; or, with `load`, what it loads, the papers `ids`) to the next
        worker in turn with room in its queue: one writing a segment (seconds) is passed over,
        not waited for. With none, the next in turn is waited for (collecting what the
        workers send meanwhile)."""
        count = len(self.procs)
        turns = [(self._turn + k) % count for k in range(count)]
        me = next((w for w in turns if not self.inboxes[w].full()), self._turn)
        self._put(me, chunk)
        self.unwritten[me].append(ids if ids is not None else [str(doc["id"]) for doc in chunk])
        self.sent += len(chunk)
        self._turn = (me + 1) % count

    def take(self) -> list[Written]:
        """The segments written since the last take (without waiting)."""
        self._collect(wait=False)
        taken, self.ready = self.ready, []
        return taken

    def flush(self, *, last: bool = False) -> list[Written]:
        """Every worker writes what it holds (`last`: and ends); waits for them."""
        self._flushed = 0
        for me in range(len(self.procs)):
            self._put(me, None if last else FLUSH)
        while self._flushed < len(self.procs):
            self._collect(wait=True)
        return self.take()

    def _put(self, me: int, item: object) -> None:
        while True:
            try:
                self.inboxes[me].put(item, timeout=WATCH_EVERY)
                return
            except queue.Full:
                self._collect(wait=False)

    def _collect(self, *, wait: bool) -> None:
        """Receive what the workers sent; with `wait`, at least one message. A dead worker raises."""
        while True:
            ready = multiprocessing.connection.wait(self._open, WATCH_EVERY if wait else 0)
            got = None
            for reply in ready:
                try:
                    got = reply.recv()  # type: ignore[union-attr]
                    break
                except (EOFError, OSError):  # its worker has ended (or died mid-message)
                    self._open.remove(reply)
            if got is None:
                dead = [p for p in self.procs if p.exitcode not in (None, 0)]
                if dead or (wait and not self._open):  # (none left that could answer)
                    code = dead[0].exitcode if dead else "unknown"
                    print(
                        f"paperreader: an indexing worker died (exit {code}); "
                        "its papers are indexed again by the next indexer",
                        file=sys.stderr,
                        flush=True,
                    )
                    raise IndexDamaged("an indexing worker died") from None
                if wait:
                    continue
                return
            kind, me, value = got
            if kind == "segment":
                segment, ranges, chunks = value
                unwritten = self.unwritten[me]
                ids = [i for _ in range(chunks) for i in unwritten.popleft()]
                self.ready.append(Written(segment, ranges, ids))
            elif kind == "flushed":
                for _ in range(value):  # (chunks none of whose papers were left to load)
                    self.unwritten[me].popleft()
                self._flushed += 1
            else:  # "error": the worker's exception, as text
                raise IndexDamaged(f"an indexing worker failed: {value}")
            wait = False  # one message was waited for; take the rest that are there
