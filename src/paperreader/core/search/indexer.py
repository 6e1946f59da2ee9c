"""The one indexer of a library: every index write goes through the lease and the queue.

The user's data and the records are the truth; the index is a cache that this module keeps
in step with them. A change is first made durable (the YAML store, the records) and marked in
the queue of pending updates (`Records.index_queue`); then whichever process holds the lease
applies the queue to the index and clears the marks it applied. Nothing is lost when a
process dies between the two: the marks stay, and the next holder applies them.

- `save()`: after a bookmark, tag, note or read-state change. Applies the user marks if the
  lease can be had within a few seconds (another save's commit takes ~0.1 s); when a long job
  (rebuild, catch-up) holds it, that job applies them within about a second.
- `run()`: the indexer job of `paperreader index` and of the background process: cleans a dead
  holder's leftovers, rebuilds when the index is missing, damaged or out of step, then works
  the queue down. Resumable: a kill leaves the marks of what was not done.
- `start_background()`: starts that job in a process of its own when work is waiting and no
  live holder is at it (never a second one).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from paperreader.core.import_signal import import_running
from paperreader.core.search import journal, stream, writer
from paperreader.core.search.index import MISSING
from paperreader.core.search.lease import Lease, LeaseInfo

if TYPE_CHECKING:
    from paperreader.core.models import Paper, UserData
    from paperreader.core.records import Records
    from paperreader.core.search.commit import Reload
    from paperreader.core.store import Store

Progress = Callable[[int, int | None], None]

SAVE_WAIT = 5.0  # seconds a save waits for a short holder (another save's commit)
# Saves in a burst (tagging papers one after another) are applied in one commit, so that a
# commit's segment write does not land between them: on ext4 a save's fsync then waited for
# the segment's data too (50-150 ms instead of 3 ms). Searches here do not wait for it (see
# overlay.py); the interpreter's exit does (see flush).
COALESCE = 0.5
EXIT_WAIT = 15.0  # seconds the interpreter's exit waits for the last saves' index update
LONG_JOBS = ("rebuild", "catch-up")  # holders that apply the user's saves themselves
USER_EVERY = 1.0  # seconds between a long job's passes over the user's saves
CATCH_UP_BATCH = 1000  # papers per commit while working a smaller queue down (~1 s)
# A backlog this large (or any, while an import is being written) is indexed by worker
# processes as it comes, on both cores (stream.py), rather than in batches of CATCH_UP_BATCH.
BULK_CATCH_UP_FROM = 1000
LOG_FILE = "indexer.log"
# Seconds an indexer that failed waits to see whether its library folder is going: `rm -rf`
# removes the files the indexer reads (the failure) before the folder itself.
DELETION_GRACE = 2.0


class IndexLike(Protocol):
    path: Path

    def open(self) -> str | None: ...

    schema: object

    def upsert(
        self, items: Iterable[tuple[Paper, UserData | None]], reload: Reload | None = None
    ) -> int: ...
    def add_segments(self, folder: Path, written: list) -> int: ...  # type: ignore[type-arg]
    def with_text(
        self, items: Iterable[tuple[Paper, UserData | None]]
    ) -> Iterable[tuple[Paper, UserData | None]]: ...
    def rebuild(
        self,
        items: Iterable[tuple[Paper, UserData | None]],
        progress: Callable[[int], None] | None = None,
        upto: int = 0,
    ) -> int: ...
    def doc_count(self) -> int: ...
    def clean_leftovers(self) -> None: ...


class Indexer:
    """Coordinates every write of one library's index (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        records: Records,
        store: Store,
        index: IndexLike,
        users: Callable[[], dict[str, UserData]],
    ) -> None:
        self.root = Path(root)
        self.records = records
        self.store = store
        self.index = index
        self.users = users  # the library's view of the user's data (kept up to date)
        self.lease = Lease(self.root)
        self._thread_lock = threading.Lock()  # one writer per process at a time
        self._cv = threading.Condition()
        self._applier: threading.Thread | None = None
        self._dirty = False
        self._busy = False
        self._hurry = 0
        self.error: str | None = None  # why the last background apply failed (for a message)

    # -- state -----------------------------------------------------------------------------------
    def holder(self) -> LeaseInfo | None:
        return self.lease.holder()

    def pending(self) -> int:
        return self.records.unindexed_count()

    def rebuild_reason(self) -> str | None:
        """Why the index must be rebuilt (missing, unreadable, old, out of step), or None."""
        why = self.index.open()
        if why is not None:
            return why
        if not self.records.unindexed_count():
            try:
                indexed = self.index.doc_count()
            except Exception as exc:  # a cache: any failure means rebuild it
                return f"the search index is unreadable ({type(exc).__name__})"
            if indexed != self.records.count():
                return "the search index is out of step with the library"
        return None

    def status_line(self) -> str | None:
        """One line for stderr while papers wait to be searchable, else None."""
        waiting = self.pending()
        holder = self.holder()
        if holder is not None and holder.job == "rebuild":
            # what searches here cannot find: the papers the index they read lacks
            try:
                live = 0 if self.index.open() is not None else self.index.doc_count()
            except Exception:  # noqa: BLE001 - a damaged live index finds nothing
                live = 0
            left = max(0, self.records.count() - live, waiting)
            return (
                f"{left:,} papers are not searchable yet: the search index is being rebuilt "
                f"({holder.describe()})"
            )
        if holder is None and (why := self.rebuild_reason()) is not None:
            return (
                f"{why}: {self.records.count():,} papers are not searchable until it is "
                "rebuilt (`paperreader index` rebuilds it; any command starts that)"
            )
        if not waiting:
            return None
        if holder is not None:
            return f"{waiting:,} papers are not searchable yet ({holder.describe()})"
        return f"{waiting:,} papers are not searchable yet; `paperreader index` indexes them"

    # -- a save ----------------------------------------------------------------------------------
    def save_soon(self) -> None:
        """Apply the queued user changes in a background thread (see `save`), after COALESCE
        seconds of quiet. The interpreter's exit waits for it."""
        with self._cv:
            self._dirty = True
            if self._applier is None:
                if not _EXIT_HOOKED:
                    _hook_exit()
                _LIVE.add(self)
                self._applier = threading.Thread(
                    target=self._apply_loop, name="paperreader-index-saves", daemon=True
                )
                self._applier.start()
            self._cv.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for the background apply (now, without the coalescing pause). True when idle."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            self._hurry += 1
            self._cv.notify_all()
            try:
                while self._applier is not None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cv.wait(left)
            finally:
                self._hurry -= 1
        return True

    def _apply_loop(self) -> None:
        tries = 0
        while True:
            with self._cv:
                deadline = time.monotonic() + COALESCE
                while self._dirty and not self._hurry and time.monotonic() < deadline:
                    self._cv.wait(max(0.0, deadline - time.monotonic()))
                if not self._dirty:
                    self._applier = None
                    _LIVE.discard(self)
                    self._cv.notify_all()
                    return
                self._dirty = False
            seen = self.index.local.clock
            try:
                if self.save():
                    self.index.local.forget_upto(seen)
                    self.error, tries = None, 0
                elif self._holder_applies():
                    pass  # the long job applies them; searches here prune what it did
                elif tries < 3 and not self._hurry:
                    tries += 1  # a busy moment: try again shortly
                    with self._cv:
                        self._dirty = True
            except Exception as exc:  # noqa: BLE001 - the saves are kept; the marks stay queued
                self.error = f"{type(exc).__name__}: {str(exc)[:120]}"

    def _holder_applies(self) -> bool:
        holder = self.lease.holder()
        return holder is not None and holder.job in LONG_JOBS

    def save(self, *, wait: float = SAVE_WAIT) -> bool:
        """Apply the queued user changes now, if the lease can be had (see module docstring).
        True when they are in the index; False when they stay queued for the holder."""
        if self._holder_applies():
            return False  # the long job applies them within about a second
        with self._thread_lock:
            if not self.records.unindexed_count("user"):
                return True  # another holder applied them already
            if not self.lease.acquire("save", timeout=wait):
                return False
            try:
                if self.index.open() is not None:
                    return False  # no index to update: the rebuild that comes takes them
                self.apply(self.records.pending(10_000, "user"))
                return True
            finally:
                self.lease.release()

    def apply(self, marks: list[tuple[int, str]], *, clear: bool = True) -> int:
        """Index the papers of `marks` in one commit (under the lease), then clear the marks."""
        if not marks:
            return 0
        if not self.lease.held():
            raise RuntimeError("the indexer lease was lost")  # never write after a takeover
        found = self.records.get_many([paper_id for _, paper_id in marks])
        self.index.upsert(
            ((paper, self.user_of(paper.id)) for paper in found.values()), reload=self.reload
        )
        if clear:
            with self.records.batch():
                self.records.mark_indexed(marks)
        return len(found)

    def reload(self, ids: list[str]) -> Iterable[tuple[Paper, UserData | None]]:
        """Papers indexed again (a commit folds their small segment in: see commit.py), as
        the records and the store files hold them now."""
        for start in range(0, len(ids), 500):
            for paper in self.records.get_many(ids[start : start + 500]).values():
                yield paper, self.user_of(paper.id)

    def user_of(self, paper_id: str) -> UserData | None:
        """The paper's data as its file holds it now (another process or a hand edit may have
        changed it since this process read it); the last good reading if the file is broken."""
        try:
            return self.store.get(paper_id)
        except Exception:  # noqa: BLE001 - a broken file is reported by the store scan
            return self.users().get(paper_id)

    # -- the indexer job -------------------------------------------------------------------------
    def run(
        self,
        progress: Progress | None = None,
        *,
        wait: bool = True,
        should_stop: Callable[[], bool] | None = None,
        on_wait: Callable[[LeaseInfo], None] | None = None,
        force_rebuild: bool = False,
    ) -> int:
        """Be the indexer: rebuild if needed, then index every queued paper. With `wait`, a
        running indexer is waited for (and its work not redone); without, returns 0 at once
        when there is one. Returns the papers indexed here."""
        done = 0
        with self._thread_lock:
            while True:
                if not self.lease.acquire("catch-up", timeout=None if wait else 0, on_wait=on_wait):
                    return done
                try:
                    self._clean_leftovers()
                    why = "asked" if force_rebuild else self.rebuild_reason()
                    if why is None and journal.exists(self._fresh()):
                        why = "a rebuild was cut short: it resumes"
                    force_rebuild = False
                    fresh_start = why == MISSING and not journal.exists(self._fresh())
                    if fresh_start and self.records.all_queued():
                        # A new library (every paper queued): an empty index, and the queue
                        # indexed below. A rebuild would index only the papers an import had
                        # written so far, and leave the rest to the catch-up.
                        self.index.rebuild(())
                    elif why is not None:
                        done += self._rebuild(progress, should_stop)
                    # (after a rebuild too: an import may have gone on writing meanwhile)
                    if not self._should_stop(should_stop) and (procs := self._bulk_procs()) > 1:
                        done += self._bulk_catch_up(procs, progress, should_stop)
                    done += self._catch_up(progress, should_stop)
                except Exception:  # (a worker's too: its papers were not there to read)
                    if not self._deleted():
                        raise
                    return done  # the library was deleted under us: nothing left to index
                finally:
                    self.lease.release()
                if (should_stop and should_stop()) or self.lease.lost:
                    return done
                # Marks made while the lease was being given back: nobody else saw them.
                if not self.records.unindexed_count() or not wait:
                    return done

    def _deleted(self) -> bool:
        """Whether the library folder is gone, or goes within DELETION_GRACE."""
        deadline = time.monotonic() + DELETION_GRACE
        while self.root.is_dir():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _should_stop(self, should_stop: Callable[[], bool] | None) -> bool:
        return bool(should_stop and should_stop()) or self.lease.lost

    def _fresh(self) -> Path:
        return self.index.path.with_name(self.index.path.name + ".new")

    def _clean_leftovers(self) -> None:
        """A dead holder's temp files, uncommitted segments and half-built index (unless its
        journal lets the rebuild resume: then the rebuild cleans what it did not finish)."""
        if not journal.exists(self._fresh()):
            shutil.rmtree(self._fresh(), True)
        shutil.rmtree(self.index.path.with_name(self.index.path.name + ".old"), True)
        shutil.rmtree(stream.stream_folder(self.index.path), True)
        with contextlib.suppress(Exception):
            self.index.clean_leftovers()

    def _bulk_procs(self) -> int:
        """Worker processes for the bulk catch-up (stream.py): for a backlog of
        BULK_CATCH_UP_FROM papers or an import being written; 1 (none) otherwise."""
        backlog = self.records.unindexed_count(but="user")
        if backlog < BULK_CATCH_UP_FROM and not (backlog and import_running(self.root)):
            return 1
        return writer.fork_procs()

    def _bulk_catch_up(
        self, procs: int, progress: Progress | None, should_stop: Callable[[], bool] | None
    ) -> int:
        self.lease.set_job("catch-up")
        return stream.BulkCatchUp(
            self, procs, progress, lambda: self._should_stop(should_stop)
        ).run()

    def _catch_up(self, progress: Progress | None, should_stop: Callable[[], bool] | None) -> int:
        total = self.records.unindexed_count()
        if not total:
            return 0
        self.lease.set_job("catch-up")
        done = 0
        while not self._should_stop(should_stop):
            marks = self.records.pending(CATCH_UP_BATCH)  # the user's changes first
            if not marks:
                break
            self.apply(marks)
            done += len(marks)
            total = max(total, done + self.records.unindexed_count())
            self.lease.progress(done, total)
            if progress:
                progress(done, total)
        return done

    def _rebuild(self, progress: Progress | None, should_stop: Callable[[], bool] | None) -> int:
        """A fresh index from the records and the store, swapped in whole. Marks made before it
        started are covered by it; later ones stay for the catch-up after it. Meanwhile the
        user's saves go to the live index every USER_EVERY seconds (and again to the new one)."""
        self.lease.set_job("rebuild")
        resumed = journal.upto_of(self._fresh())  # a cut-short rebuild's starting mark
        upto = self.records.queue_seq() if resumed is None else resumed
        started = self.store.latest_change()
        total = self.records.count()
        self.lease.progress(0, total)
        users = dict(self.users())
        applied_live: set[int] = set()
        last_pass = time.monotonic()

        def step(count: int) -> None:
            nonlocal last_pass
            self.lease.progress(count, total)
            if progress:
                progress(count, total)
            if self._should_stop(should_stop):
                raise _Stopped
            if time.monotonic() - last_pass >= USER_EVERY:
                last_pass = time.monotonic()
                self._saves_to_live_index(upto, applied_live)

        try:
            count = self.index.rebuild(
                ((paper, users.get(paper.id)) for paper in self.records.iter_all()),
                progress=step,
                upto=upto,
            )
        except _Stopped:
            return 0
        # A store file changed by hand while the papers were read: queued for the catch-up.
        late = self.store.ids_of(self.store.changed_since(started))
        with self.records.batch():
            self.records.clear_unindexed(upto)
            self.records.mark_unindexed(late, "user")
        return count

    def _saves_to_live_index(self, upto: int, applied: set[int]) -> None:
        """During a rebuild, the saves made since it began go to the index searches read now;
        their marks stay, so the catch-up after the swap puts them in the new index too."""
        with contextlib.suppress(Exception):  # the live index may be the missing one
            marks = [
                (seq, paper_id)
                for seq, paper_id in self.records.pending(10_000, "user")
                if seq > upto and seq not in applied
            ]
            if marks and self.index.open() is None:
                self.apply(marks, clear=False)
                applied.update(seq for seq, _ in marks)

    # -- the background process ------------------------------------------------------------------
    def start_background(self) -> bool:
        """Start `paperreader index --quiet` in its own process when work waits and nobody is
        at it. Returns whether one was started."""
        if self.lease.holder() is not None:
            return False
        with open(self.root / LOG_FILE, "ab") as log:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "paperreader",
                    "index",
                    "--library",
                    str(self.root),
                    "--quiet",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives the command; no terminal signals
                env={**os.environ, "PAPERREADER_BACKGROUND": "1"},
            )
        return True


_LIVE: set[Indexer] = set()  # indexers with saves in flight, for the exit to wait on
_EXIT_HOOKED = False


def _hook_exit() -> None:
    """At the interpreter's exit, wait (bounded) for the saves still being applied: a CLI
    command's bookmark is then searchable in other processes when it returns."""
    global _EXIT_HOOKED
    _EXIT_HOOKED = True

    def wait_all() -> None:
        for indexer in list(_LIVE):
            with contextlib.suppress(Exception):
                indexer.flush(timeout=EXIT_WAIT)

    atexit.register(wait_all)


class _Stopped(Exception):
    """A rebuild asked to stop (the folder vanished, the lease was lost, or a stop request)."""
