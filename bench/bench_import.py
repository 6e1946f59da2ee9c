"""Import to searchable, as the user sees it: from `paperreader import FILE` (a real process,
as typed) to the last paper of the file found by a search, polled every 0.1 s from another
process. Also the peak of the index's temporary folders while indexing (`index.new/`, Whoosh's
temporary runs) against the final index's size.

    python bench/bench_import.py --papers 10000,100000 [--label after]
    python bench/bench_import.py --papers 1000000          # opt-in: ~17 min at the target
    python bench/bench_import.py --file /work/shared/fixtures/arxiv_atom_all-testing_100entries_2026.xml
    python bench/bench_import.py --file FILE --into LIBRARY --runs 3   # into a copy of a library

Snapshot files are generated once under bench/out/ (bench/corpus.py); results go to
bench/results/import-<papers>-<date>-<label>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))


def _folder_bytes(folder: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(base, name)).st_size
    return total


def _indexer_memory_mb(
    library: Path, each: dict[int, dict[str, object]] | None = None, at: float = 0.0
) -> dict[str, float]:
    """Memory of the processes working on `library` (the import, the indexer and its
    workers, whose command lines name it), in MB: the sum and the largest of their resident
    sets (RSS counts pages a forked worker shares with its parent in both), and the sum of
    their proportional sets (PSS: a shared page split between its sharers; the honest total).
    `each` collects every process's own peaks (pid -> role, rss, pss, and `at`: the seconds
    into the import when its PSS peaked)."""
    rss: list[float] = []
    pss = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if str(library).encode() not in cmdline:
                continue
            own = {"rss": 0.0, "pss": 0.0}
            for line in Path(f"/proc/{entry}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    own["rss"] = int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    own["pss"] = int(line.split()[1]) / 1024
            rss.append(own["rss"])
            pss += own["pss"]
            if each is not None:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parent = int(stat[1])
                role = b" import " in cmdline.replace(b"\0", b" ") and "import" or "indexer"
                seen = each.setdefault(int(entry), {"role": role, "parent": parent})
                if own["pss"] > float(seen.get("pss", 0.0)):  # type: ignore[arg-type]
                    seen["pss_at_s"] = round(at, 1)
                seen["cpu_s"] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
                for key in ("rss", "pss"):
                    seen[key] = max(float(seen.get(key, 0.0)), own[key])  # type: ignore[arg-type]
    return {"all": sum(rss), "largest": max(rss, default=0.0), "pss_all": pss}


def _roles(each: dict[int, dict[str, object]]) -> list[dict[str, object]]:
    """Each process's peaks; a forked worker has its parent's command line (the indexer's),
    and so has the child a worker forks for each segment."""
    out = []
    for seen in (each[pid] for pid in sorted(each)):
        role = seen["role"]
        parent = each.get(seen["parent"])  # type: ignore[call-overload]
        if parent is not None and parent["role"] == role == "indexer":
            grandparent = each.get(parent["parent"])  # type: ignore[call-overload]
            indexer = grandparent is not None and grandparent["role"] == "indexer"
            role = "segment" if indexer else "worker"
        out.append(
            {
                "role": role,
                "rss_mb": round(seen["rss"]),  # type: ignore[call-overload]
                "pss_mb": round(seen["pss"]),  # type: ignore[call-overload]
                "pss_peak_at_s": seen.get("pss_at_s"),
                "cpu_s": round(float(seen.get("cpu_s", 0.0)), 1),  # type: ignore[arg-type]
            }
        )
    return out


def _records(path: Path) -> int:
    from paperreader.core import importers
    from paperreader.core.models import Paper

    return sum(isinstance(r, Paper) for r in importers.read_records(path))


def _ids(path: Path) -> list[str]:
    from paperreader.core import importers
    from paperreader.core.models import Paper

    return [r.id for r in importers.read_records(path) if isinstance(r, Paper)]


def measure(
    path: Path, work: Path, src: Path = ROOT / "src", into: Path | None = None
) -> dict[str, object]:
    from paperreader.core.library import Library

    library = work / "lib"
    shutil.rmtree(library, ignore_errors=True)
    if into is not None:  # an existing library (copied): the import adds to it
        shutil.copytree(into, library)
    base = 0
    present: set[str] = set()  # the file's papers the library has already (updates)
    if into is not None:
        with Library(library, seed=False) as lib:
            base = lib.records.count()
            present = set(lib.records.get_many(_ids(path)))
    env = {**os.environ, "PYTHONPATH": str(src)}
    expected = _records(path)
    peak_temp = [0]
    peak_memory: dict[str, float] = {}
    each: dict[int, dict[str, object]] = {}
    stop = threading.Event()

    def sample() -> None:  # the index's temporary folders, every 0.2 s
        while not stop.wait(0.2):
            temp = sum(
                _folder_bytes(p)
                for p in library.glob("*")
                if p.is_dir() and (p.name.endswith((".new", ".old", ".stream")) or "tmp" in p.name)
            )
            index = library / "index"
            if index.exists():
                temp += sum(f.stat().st_size for f in index.glob("*.tmp*") if f.is_file()) + sum(
                    _folder_bytes(d) for d in index.glob("*.tmp") if d.is_dir()
                )
            peak_temp[0] = max(peak_temp[0], temp)
            now = time.perf_counter() - started
            for key, value in _indexer_memory_mb(library, each, now).items():
                if key == "pss_all" and value > peak_memory.get(key, 0.0):
                    peak_memory["pss_all_at_s"] = round(now, 1)
                peak_memory[key] = max(peak_memory.get(key, 0.0), value)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    proc = subprocess.run(
        [sys.executable, "-m", "paperreader", "--library", str(library), "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    returned = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    found_at = None
    papers = 0
    with Library(library, seed=False) as lib:
        while time.perf_counter() - started < 4 * 3600:
            try:  # every paper of the library (the file's among them) in the search index
                records = lib.records.count()
                # (cheapest first: counting the queue scans it, ~20 ms at 500,000 marks, which
                # ten times a second took a fifth of a core from the indexing it waited for)
                if (
                    records >= base + expected - len(present)
                    and lib.index.doc_count() >= records
                    and lib.unindexed_count() == 0
                ):
                    found_at = time.perf_counter() - started
                    papers = records - base
                    break
            except Exception:  # noqa: BLE001 - the index is being swapped in
                pass
            time.sleep(0.1)
        stop.set()
        searchable = lib.search("", limit=1).total
    index_bytes = _folder_bytes(library / "index")
    return {
        "file": path.name,
        "into": f"{into} ({base:,} papers)" if into else None,
        "papers": papers,
        "command_s": round(returned, 2),
        "searchable_s": round(found_at, 2) if found_at else None,
        "papers_per_s": round(papers / found_at, 1) if found_at else None,
        "searchable_total": searchable,
        "temp_peak_mb": round(peak_temp[0] / 1e6, 1),
        "index_mb": round(index_bytes / 1e6, 1),
        "indexer_rss_peak_mb": {key: round(value) for key, value in peak_memory.items()},
        "process_peaks_mb": _roles(each),
        "loadavg": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--papers", default="10000", help="sizes of generated snapshot files")
    ap.add_argument("--file", type=Path, help="import this file instead")
    ap.add_argument("--label", default="run")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run (a before)")
    ap.add_argument("--into", type=Path, help="import into a copy of this library")
    ap.add_argument("--runs", type=int, default=1, help="runs of each file")
    ap.add_argument("--keep", type=Path, help="move the library built here to this folder")
    args = ap.parse_args(argv)
    from run import machine

    runs = []
    if args.file:
        runs.append(args.file)
    else:
        from corpus import write_snapshot

        for size in (int(s) for s in args.papers.split(",") if s.strip()):
            snapshot = OUT / f"snapshot-{size // 1000}k.jsonl"
            if not snapshot.exists():
                write_snapshot(snapshot, size, seed=2)
            runs.append(snapshot)
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for path in [p for p in runs for _ in range(args.runs)]:
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            result = measure(path, Path(tmp), args.src, args.into)
            if args.keep:  # (for the phrase and reader benchmarks at this size)
                from paperreader.core.search.lease import Lease

                waited = time.monotonic()  # the indexer's last steps after the last commit
                while Lease(Path(tmp) / "lib").holder() and time.monotonic() - waited < 120:
                    time.sleep(0.2)
                shutil.rmtree(args.keep, ignore_errors=True)
                shutil.move(Path(tmp) / "lib", args.keep)
        result["machine"] = machine()
        print(json.dumps(result))
        name = path.stem if args.file else f"{result['papers'] // 1000}k"
        out = RESULTS / f"import-{name}-{date.today().isoformat()}-{args.label}.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
