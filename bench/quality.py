"""Known-item search quality on a large library: do the sample's papers still come first
when 100,000 generated papers compete with them?

    python bench/quality.py [--library bench/libraries/100k] [--json bench/results/quality.json]

Runs every query of tests/fixtures/known_items.yaml (list of {kind, query, id}) as a reader
types it (no partial word, corrections on) and reports how often the paper is first and in
the top five, by kind, with the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

from paperreader.core.library import Library

BENCH = Path(__file__).resolve().parent
KNOWN = BENCH.parent / "tests" / "fixtures" / "known_items.yaml"


def evaluate(lib: Library, items: list[dict]) -> dict:
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, first, top5
    misses = []
    times = []
    for item in items:
        t = time.perf_counter()
        hits = [h.id for h in lib.search(item["query"], limit=5).hits]
        times.append((time.perf_counter() - t) * 1000)
        counts = by_kind[item.get("kind", "?")]
        counts[0] += 1
        counts[1] += bool(hits) and hits[0] == item["id"]
        if item["id"] in hits:
            counts[2] += 1
        else:
            misses.append({"query": item["query"], "kind": item.get("kind"), "got": hits[:3]})
    n = sum(c[0] for c in by_kind.values())
    first = sum(c[1] for c in by_kind.values())
    top5 = sum(c[2] for c in by_kind.values())
    times.sort()
    return {
        "library_papers": lib.count(),
        "queries": n,
        "first_rate": round(first / n, 3) if n else None,
        "top5_rate": round(top5 / n, 3) if n else None,
        "by_kind": {
            k: {"n": c[0], "first": c[1], "top5": c[2]} for k, c in sorted(by_kind.items())
        },
        "query_ms_p50": round(times[len(times) // 2], 1) if times else None,
        "query_ms_p95": round(times[int(len(times) * 0.95)], 1) if times else None,
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--library", type=Path, default=BENCH / "libraries" / "100k")
    ap.add_argument("--known", type=Path, default=KNOWN)
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    if not (args.library / "papers.db").exists():
        print(
            f"{args.library}: no library; build it with `python bench/run.py --sizes 100k`",
            file=sys.stderr,
        )
        return 2
    items = yaml.safe_load(args.known.read_text(encoding="utf-8"))
    with Library(args.library, seed=False) as lib:
        report = evaluate(lib, items)
    print(
        f"{report['queries']} known-item queries on {report['library_papers']:,} papers: "
        f"first {report['first_rate']:.1%}, top five {report['top5_rate']:.1%} "
        f"(p50 {report['query_ms_p50']} ms, p95 {report['query_ms_p95']} ms)"
    )
    for kind, c in report["by_kind"].items():
        print(f"  {kind:<10} {c['n']:>4} queries  first {c['first']:>4}  top5 {c['top5']:>4}")
    for miss in report["misses"]:
        print(f"  missed: {miss['query']!r} ({miss['kind']}) -> {miss['got']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
