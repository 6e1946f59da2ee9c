"""The indexer lease: one holder per library across processes; dead or stale holders replaced."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperreader.core.search import lease as lease_module
from paperreader.core.search.lease import LEASE_FILE, Lease

HOLD = """
import sys, time
from paperreader.core.search.lease import Lease
lease = Lease(sys.argv[1])
assert lease.try_acquire("rebuild")
lease.progress(42, 100)
print("held", flush=True)
time.sleep(60)
"""


def _holder(folder: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_one_holder_at_a_time_in_one_process(tmp_path: Path) -> None:
    first, second = Lease(tmp_path), Lease(tmp_path)
    assert first.try_acquire("save")
    assert not second.try_acquire("save")
    assert second.holder() is not None and second.holder().pid == os.getpid()
    first.release()
    assert not (tmp_path / LEASE_FILE).exists()
    assert second.try_acquire("save")
    second.release()


def test_a_live_holder_in_another_process_is_not_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        lease = Lease(tmp_path)
        assert not lease.try_acquire("save")
        assert not lease.acquire("save", timeout=0.3)
        info = lease.holder()
        assert info is not None and info.pid == proc.pid and info.job == "rebuild"
        time.sleep(lease_module.HEARTBEAT * 1.5)  # the heartbeat writes the progress
        assert "42% done" in lease.holder().describe()
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_is_taken_over_at_once(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    proc.kill()  # kill -9: no chance to give the lease back
    proc.wait()
    assert (tmp_path / LEASE_FILE).exists()
    lease = Lease(tmp_path)
    started = time.monotonic()
    assert lease.acquire("save", timeout=5)
    assert time.monotonic() - started < 1
    assert lease.took_over is not None and lease.took_over.pid == proc.pid
    assert lease.held()
    lease.release()


def test_a_zombie_holder_counts_as_dead(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, 9)
    time.sleep(0.2)  # killed, not reaped: a zombie answers kill(pid, 0)
    try:
        assert Lease(tmp_path).holder() is None
    finally:
        proc.wait()


def test_a_stale_heartbeat_is_taken_over_and_the_old_holder_sees_it_lost(tmp_path: Path) -> None:
    old = Lease(tmp_path)
    assert old.try_acquire("rebuild")
    old._stop.set()  # the holder hangs: no more heartbeats
    old._beat.join()
    raw = json.loads((tmp_path / LEASE_FILE).read_text())
    raw["heartbeat"] = time.time() - 10
    (tmp_path / LEASE_FILE).write_text(json.dumps(raw))
    new = Lease(tmp_path, stale_after=5)
    assert new.try_acquire("catch-up")
    assert not old.held() and not old.renew() and old.lost
    old.release()  # must not remove the new holder's lease
    assert new.held()
    new.release()


def test_a_holder_on_another_host_is_judged_by_its_heartbeat(tmp_path: Path) -> None:
    now = time.time()
    info = {
        "token": "x",
        "pid": 1,
        "host": socket.gethostname() + "-elsewhere",
        "job": "rebuild",
        "started": now,
        "heartbeat": now,
        "done": 0,
        "total": 0,
        "proc_start": "",
    }
    (tmp_path / LEASE_FILE).write_text(json.dumps(info))
    assert not Lease(tmp_path).try_acquire("save")
    info["heartbeat"] = now - 1000
    (tmp_path / LEASE_FILE).write_text(json.dumps(info))
    lease = Lease(tmp_path)
    assert lease.try_acquire("save")
    lease.release()


def test_a_reused_pid_does_not_keep_the_lease(tmp_path: Path) -> None:
    lease = Lease(tmp_path)
    assert lease.try_acquire("save")
    lease._stop.set()
    lease._beat.join()
    raw = json.loads((tmp_path / LEASE_FILE).read_text())
    if not raw["proc_start"]:
        pytest.skip("no /proc here to tell a process's start time")
    raw["proc_start"] = "1"  # the same pid, but another process than the one that took it
    (tmp_path / LEASE_FILE).write_text(json.dumps(raw))
    assert Lease(tmp_path).holder() is None


def test_the_library_deleted_under_the_holder(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    lease = Lease(folder)
    assert lease.try_acquire("catch-up")
    shutil.rmtree(folder)
    assert not lease.renew()
    assert lease.lost and not lease.held()
    lease.release()  # no error with the folder gone
    assert not Lease(folder).try_acquire("save")  # nothing to index there any more


def test_waiting_reports_the_holder(tmp_path: Path) -> None:
    first = Lease(tmp_path)
    assert first.try_acquire("rebuild")
    first.progress(3, 4)
    first.renew()
    seen = []
    assert not Lease(tmp_path).acquire("save", timeout=0.3, on_wait=seen.append)
    assert seen and seen[0].describe().endswith("rebuild, 75% done")
    first.release()
