"""Indexing worker processes: documents in, a chunk at a time (or papers' ids, which a worker
loads itself); Whoosh segments out, written in bulk (bulk.py) into a folder, one per
SEGMENT_DOCS papers (fewer to keep the workers' writes apart) and whenever asked to flush,
each by a child process forked for it.

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
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from whoosh import index as whoosh_index

from paperreader.core.errors import IndexDamaged
from paperreader.core.search import bulk, journal

# A worker writes a segment every SEGMENT_DOCS papers (or fewer, see _limit): its postings
# are kept in memory until then (the child gathering it peaks at ~150-185 MB PSS as it writes
# 22,500 papers; 1,000,000 papers make ~60 segments). At 30,000 a 1,000,000-paper import's
# processes peaked at 506 MB together once neither worker waited on the other (see send), and
# at 25,000 460-500 MB.
SEGMENT_DOCS = 22_500
FEED_CHUNK = 500  # papers sent to a worker at a time
# Chunks a worker's queue holds: of documents (~1 MB each, held in the parent until sent), a
# few; of ids, enough to keep it busy while the parent commits (5 s at 1,000,000 papers).
QUEUED_DOCS = 4
QUEUED_IDS = 16
WATCH_EVERY = 1.0  # seconds between looks at the workers (are they alive?)
ROOM_WAIT = 0.02  # seconds between looks at the workers' queues while all of them are full
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


def work(  # type: ignore[no-untyped-def]
    folder: str, inbox, outbox, me: int = 0, load: Load | None = None, gathered=None
) -> None:
    """A worker process: chunks of documents in (or of what `load` makes documents of),
    ("segment", me, (segment, ranges, chunks)) out (sent on `outbox`, the write end of its own
    pipe; `chunks`: how many of this worker's chunks the segment holds); on FLUSH or None it
    writes what it holds and says ("flushed", me, chunks with no document); None also ends it.
    `gathered`: each worker's papers gathered so far in its segment (shared memory), to keep
    the workers' writes apart (see _limit).

    Each segment is gathered and written by a child forked for it, which exits once it has
    sent it: every segment starts from this process's small state. (One process writing one
    segment after another sat at 110-125 MB between them, not the 55 MB it started at: a few
    thousand objects made among a segment's kept Python's 1 MB arenas resident, and with two
    workers that put a 1,000,000-paper import over 500 MB.) The child hands back its word
    caches (each word's analysis, made once) for the next."""
    indexer = os.getppid()
    # The objects inherited from the indexer are left out of this process's collections: a
    # collection writes to every object it visits, which copied their pages (15 MB of a
    # worker's own memory in a 100,000-paper rebuild).
    gc.freeze()
    try:
        job = _Job(whoosh_index.open_dir(folder), inbox, outbox, me, load, gathered, os.getpid())
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises
        _say_error(outbox, me, exc)
        raise
    caches = b""
    ended = at_limit = False
    while not ended:
        # First, and after a flush (which both workers answer at once): the second worker's
        # segment is half the size, so that their writes alternate (see _limit).
        limit = _limit(me, gathered) if at_limit else SEGMENT_DOCS // (me + 1)
        if gathered is not None:
            gathered[me] = 0
        answer, told = multiprocessing.Pipe(duplex=False)
        child = os.fork()
        if child == 0:  # (the child never returns from here)
            code = 1
            try:
                answer.close()
                _die_with(job.worker)
                told.send(_gather(job, limit, caches))
                code = 0
            except BaseException as exc:  # noqa: BLE001 - sent to the indexer, which raises
                _say_error(outbox, me, exc)
            finally:
                os._exit(code)
        told.close()
        ended, at_limit, caches = _outcome(child, answer, indexer)


@dataclass
class _Job:
    """What a worker's children work with."""

    ix: Any
    inbox: Any
    outbox: Any
    me: int
    load: Load | None
    gathered: Any  # (a shared array of ints, or None)
    worker: int  # the worker's pid


def _limit(me: int, gathered) -> int:  # type: ignore[no-untyped-def]
    """The papers of worker `me`'s next segment, after one written at its limit. A worker's
    peak (its segment sorted and written; at 30,000 papers ~230 MB) must come while the
    other is half-way through its own (~120 MB), not at its end (~200 MB). The second
    worker's first segment is half the size to start them so; but they drift, and at 1M
    they wrote within seconds of each other: 516 MB together. So each segment is sized for
    the other worker to be half-way when it ends: for papers gathered `c` (of L) by the
    other now, 1.5 L - c (c >= L/2); or L/2 + c, the least that ends before the other's
    next write. (For two workers: the usual case.)"""
    whole, half = SEGMENT_DOCS, SEGMENT_DOCS // 2
    others = [count for w, count in enumerate(gathered or ()) if w != me]
    if not others:
        return whole
    lead = min(max(others), whole)
    return max(half, min(whole, whole + half - lead if lead >= half else half + lead))


def _gather(job: _Job, limit: int, caches: bytes) -> tuple[bool, bool, bytes]:
    """In a worker's child: one segment gathered from the chunks in the inbox and written,
    at `limit` papers or at FLUSH or None. Returns (None was taken, the segment reached
    `limit`, the word caches for the next child)."""
    ix, outbox, me, load = job.ix, job.outbox, job.me, job.load
    builder = bulk.SegmentBuilder(ix.schema, ix.storage, codec(), ix.indexname)
    builder.use_word_caches(caches)
    ranges = journal.Ranges()
    chunks = 0  # taken since the last segment
    while True:
        chunk = _next(job.inbox, job.worker)
        asked = chunk is None or chunk == FLUSH  # (else: papers, written at the limit)
        if not asked:
            chunks += 1
            for doc in chunk if load is None else load(chunk):
                builder.add(doc)
                ranges.add(str(doc["id"]))
            ranges.cut()  # (this worker's next chunk is not the next in id order)
            if job.gathered is not None:
                job.gathered[me] = len(builder)
            if len(builder) < limit:
                continue
        wrote = len(builder) > 0
        if wrote:
            outbox.send(("segment", me, (builder.write(), ranges.take(), chunks)))
            chunks = 0
        if not asked:
            return False, True, builder.word_caches()
        outbox.send(("flushed", me, chunks))
        chunks = 0
        if chunk is None:
            return True, False, b""
        if wrote:
            return False, False, builder.word_caches()


def _outcome(child: int, answer, indexer: int) -> tuple[bool, bool, bytes]:  # type: ignore[no-untyped-def]
    """In a worker: what its `child` answered once done. A child that failed or died ends
    this worker the same way (the indexer then raises); the indexer gone ends both."""
    got = None
    with answer:
        while not answer.poll(WATCH_EVERY):
            if os.getppid() != indexer:  # killed: nobody reads what the child would send
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
                os._exit(0)
        with contextlib.suppress(EOFError, OSError):  # (it died before answering)
            got = answer.recv()
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if got is not None and code == 0:
        return got
    if code < 0:  # killed by a signal (the OOM killer's, say): so is this worker
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if 0 < code < 256 else 1)


