"""Recommendations at library scale: tf-idf build, cache load, training + ranking, cached ranking.

    python bench/bench_recommend.py [--count 100000] [--label NAME]

The records (no search index: the recommender reads SQLite only) are generated once with
bench/corpus.py into bench/libraries/recommend-<count>/papers.db and reused. The measurements
run in a child process so its peak memory is the recommender's, not the generator's.
Results go to bench/results/recommend-<size>-<date>[-label].json.
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
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
sys.path.insert(0, str(BENCH))

from paperreader.core.records import Records  # noqa: E402


def size_name(count: int) -> str:
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


def build_records(folder: Path, count: int) -> None:
    from corpus import Corpus

    db = folder / "papers.db"
    if db.exists():
        records = Records(db)
        have = records.count()
        records.close()
        if have == count:
            return
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    records = Records(db)
    batch = []
    for paper in Corpus(1).papers(count):
        batch.append(paper)
        if len(batch) == 5000:
            with records.batch():
                for p in batch:
                    records.put(p)
            batch.clear()
    with records.batch():
        for p in batch:
            records.put(p)
    records.close()
    print(f"generated {count:,} records in {time.perf_counter() - started:.0f} s", flush=True)


def positives(records: Records, word: str, wanted: int, seed: int) -> set[str]:
    """Papers about one thing: those whose title holds `word` (as a user's bookmarks would)."""
    found = [pid for pid, title, _ in records.iter_texts() if word in title.lower()]
    random.Random(seed).shuffle(found)
    return set(found[:wanted])


def measure(folder: Path) -> dict[str, object]:
    from paperreader.core.recommend import CACHE_DIR, Recommender

    shutil.rmtree(folder / CACHE_DIR, ignore_errors=True)
    records = Records(folder / "papers.db")
    out: dict[str, object] = {"papers": records.count()}

    started = time.perf_counter()
    matrix, ids = Recommender(folder, records).matrix()
    out["first_build_s"] = round(time.perf_counter() - started, 2)
    out["matrix"] = {
        "rows": matrix.shape[0],
        "features": matrix.shape[1],
        "nonzeros": int(matrix.nnz),
        "mb": round((matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / 1e6, 1),
    }
    out["cache_mb"] = round(sum(p.stat().st_size for p in (folder / CACHE_DIR).iterdir()) / 1e6, 1)
    del matrix, ids

    rec = Recommender(folder, records)  # a later start: the matrix comes from the cache folder
    started = time.perf_counter()
    rec.matrix()
    out["cache_load_s"] = round(time.perf_counter() - started, 3)

    bookmarks = positives(records, "diffusion", 50, seed=1)
    tag = positives(records, "video", 10, seed=2)
    read = set(random.Random(3).sample(rec._ids, 2000))
    out["positives"] = {"bookmarks": len(bookmarks), "tag": len(tag)}

    started = time.perf_counter()
    top = rec.rank(bookmarks, read, 50)
    out["train_rank_bookmarks_s"] = round(time.perf_counter() - started, 3)
    out["timings_bookmarks"] = {k: round(v, 3) for k, v in rec.last_timings.items()}
    out["top_has_word"] = sum("diffusion" in (records.get(i).title.lower()) for i, _ in top[:20])

    started = time.perf_counter()
    rec.rank(tag, read, 50)
    out["train_rank_tag_s"] = round(time.perf_counter() - started, 3)

    runs = []
    for n in range(20):  # the same positives, another exclusion set or page
        started = time.perf_counter()
        rec.rank(bookmarks, read | {top[n][0]}, 50 + n)
        runs.append(time.perf_counter() - started)
    out["cached_rank_ms_median"] = round(sorted(runs)[len(runs) // 2] * 1000, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
    records.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--label", default="")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's part
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    folder = BENCH / "libraries" / f"recommend-{size_name(args.count)}"
    build_records(folder, args.count)
    child = subprocess.run(
        [sys.executable, __file__, "--measure", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(BENCH.parent / "src")},
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    import sklearn

    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
    }
    label = f"-{args.label}" if args.label else ""
    path = BENCH / "results" / f"recommend-{size_name(args.count)}-{date.today()}{label}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
