"""The background indexer leaves nothing behind: it exits when its library folder disappears,
and a dying worker ends a rebuild with one log line (no traceback, no hang); the next
indexer finishes the work."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from paperreader.core.library import Library
from paperreader.core.models import Paper
from paperreader.core.records import Records
from paperreader.core.search import stream
from paperreader.core.search.indexer import Indexer
from paperreader.core.search.lease import Lease
from paperreader.core.search.schema import SCHEMA_VERSION

from .conftest import child_env


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _delete(root: Path) -> None:
    """`rm -rf` of a library that the indexer or its workers are writing in: again when a
    file written meanwhile kept a folder from going (rmtree: "Directory not empty")."""
    for _ in range(50):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return


def _queue_papers(lib: Library) -> None:
    """1,200 papers queued for the indexer: enough for its bulk catch-up's workers."""
    lib.add_papers(
        [Paper(id=f"gone-{n}", title=f"Paper {n} on lattices") for n in range(1200)],
        index=False,
    )


def test_the_background_indexer_exits_when_its_library_is_deleted(library_path: Path) -> None:
    with Library(library_path) as lib:
        lib.add_papers(
            [
                Paper(id=f"gone-{n}", title=f"Paper {n} about lattices", abstract="words " * 200)
                for n in range(4000)
            ],
            index=False,
        )
        assert lib.start_indexer()
    deadline = time.monotonic() + 30
    holder = None
    while holder is None and time.monotonic() < deadline:
        holder = Lease(library_path).holder()
        time.sleep(0.05)
    assert holder is not None, "the background indexer never took the lease"
    _delete(library_path)
    deadline = time.monotonic() + 20
    while _running(holder.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(holder.pid), "the indexer kept running on a deleted library"
    assert not library_path.exists(), "the indexer made the library folder again"


@pytest.mark.parametrize(
    ("cls", "step"),
    [(Records, "all_queued"), (Indexer, "_bulk_procs")],
    ids=["new-library-before-its-empty-index", "before-the-bulk-folder"],
)
def test_a_library_deleted_while_the_indexer_starts_is_not_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cls: type, step: str
) -> None:
    """The indexer's folders (index.new, the bulk stream's) were made with their parents: a
    library deleted between the lease and them came back as an empty folder (seen in CI)."""
    root = tmp_path / "library"
    with Library(root, index_seed=False) as lib:  # a new library: its index still missing
        if step == "_bulk_procs":
            lib.run_indexer()
        _queue_papers(lib)
        original = getattr(cls, step)
        calls: list[str] = []

        def deleting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(step)
            answer = original(self, *args, **kwargs)
            shutil.rmtree(root, ignore_errors=True)
            return 2 if step == "_bulk_procs" else answer

        monkeypatch.setattr(cls, step, deleting)
        assert lib.run_indexer() == 0
    assert calls, f"the indexer never reached {step}"
    assert not root.exists(), "the indexer made the library folder again"


def test_a_worker_does_not_make_a_deleted_library_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk catch-up's workers read the papers themselves: one that found the library
    deleted made its records (and the folder) again; it opens them only if they exist."""
    root = tmp_path / "library"
    with Library(root, index_seed=False) as lib:
        lib.run_indexer()
        _queue_papers(lib)
        original = stream.PaperLoader.__call__
        deleted: list[bool] = []  # (each forked process has its own)

        def deleting(self, chunk):  # type: ignore[no-untyped-def]  # (in a forked worker)
            if not deleted:  # before its first papers are read
                deleted.append(True)
                # Moved away first, so it is gone at once: the indexer kills this process
                # (a child of a worker) when the other worker fails, maybe mid-rmtree.
                with contextlib.suppress(FileNotFoundError):  # (another child moved it)
                    os.rename(root, root.with_name(f"deleted-{os.getpid()}"))
                    _delete(root.with_name(f"deleted-{os.getpid()}"))
            return original(self, chunk)

        monkeypatch.setattr(stream.PaperLoader, "__call__", deleting)
        monkeypatch.setattr(Indexer, "_bulk_procs", lambda self: 2)
        assert lib.run_indexer() == 0
    assert not root.exists(), "a worker made the library folder again"


def test_an_error_while_the_library_is_being_deleted_ends_the_indexer_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rm -rf` removes a library's files before its folder: an error the indexer meets
    meanwhile (a worker finding its index gone, say) is the deletion's, not one to raise."""
    root = tmp_path / "library"
    with Library(root, index_seed=False) as lib:
        lib.run_indexer()
        _queue_papers(lib)

        def failing(self):  # type: ignore[no-untyped-def]
            threading.Timer(0.3, _delete, (root,)).start()  # (the folder goes after the error)
            raise FileNotFoundError(root / "index.stream" / "MAIN_WRITELOCK")

        monkeypatch.setattr(Indexer, "_bulk_procs", failing)
        assert lib.run_indexer() == 0
    assert not root.exists(), "the indexer made the library folder again"


CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from paperreader.core.search import workers, writer

    writer.PARALLEL_REBUILD_FROM = 10  # the sample's 98 papers in two worker processes

    def dying(folder, inbox, outbox, me, load=None, gathered=None):  # a worker killed once it has work (the OOM killer, say)
        inbox.get()
        os.kill(os.getpid(), signal.SIGKILL)

    workers.work = dying  # what each forked worker runs
    from paperreader.cli import main

    sys.exit(main(["--library", sys.argv[1], "reindex"]))
    """
)


# A worker killed halfway through a message to the indexer: the indexer had read on for ever
# (its one queue's pipe had a write end in the indexer too). The same reindex, the same end.
HALF_SAID = CRASH.replace(
    "    inbox.get()\n",
    '    inbox.get()\n    os.write(outbox.fileno(), (4096).to_bytes(4, "big") + b"half a message")\n',
)
assert HALF_SAID != CRASH


@pytest.mark.parametrize(
    ("extra", "script"),
    [(0, CRASH), (3000, CRASH), (0, HALF_SAID)],
    ids=["killed", "killed-while-fed", "killed-mid-message"],
)
def test_a_dying_rebuild_worker_is_one_line_and_the_next_indexer_finishes(
    library_path: Path, extra: int, script: str
) -> None:
    if extra:  # enough papers that the rebuild is still feeding its workers when they die
        with Library(library_path) as lib:
            lib.add_papers(
                [
                    Paper(id=f"w-{n}", title=f"Paper {n} on graphs", abstract="words " * 50)
                    for n in range(extra)
                ],
                index=False,
            )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(library_path)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert time.monotonic() - started < 60, "the rebuild hung on its dead workers"
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("paperreader: ") for line in lines), lines
    assert any("indexing worker" in line for line in lines), lines
    with Library(library_path) as lib:  # the lease died with the process: the next one runs
        assert Lease(library_path).holder() is None
        lib.reindex()
        assert lib.search("", limit=1).total == 98 + extra
        assert lib.check() == []
        assert not (library_path / "index.new").exists()


CUT_SHORT = textwrap.dedent(
    """
    import json, multiprocessing, os, signal, sys
    from paperreader.core.search import workers, writer

    writer.PARALLEL_REBUILD_FROM = 10
    workers.SEGMENT_DOCS = 300  # small segments: several finish before the kill
    workers.FEED_CHUNK = 50
    work = workers.work
    taken = [multiprocessing.Value("i", 0) for _ in range(2)]  # (each worker's, over its children)

    def dying(folder, inbox, outbox, me, load=None, gathered=None):  # killed after its 20th chunk (several segments done)
        class Box:
            def get(self, **wait):
                with taken[me].get_lock():
                    taken[me].value += 1
                    count = taken[me].value
                if count > 20:
                    os.kill(os.getpid(), signal.SIGKILL)
                return inbox.get(**wait)

        work(folder, Box(), outbox, me, load, gathered)

    workers.work = dying
    from paperreader.cli import main

    sys.exit(main(["--library", sys.argv[1], "reindex"]))
    """
)


def test_a_rebuild_cut_short_resumes_from_its_finished_segments(library_path: Path) -> None:
    from paperreader.core.search import journal

    with Library(library_path) as lib:
        lib.add_papers(
            [
                Paper(id=f"r-{n:05d}", title=f"Paper {n} on sheaves", abstract="words " * 30)
                for n in range(4000)
            ],
            index=False,
        )
    done = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, str(library_path)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    fresh = library_path / "index.new"
    kept = journal.load(fresh, SCHEMA_VERSION)
    assert kept is not None and kept.count >= 300, "no finished segment was kept"
    with Library(library_path) as lib:
        fed: list[int] = []
        lib.run_indexer(progress=lambda n, total: fed.append(n))  # resumes: not from the start
        assert fed and 4000 not in fed, fed  # fed only what the kept segments do not hold
        assert lib.search("", limit=1).total == 4098
        assert lib.search("sheaves", limit=5000).total == 4000
        assert lib.check() == []
        assert not fresh.exists() and not journal.exists(fresh)


SLOW_STREAM = textwrap.dedent(
    """
    import sys, time
    from paperreader.core.search import bulk, indexer, workers

    indexer.BULK_CATCH_UP_FROM = 100
    workers.SEGMENT_DOCS = 10_000
    workers.FEED_CHUNK = 20
    add = bulk.SegmentBuilder.add

    def slow_add(self, doc):  # a slow worker: still busy when its indexer is killed
        time.sleep(0.01)
        add(self, doc)

    bulk.SegmentBuilder.add = slow_add
    from paperreader.cli import main

    sys.exit(main(["--library", sys.argv[1], "index"]))
    """
)


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_the_workers_of_a_killed_indexer_leave_too(library_path: Path) -> None:
    """kill -9 of the indexer in its bulk catch-up: its worker processes (which hold its
    queues' pipes open, so never see them close) notice and exit; the next indexer finishes."""
    import os
    import signal

    with Library(library_path) as lib:
        lib.add_papers(
            [Paper(id=f"k-{n:05d}", title=f"Paper {n} on lattices") for n in range(1500)],
            index=False,
        )
    proc = subprocess.Popen([sys.executable, "-c", SLOW_STREAM, str(library_path)], env=child_env())
    deadline = time.monotonic() + 60
    while len(_processes_naming(str(library_path))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # the indexer and its two workers
    assert len(_processes_naming(str(library_path))) >= 3
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while _processes_naming(str(library_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(str(library_path)) == [], "workers outlived their indexer"
    with Library(library_path) as lib:
        lib.run_indexer()
        assert lib.search("lattices", limit=1).total == 1500
        assert lib.index.doc_count() == lib.count()
        assert not (library_path / "index.stream").exists()


HALF_CHUNK = textwrap.dedent(
    """
    import os, signal, sys, time
    from paperreader.core.search import indexer, workers

    indexer.BULK_CATCH_UP_FROM = 100

    def send(self, chunk, ids=None):  # killed halfway through its first chunk to a worker
        os.write(self.inboxes[0]._writer.fileno(), (1 << 20).to_bytes(4, "big") + b"half")
        time.sleep(0.5)  # (the worker is reading the rest)
        os.kill(os.getpid(), signal.SIGKILL)

    workers.Workers.send = send
    from paperreader.cli import main

    sys.exit(main(["--library", sys.argv[1], "index"]))
    """
)


def test_a_worker_left_with_half_a_chunk_leaves_too(library_path: Path) -> None:
    """The indexer killed halfway through writing a chunk to a worker: the worker sees the
    end of its pipe (it holds no write end of it) and exits, instead of reading for ever."""
    with Library(library_path) as lib:
        lib.add_papers(
            [Paper(id=f"h-{n:05d}", title=f"Paper {n} on lattices") for n in range(300)],
            index=False,
        )
    done = subprocess.run(
        [sys.executable, "-c", HALF_CHUNK, str(library_path)], env=child_env(), timeout=60
    )
    assert done.returncode == -9
    deadline = time.monotonic() + 10
    while _processes_naming(str(library_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(str(library_path)) == [], "a worker read on for ever"