def _die_with(parent: int) -> None:
    """In a worker's child: killed when the worker is (Linux's PR_SET_PDEATHSIG), not left
    gathering a segment nobody will take."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # (1: PR_SET_PDEATHSIG)
    if os.getppid() != parent:  # (it died before that was set)
        os._exit(0)


def _say_error(outbox, me: int, exc: BaseException) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(Exception):
        outbox.send(("error", me, f"{type(exc).__name__}: {exc}"))


def _next(inbox, parent: int):  # type: ignore[no-untyped-def]
    """The next item for a worker's child; exits when the `parent` that forked it is gone
    (killed: nobody will send more, and the queue's pipe never closes while it is held)."""
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
        self.gathered = context.RawArray("i", procs)  # (see _limit)
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
        sys.modules[__name__].work(
            folder, self.inboxes[me], self._ends[me], me, self.load, self.gathered
        )

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
        not waited for. With none, to the first to make room (collecting what the workers
        send meanwhile). (Waiting on the next in turn, while it wrote a segment for 10-15 s,
        left the other worker idle once it had read its queue: a core idle for ~20 s of a
        100,000-paper import's 77.)"""
        me = self._put_where_room(chunk)
        self.unwritten[me].append(ids if ids is not None else [str(doc["id"]) for doc in chunk])
        self.sent += len(chunk)
        self._turn = (me + 1) % len(self.procs)

    def _put_where_room(self, chunk: list[Any]) -> int:
        """Put `chunk` in the next queue in turn with room, or the first to make room; which."""
        count = len(self.procs)
        turns = [(self._turn + k) % count for k in range(count)]
        while True:
            me = next((w for w in turns if not self.inboxes[w].full()), None)
            if me is None:
                self._collect(wait=False)
                time.sleep(ROOM_WAIT)
                continue
            with contextlib.suppress(queue.Full):  # (full after all: looked at again)
                self.inboxes[me].put(chunk, timeout=ROOM_WAIT)
                return me

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
