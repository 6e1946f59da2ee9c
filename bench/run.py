"""paperreader's core benchmarks: one command, results as JSON plus a table.

    python bench/run.py --sizes 10k,100k [--with-1m] [--label after] [--rebuild]

Libraries are generated once (bench/corpus.py) under bench/libraries/<size>/ and reused;
results go to bench/results/<size>-<date>-<label>.json. Each measurement that is about a
fresh or a long-running process runs in its own child process, so start-up time and peak
memory are those of a real process, not of this driver.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LIBRARIES = BENCH / "libraries"
RESULTS = BENCH / "results"
OUT = BENCH / "out"
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
IMPORT_COUNT = 20_000

TYPED = [
    "large language models",
    "diffusion model for image synthesis",
    "speculative decoding",
    "graph neural network",
    "reinforcement learning from human feedback",
    "vision transformer",
    "quantization of weights",
    "retrieval augmented generation",
    "mixture of experts",
    "kv cache compression",
]
MISSPELT = [
    "transformr architecture",
    "difusion models",
    "reinforcment learning",
    "langauge model inference",
    "atention mechanism",
    "segmentaion",
    "quantizaton",
    "retreival augmented",
    "gausian splatting",
    "transformer~1",
]
COMMON = ["model", "learning", "language", "data", "performance", "training"]
PHRASES = ['"large language models"', '"neural network"', '"state of the art"', '"shared memory"']
WILDCARDS = ["trans*", "lang*", "optim*"]

TARGETS = {  # (10k/100k target, 1M target); None = no target at that size
    "startup_s": (1.0, 1.5),
    "typing_p95_ms": (50, 150),
    "fuzzy_p95_ms": (150, 400),
    "scroll_max_ms": (50, 50),
    "import_rate": (1000, 1000),
    "session_peak_mb": (300, 500),
    "save_p95_ms": (20, 20),
}


# -- helpers ------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 2),
        "p95": round(pct(values, 95), 2),
        "max": round(max(values), 2) if values else float("nan"),
    }


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, object]:
    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    import whoosh

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "whoosh": whoosh.versionstring(),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


def child(mode: str, *args: str, timeout: float = 3600) -> dict:
    """Run this file as a child in `mode`; it prints one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- children -----------------------------------------------------------------------------------
def child_build(root: str, count: str) -> dict:
    sys.path.insert(0, str(BENCH))
    from corpus import build_library_fast

    shutil.rmtree(root, ignore_errors=True)
    stats = build_library_fast(Path(root), int(count), say=lambda m: print(m, file=sys.stderr))
    stats["peak_mb"] = round(peak_mb(), 1)
    return stats


def child_startup(root: str) -> dict:
    """What the app does before its first screen: import, open the library, first 200 rows."""
    t0 = time.perf_counter()
    from paperreader.core.library import Library

    t1 = time.perf_counter()
    lib = Library(Path(root), seed=False)
    t2 = time.perf_counter()
    first = lib.search("", limit=200)
    t3 = time.perf_counter()
    assert len(first.hits) == min(200, first.total), "first page incomplete"
    return {
        "import_s": t1 - t0,
        "open_s": t2 - t1,
        "first_page_s": t3 - t2,
        "rows": len(first.hits),
        "total": first.total,
        "newest": first.hits[0].published.isoformat() if first.hits[0].published else None,
        "peak_mb": peak_mb(),
    }


