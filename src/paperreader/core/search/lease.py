"""The indexer lease: which one process may write a library's search index, across processes.

A lease is a small JSON file beside the index (`indexer.lease`): the holder's token, pid, host,
the job it is doing and how far it got, and a heartbeat it renews every HEARTBEAT seconds.
Every write of the index (a save's update, a catch-up batch, a rebuild and its swap, a
repair) is done by the lease's holder. Another process takes the lease over only when the
holder is dead (same host: its pid is gone, a zombie, or a new process with that pid) or its
heartbeat is older than STALE_AFTER (another host, or a process that hangs). Decisions about
the file are made under a short OS file lock (`indexer.lease.lock`), which the kernel drops
when a process dies, so a kill -9 at any moment leaves nothing that blocks the next process.

The holder checks `held()` before each commit: a holder that was taken over (it hung for
STALE_AFTER) must not write after the new one started.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

LEASE_FILE = "indexer.lease"
HEARTBEAT = 1.0  # seconds between renewals
STALE_AFTER = 120.0  # a heartbeat this old means the holder hangs (or is on a host we can't see)
THREAD_NAME = "paperreader-lease"


@dataclass
class LeaseInfo:
    """What the lease file says about its holder."""

    token: str
    pid: int
    host: str
    job: str  # "save", "catch-up", "rebuild", ...
    started: float
    heartbeat: float
    done: int = 0
    total: int = 0
    proc_start: str = ""  # the holder's start time on this host (guards against pid reuse)

    def describe(self) -> str:
        """'pid 123, rebuild, 42% done' for messages."""
        where = f"pid {self.pid}" + (
            "" if self.host == socket.gethostname() else f" on {self.host}"
        )
        if self.total:
            return f"{where}, {self.job}, {100 * self.done // max(1, self.total)}% done"
        return f"{where}, {self.job}"


def _proc_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return ""


def holder_alive(info: LeaseInfo) -> bool:
    """Whether the lease's holder still runs (only knowable on this host)."""
    if info.host != socket.gethostname():
        return True  # another host: only the heartbeat can tell
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _proc_state(info.pid) in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    started = _proc_start(info.pid)
    return not (info.proc_start and started and started != info.proc_start)


class Lease:
    """The lease of one library's index. One object per process and folder is enough; it is
    not reentrant: `acquire` while holding raises."""

    def __init__(self, folder: Path, *, stale_after: float = STALE_AFTER) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LEASE_FILE
        self._guard = FileLock(str(self.folder / (LEASE_FILE + ".lock")))
        self.stale_after = stale_after
        self.token: str | None = None
        self.job = ""
        self.done = 0
        self.total = 0
        self.lost = False  # taken over by another process, or the folder vanished
        self.took_over: LeaseInfo | None = None  # the dead or stale holder this one replaced
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------
    def read(self) -> LeaseInfo | None:
        """The current holder, or None when nobody holds the lease (or the file is unreadable)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return LeaseInfo(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def holder(self) -> LeaseInfo | None:
        """The live holder, or None when the lease is free or its holder is dead or stale."""
        info = self.read()
        if info is None or self._expired(info):
            return None
        return info

    def _expired(self, info: LeaseInfo) -> bool:
        return not holder_alive(info) or time.time() - info.heartbeat > self.stale_after

    def held(self) -> bool:
        """Whether this process still holds the lease (checked before each commit)."""
        if self.token is None or self.lost:
            return False
        info = self.read()
        return info is not None and info.token == self.token

    # -- taking and giving back ------------------------------------------------------------------
    def try_acquire(self, job: str) -> bool:
        """Take the lease if it is free (or its holder dead or stale); never waits on a holder."""
        if self.token is not None:
            raise RuntimeError("the lease is already held by this object")
        if not self.folder.is_dir():
            return False
        with self._guard:
            info = self.read()
            if info is not None and not self._expired(info):
                return False
            self.took_over = info
            now = time.time()
            token = uuid.uuid4().hex
            self._write(
                LeaseInfo(
                    token=token,
                    pid=os.getpid(),
                    host=socket.gethostname(),
                    job=job,
                    started=now,
                    heartbeat=now,
                    proc_start=_proc_start(os.getpid()),
                )
            )
            self.token, self.job, self.done, self.total, self.lost = token, job, 0, 0, False
        self._start_heartbeat()
        return True

    def acquire(
        self,
        job: str,
        *,
        timeout: float | None = None,
        on_wait: Callable[[LeaseInfo], None] | None = None,
        poll: float = 0.05,
    ) -> bool:
        """Take the lease, waiting for the holder up to `timeout` seconds (None: for ever).
        `on_wait` is called with the holder's info while waiting (for progress lines)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.try_acquire(job):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if on_wait is not None and (info := self.holder()) is not None:
                on_wait(info)
            time.sleep(poll)
            poll = min(0.25, poll * 1.5)

    def release(self) -> None:
        """Give the lease back (only if this object still holds it)."""
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)
        self._beat = None
        token, self.token = self.token, None
        if token is None or not self.folder.is_dir():  # (the guard would make the folder again)
            return
        with contextlib.suppress(OSError), self._guard:
            info = self.read()
            if info is not None and info.token == token:
                self.path.unlink()

    def progress(self, done: int, total: int) -> None:
        """Record how far the job got; written with the next heartbeat."""
        self.done, self.total = done, total

    def set_job(self, job: str) -> None:
        self.job = job
        self.renew()

    # -- heartbeat -------------------------------------------------------------------------------
    def renew(self) -> bool:
        """Write a fresh heartbeat; False (and `lost`) when the lease is no longer ours."""
        with self._lock:
            if self.token is None or self.lost:
                return False
            if not self.folder.is_dir():  # the library was deleted under us
                self.lost = True
                return False
            try:
                with self._guard:
                    info = self.read()
                    if info is None or info.token != self.token:
                        self.lost = True
                        return False
                    info.heartbeat = time.time()
                    info.job, info.done, info.total = self.job, self.done, self.total
                    self._write(info)
            except OSError:  # the folder vanished mid-write
                self.lost = True
                return False
            return True

    def _start_heartbeat(self) -> None:
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=THREAD_NAME, daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            if not self.renew():
                return

    def _write(self, info: LeaseInfo) -> None:
        temp = self.path.with_name(f"{LEASE_FILE}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(asdict(info)), encoding="utf-8")
        os.replace(temp, self.path)  # a reader sees the old or the new file, never half of one

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
