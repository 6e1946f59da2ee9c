"""Many commands on one library at once, with random kill -9: no write lost, no command failed.

For STRESS_SECONDS (60 with --run-slow, 12 in CI): 2 processes searching, 6 bookmarking /
tagging / writing notes, 1 importing 2,000-paper files, 1 running `paperreader index`, and a
killer sending SIGKILL to one of them every 0.5-2 s. Afterwards every write whose command
exited 0 is in the store and found by search, no command failed for a reason other than being
killed, no paperreader process is left on the library, and `paperreader check` is clean.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import child_env, long_tests

SEARCH_WORDS = ["attention", "diffusion", "model", "language", "stress", "video", "zzqx"]


@dataclass
class Tally:
    commands: int = 0
    kills: int = 0
    failures: list[str] = field(default_factory=list)
    writes: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, paper, value)
    imported: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _snapshot_file(folder: Path, number: int, size: int = 2000) -> Path:
    """An arXiv snapshot file of `size` new papers (ids unique to this file)."""
    path = folder / f"import-{number}.jsonl"
    words = ["stress", "lattice", "graph", "kernel", "quantum", "sparse", "neural", "prior"]
    rng = random.Random(number)
    with path.open("w", encoding="utf-8") as out:
        for i in range(size):
            abstract = " ".join(rng.choice(words) for _ in range(40))
            out.write(
                json.dumps(
                    {
                        "id": f"9{number:03d}.{i:05d}",
                        "title": f"Stress paper {number} {i} on {rng.choice(words)}",
                        "authors": "A. Writer, B. Reader",
                        "authors_parsed": [["Writer", "A.", ""], ["Reader", "B.", ""]],
                        "abstract": abstract,
                        "categories": "cs.LG",
                        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
                        "update_date": "2007-05-23",
                    }
                )
                + "\n"
            )
    return path


def _letters(n: int) -> str:
    out = ""
    while True:
        n, rest = divmod(n, 26)
        out += chr(ord("a") + rest)
        if not n:
            return out


class Runner:
    """Runs paperreader commands on one library, each a child process the killer may hit."""

    def __init__(self, root: Path, tally: Tally) -> None:
        self.root = root
        self.tally = tally
        self.running: dict[int, subprocess.Popen[str]] = {}
        self.killed: set[int] = set()
        self.lock = threading.Lock()

    def run(self, *args: str) -> tuple[int | None, str]:
        """Exit code (None when the killer hit it) and stderr."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "paperreader", "--library", str(self.root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=child_env(),
        )
        with self.lock:
            self.running[proc.pid] = proc
        _, err = proc.communicate(timeout=300)
        with self.lock:
            self.running.pop(proc.pid, None)
            killed = proc.pid in self.killed
        with self.tally.lock:
            self.tally.commands += 1
        if killed or proc.returncode == -signal.SIGKILL:
            return None, err
        if proc.returncode != 0:
            with self.tally.lock:
                self.tally.failures.append(f"{' '.join(args)} -> {proc.returncode}: {err.strip()}")
        return proc.returncode, err

    def kill_one(self, rng: random.Random) -> None:
        with self.lock:
            if not self.running:
                return
            pid = rng.choice(list(self.running))
            self.killed.add(pid)
        try:
            os.kill(pid, signal.SIGKILL)
            with self.tally.lock:
                self.tally.kills += 1
        except ProcessLookupError:
            pass


def _paperreader_processes(root: Path) -> list[str]:
    """Command lines of live processes that work on this library."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if str(root) in cmdline and "paperreader" in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


def test_concurrent_commands_with_kills_lose_nothing(
    library_path: Path, tmp_path: Path, request
) -> None:  # type: ignore[no-untyped-def]
    seconds = 60 if long_tests(request.config) else 12
    root = library_path
    tally = Tally()
    runner = Runner(root, tally)
    papers = [
        h
        for h in json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "paperreader",
                    "--library",
                    str(root),
                    "search",
                    "",
                    "--json",
                    "--limit",
                    "100",
                ],
                capture_output=True,
                text=True,
                env=child_env(),
                check=True,
            ).stdout
        )["hits"]
    ]
    ids = [p["id"] for p in papers][:40]
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def unique() -> int:
        with counter_lock:
            return next(counter)

    def searcher(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            runner.run("search", rng.choice(SEARCH_WORDS), "--limit", "5")

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            paper, n = rng.choice(ids), unique()
            kind = rng.choice(["bookmark", "tag", "note"])
            if kind == "bookmark":
                code, _ = runner.run("bookmark", paper)
                value = "on"
            elif kind == "tag":
                value = f"stress{n}"
                code, _ = runner.run("tag", paper, value)
            else:
                value = "stressnote" + _letters(n)  # one word the analyser keeps whole
                code, _ = runner.run("note", paper, "--append", value)
            if code == 0:
                with tally.lock:
                    tally.writes.append((kind, paper, value))

    def importer() -> None:
        number = 0
        while time.monotonic() < stop:
            number += 1
            path = _snapshot_file(tmp_path, number)
            code, _ = runner.run("import", str(path))
            if code == 0:
                with tally.lock:
                    tally.imported.append(f"9{number:03d}.00000")

    def indexer() -> None:
        while time.monotonic() < stop:
            runner.run("index", "--quiet")
            time.sleep(0.5)

    def killer() -> None:
        rng = random.Random(7)
        time.sleep(1.0)
        while time.monotonic() < stop:
            runner.kill_one(rng)
            time.sleep(rng.uniform(0.5, 2.0))

    threads = [threading.Thread(target=searcher, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=writer, args=(100 + i,)) for i in range(6)]
    threads += [threading.Thread(target=importer), threading.Thread(target=indexer)]
    threads += [threading.Thread(target=killer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The last indexer waits for (or becomes) the one indexer and finishes the queue.
    final = subprocess.run(
        [sys.executable, "-m", "paperreader", "--library", str(root), "index", "--quiet"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=600,
    )
    assert final.returncode == 0, final.stderr
    deadline = time.monotonic() + 10
    while _paperreader_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _paperreader_processes(root)

    report = (
        f"{tally.commands} commands, {tally.kills} kills, {len(tally.writes)} writes, "
        f"{len(tally.imported)} imports"
    )
    print(report)
    assert not tally.failures, report + "\n" + "\n".join(tally.failures[:10])
    assert not left, left

    from paperreader.core.library import Library

    library = Library(root)
    try:
        for kind, paper, value in tally.writes:
            user = library.user(paper)
            if kind == "bookmark":
                # a later `bookmark` may have been killed, never unset: it stays on
                assert user.bookmarked, (paper, report)
                found = library.search("is:bookmarked", limit=1000)
            elif kind == "tag":
                assert value in user.tags, (paper, value)
                found = library.search(f"tags:{value}")
            else:
                assert user.note is not None and value in user.note.text, (paper, value)
                found = library.search(value, correct=False)
            assert paper in {h.id for h in found.hits}, (kind, paper, value, report)
        for paper in tally.imported:
            assert library.get(paper).id == paper  # every import that exited 0 is kept
        assert library.check() == [], library.check()
    finally:
        library.close()
    assert tally.writes, "the writers wrote nothing"