def child_session(root: str) -> dict:
    """A long-running session: typing, fuzzy and other queries, scrolling, saves."""
    from paperreader.core.library import Library

    out: dict[str, object] = {}
    lib = Library(Path(root), seed=False)
    lib.search("", limit=200)
    rng = random.Random(7)
    private: list[float] = []  # RssAnon after each stage: ru_maxrss counts mapped index pages

    def timed(fn, *a, **kw) -> float:  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        fn(*a, **kw)
        return (time.perf_counter() - t) * 1000

    # The reader warms the search cache in the background a second after its first screen
    # (SearchIndex.warm): typing below is what a user sees from then on. typing_cold_ms (a
    # separate process) is typing at once, before any warming.
    t = time.perf_counter()
    out["warm_mb"] = round(lib.warm_search() / 1e6, 1)
    out["warm_s"] = round(time.perf_counter() - t, 2)
    out["typing_ms"] = summary(_typing(lib))
    private.append(_rss_mb("RssAnon"))
    # Misspelt words (corrected, "did you mean") and explicit fuzzy terms.
    fuzzy: list[float] = []
    suggested = 0
    for _ in range(3):
        for text in MISSPELT:
            t = time.perf_counter()
            result = lib.search(text, limit=50)
            fuzzy.append((time.perf_counter() - t) * 1000)
            suggested += bool(result.suggestion) or "~" in text
    out["fuzzy_ms"] = summary(fuzzy)
    out["fuzzy_suggested"] = f"{suggested}/{len(fuzzy)}"
    private.append(_rss_mb("RssAnon"))
    for name, queries in (("common", COMMON), ("phrase", PHRASES), ("wildcard", WILDCARDS)):
        times = [timed(lib.search, q, limit=50) for _ in range(3) for q in queries]
        out[f"{name}_ms"] = summary(times)
    out["first_page_warm_ms"] = summary([timed(lib.search, "", limit=200) for _ in range(5)])
    # Scrolling the whole list newest first, a page of 50 rows per PgDn: the first 100 pages,
    # then pages at random depths (to the very end), since deep pages are the slow ones.
    total = lib.search("", limit=1).total
    offsets = list(range(0, min(total, 5000), 50))
    offsets += sorted(rng.randrange(0, max(1, total - 50)) for _ in range(30)) + [
        max(0, total - 50)
    ]
    scroll = [timed(lib.search, "", offset=o, limit=50) for o in offsets]
    out["scroll_ms"] = summary(scroll)
    private.append(_rss_mb("RssAnon"))
    # Relevance-sorted deep paging: a query's page 20.
    out["query_page20_ms"] = summary(
        [timed(lib.search, q, offset=950, limit=50) for q in ("model", "learning", "graph")]
    )
    # Saves: each is YAML write + index update; the next search must see it.
    ids = [
        h.id for h in lib.search("", offset=rng.randrange(0, max(1, total - 300)), limit=300).hits
    ]
    picks = rng.sample(ids, min(20, len(ids)))
    bookmark = [timed(lib.toggle_bookmark, pid) for pid in picks]
    after_save = [timed(lib.search, "is:bookmarked", limit=50) for _ in picks[:5]]
    bookmark += [timed(lib.toggle_bookmark, pid) for pid in picks]
    note = [
        timed(lib.set_note, pid, f"benchmark note {i}\n\nsecond paragraph")
        for i, pid in enumerate(picks)
    ]
    note += [timed(lib.set_note, pid, "") for pid in picks]
    out["bookmark_ms"] = summary(bookmark)
    out["note_ms"] = summary(note)
    out["search_after_save_ms"] = summary(after_save)
    out["similar_ms"] = summary([timed(lib.similar, pid, 10) for pid in picks[:5]])
    private.append(_rss_mb("RssAnon"))
    out["peak_mb"] = round(peak_mb(), 1)
    out["private_peak_mb"] = round(max(private), 1)
    out["mapped_index_mb_at_end"] = round(_rss_mb("RssFile"), 1)
    lib.close()
    return out


def _typing(lib) -> list[float]:  # type: ignore[no-untyped-def]
    """Every keystroke searches the text so far, the last word as a prefix."""
    times = []
    for text in TYPED:
        for i in range(1, len(text) + 1):
            t = time.perf_counter()
            lib.search(text[:i], limit=50, partial_last=True)
            times.append((time.perf_counter() - t) * 1000)
    return times


def child_typing_cold(root: str) -> dict:
    from paperreader.core.library import Library

    lib = Library(Path(root), seed=False)
    lib.search("", limit=200)
    out = {"typing_cold_ms": summary(_typing(lib)), "peak_mb": round(peak_mb(), 1)}
    lib.close()
    return out


