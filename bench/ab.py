"""Interleaved A/B of the session and start-up benchmarks: two code trees, each on its own
library, alternated so that background load hits both alike (the shared 2-core box is noisy).

    git archive <commit> | tar -x -C /tmp/before      # the "before" tree
    PYTHONPATH=/tmp/before/src python bench/corpus.py --count 10000 --fast --library /tmp/b10k
    python bench/ab.py --a-src /tmp/before/src --a-lib /tmp/b10k --b-lib bench/libraries/10k

Each library is copied before each round (saves change it). Prints the median over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = Path(__file__).resolve().parent / "run.py"
KEYS = [
    ("typing_ms", "p50"),
    ("typing_ms", "p95"),
    ("fuzzy_ms", "p50"),
    ("fuzzy_ms", "p95"),
    ("common_ms", "p95"),
    ("phrase_ms", "p95"),
    ("wildcard_ms", "p95"),
    ("scroll_ms", "max"),
    ("query_page20_ms", "p95"),
    ("bookmark_ms", "p95"),
    ("note_ms", "p95"),
    ("similar_ms", "p50"),
    ("peak_mb", None),
]


def child(src: str | None, mode: str, lib: Path) -> tuple[dict, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(RUN), "--child", mode, str(lib)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--a-src", help="PYTHONPATH for A (default: the installed tree)")
    ap.add_argument("--a-lib", type=Path, required=True)
    ap.add_argument("--b-src", help="PYTHONPATH for B (default: the installed tree)")
    ap.add_argument("--b-lib", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    got: dict[str, list[dict]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name, src, lib in (("A", args.a_src, args.a_lib), ("B", args.b_src, args.b_lib)):
                work = Path(tmp) / name
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(lib, work)
                starts = [child(src, "startup", work)[1] for _ in range(3)]
                session, _ = child(src, "session", work)
                session["startup_s"] = statistics.median(starts)
                got[name].append(session)
                print(f"{name}: round done", file=sys.stderr, flush=True)
    rows = [("start to first page (s)", "startup_s", None)] + [
        (f"{k} {q or ''}", k, q) for k, q in KEYS
    ]
    print("| what | A | B |\n|---|---:|---:|")
    for label, key, q in rows:
        cells = []
        for name in ("A", "B"):
            values = [r[key][q] if q else r[key] for r in got[name]]
            cells.append(
                f"{statistics.median(values):,.2f}"
                if key == "startup_s"
                else f"{statistics.median(values):,.0f}"
            )
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    if args.json:
        args.json.write_text(json.dumps(got, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