def child_import(root: str, snapshot: str, index: str = "index") -> dict:
    """Import a snapshot file into a fresh library; RSS sampled as it goes (constant memory?).
    Then the background indexing, timed, unless `index` is "records-only"."""
    from paperreader.core import importers
    from paperreader.core.library import Library

    shutil.rmtree(root, ignore_errors=True)
    lib = Library(Path(root), seed=False)
    base = peak_mb()
    samples: list[tuple[int, float]] = []

    def progress(done: int, _total: int | None) -> None:
        if not samples or done - samples[-1][0] >= 2000:
            samples.append((done, round(_rss_mb(), 1)))

    try:
        records = importers.read_records(Path(snapshot), "arxiv_snapshot")
    except Exception:  # not registered yet: read with the module itself
        from paperreader.core.importers import arxiv_snapshot

        records = arxiv_snapshot.read(Path(snapshot))
    # As `paperreader import` does: records first (the command returns after them), then
    # the search index catches up (a background process; timed here in this one).
    t, c = time.perf_counter(), time.process_time()
    report = lib.add_papers(records, progress=progress, index=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    t2 = time.perf_counter()
    indexed = lib.catch_up() if index != "records-only" else 0
    index_wall = time.perf_counter() - t2
    found = lib.search("model", limit=1).total if indexed else None
    lib.close()
    n = report.added + report.updated + report.unchanged
    return {
        "papers": n,
        "skipped": report.skipped,
        "seconds": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rate": round(n / wall, 1),
        "index_seconds": round(index_wall, 2),
        "index_rate": round(indexed / index_wall, 1) if indexed else None,
        "searchable_rate": round(n / (wall + index_wall), 1) if indexed else None,
        "model_hits_after": found,
        "rss_mb_by_papers": samples,
        "rss_before_mb": round(base, 1),
        "peak_mb": round(peak_mb(), 1),
    }


def _rss_mb(kind: str = "VmRSS") -> float:
    """Resident memory now: all of it (VmRSS), private (RssAnon) or pages of mapped files
    (RssFile: the memory-mapped index, i.e. the OS's page cache, shared and reclaimable)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(kind + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


CHILDREN = {
    "build": child_build,
    "startup": child_startup,
    "session": child_session,
    "typing_cold": child_typing_cold,
    "import": child_import,
}


# -- the driver ---------------------------------------------------------------------------------
def startup(root: Path, runs: int = 5) -> dict:
    """Open-to-first-page in a fresh process, timed end to end from outside (interpreter too)."""
    walls, details = [], []
    for _ in range(runs):
        t = time.perf_counter()
        detail = child("startup", str(root))
        walls.append(time.perf_counter() - t)
        details.append(detail)
    best = details[walls.index(pct(walls, 50))]
    return {
        "wall_s": summary(walls),
        "median_run": {k: round(v, 3) if isinstance(v, float) else v for k, v in best.items()},
    }


def run_size(label: str, size: str, rebuild: bool, say) -> dict:  # type: ignore[no-untyped-def]
    count = SIZES[size]
    root = LIBRARIES / size
    result: dict[str, object] = {"size": size, "papers": count, "label": label}
    if rebuild or not (root / "papers.db").exists():
        say(f"[{size}] building the library ({count:,} papers) ...")
        result["build"] = child("build", str(root), str(count), timeout=4 * 3600)
        say(f"[{size}] built: {result['build']}")
    # The first run ever: no warm-up saved by an earlier run (core/search/warm_files.py).
    shutil.rmtree(root / "index-warm", ignore_errors=True)
    say(f"[{size}] start-up ...")
    result["startup"] = startup(root)
    say(f"[{size}] typing before the cache is warm ...")
    result["typing_cold"] = child("typing_cold", str(root))
    say(f"[{size}] session (typing, fuzzy, scrolling, saves) ...")
    result["session"] = child("session", str(root))  # its warm-up is saved
    say(f"[{size}] typing at once, at the next start ...")
    result["typing_next_start"] = child("typing_cold", str(root))
    return result


def import_bench(say, count: int = IMPORT_COUNT, index: bool = True) -> dict:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    from corpus import write_snapshot

    snapshot = OUT / f"snapshot-{count // 1000}k.jsonl"
    if not snapshot.exists():
        say(f"writing {snapshot} ...")
        write_snapshot(snapshot, count, seed=2)
    say(f"importing {snapshot.name} ...")
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        mode = "index" if index else "records-only"
        return child("import", str(Path(tmp) / "lib"), str(snapshot), mode, timeout=4 * 3600)


def table(results: list[dict], imported: dict | None) -> str:
    rows = []

    def row(what: str, value: str, target: str) -> None:
        rows.append(f"| {what:<44} | {value:>26} | {target:>12} |")

    rows.append(f"| {'what':<44} | {'value':>26} | {'target':>12} |")
    rows.append(f"|{'-' * 46}|{'-' * 28}|{'-' * 14}|")
    for r in results:
        big = r["papers"] >= 1_000_000
        t = {k: v[1 if big else 0] for k, v in TARGETS.items()}
        s, st = r["session"], r["startup"]
        size = r["size"]
        if "build" in r:
            b = r["build"]
            row(f"{size}: index build (full rebuild)", f"{b['index_rate']:,.0f} papers/s", "")
        row(
            f"{size}: start to first page (200 rows)",
            f"{st['wall_s']['p50']:.2f} s",
            f"<= {t['startup_s']} s",
        )
        m = st["median_run"]
        row(
            f"{size}:   import / open / first page",
            f"{m['import_s']:.2f}/{m['open_s']:.2f}/{m['first_page_s']:.2f} s",
            "",
        )
        for key, what, target in (
            ("typing_ms", "typing, per keystroke p50/p95", f"p95 <= {t['typing_p95_ms']}"),
            ("fuzzy_ms", "misspelt / fuzzy p50/p95", f"p95 <= {t['fuzzy_p95_ms']}"),
            ("common_ms", "common word p50/p95", ""),
            ("phrase_ms", "phrase p50/p95", ""),
            ("wildcard_ms", "trans* etc. p50/p95", ""),
            ("scroll_ms", "scroll pages of 50 p50/p95/max", f"max <= {t['scroll_max_ms']}"),
            ("query_page20_ms", "query page 20 p50/p95", ""),
            ("bookmark_ms", "bookmark save p50/p95", f"<= {t['save_p95_ms']}"),
            ("note_ms", "note save p50/p95", f"<= {t['save_p95_ms']}"),
            ("similar_ms", "similar papers p50/p95", ""),
        ):
            v = s[key]
            if key == "typing_ms" and "typing_cold" in r:
                cold = r["typing_cold"]["typing_cold_ms"]
                row(
                    f"{size}: typing before warm-up p50/p95",
                    f"{cold['p50']:.0f}/{cold['p95']:.0f} ms",
                    "",
                )
                if "typing_next_start" in r:
                    again = r["typing_next_start"]["typing_cold_ms"]
                    row(
                        f"{size}: typing at once, next start (saved warm-up) p50/p95",
                        f"{again['p50']:.0f}/{again['p95']:.0f} ms",
                        "",
                    )
                row(
                    f"{size}: warm-up (background, first run)",
                    f"{s['warm_s']:.1f} s, {s['warm_mb']:.0f} MB",
                    "",
                )
            extra = f"/{v['max']:.0f}" if key == "scroll_ms" else ""
            row(f"{size}: {what}", f"{v['p50']:.0f}/{v['p95']:.0f}{extra} ms", target)
        row(
            f"{size}: session peak RSS (core only)",
            f"{s['peak_mb']:.0f} MB",
            f"<= {t['session_peak_mb']} MB",
        )
        if "private_peak_mb" in s:
            row(
                f"{size}:   private / mapped index pages",
                f"{s['private_peak_mb']:.0f} / {s['mapped_index_mb_at_end']:.0f} MB",
                "",
            )
    if imported:
        row(
            f"import {imported['papers']:,} from a snapshot file",
            f"{imported['rate']:,.0f} papers/s",
            f">= {TARGETS['import_rate'][0]}",
        )
        if imported["index_rate"]:
            row(
                "  then indexed for search (background)",
                f"{imported['index_rate']:,.0f} papers/s",
                "",
            )
        rss = imported["rss_mb_by_papers"]
        if rss:
            row(
                "  import RSS first -> last sample",
                f"{rss[0][1]:.0f} -> {rss[-1][1]:.0f} MB",
                "constant",
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10k,100k")
    ap.add_argument(
        "--with-1m", action="store_true", help="also the 1,000,000-paper library (slow)"
    )
    ap.add_argument("--label", default="run", help="e.g. before / after, kept in the file name")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the libraries")
    ap.add_argument("--no-import", action="store_true", help="skip the snapshot import benchmark")
    ap.add_argument(
        "--import-lines",
        type=int,
        default=IMPORT_COUNT,
        help="lines of the generated snapshot file to import (issue 4 quotes 100000)",
    )
    ap.add_argument(
        "--import-records-only",
        action="store_true",
        help="time the import's records, not the background indexing after them",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        mode, *rest = args.child
        print(json.dumps(CHILDREN[mode](*rest)))
        return 0

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if args.with_1m and "1m" not in sizes:
        sizes.append("1m")
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    say(f"machine: {info}")
    stamp = date.today().isoformat()
    imported = (
        None
        if args.no_import
        else import_bench(say, args.import_lines, not args.import_records_only)
    )
    if imported and not sizes:  # the import alone: its own results file
        path = RESULTS / f"import-{args.import_lines // 1000}k-{stamp}-{args.label}.json"
        path.write_text(json.dumps({"import": imported, "machine": info}, indent=1) + "\n")
        say(f"wrote {path}")
    results = []
    for size in sizes:
        r = run_size(args.label, size, args.rebuild, say)
        r["machine"] = info
        r["import"] = imported
        r["date"] = stamp
        results.append(r)
        path = RESULTS / f"{size}-{stamp}-{args.label}.json"
        path.write_text(json.dumps(r, indent=1) + "\n")
        say(f"[{size}] wrote {path}")
    print(table(results, imported))
    return 0


if __name__ == "__main__":
    sys.exit(main())
