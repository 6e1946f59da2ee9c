"""Before/after table (Markdown) from two bench/results files per size.

    python bench/compare.py --before before --after after [--sizes 10k,100k]

Takes the newest results/<size>-<date>-<label>.json for each label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

ROWS = [
    # (label, getter, unit, target at 100k, target at 1M)
    (
        "index build, full rebuild",
        lambda r: r.get("build", {}).get("index_rate"),
        "papers/s",
        "",
        "",
    ),
    (
        "start to first page (200 newest), median",
        lambda r: r["startup"]["wall_s"]["p50"],
        "s",
        "<= 1.0 s",
        "<= 1.5 s",
    ),
    ("typing: per keystroke p50", lambda r: r["session"]["typing_ms"]["p50"], "ms", "", ""),
    (
        "typing: per keystroke p95",
        lambda r: r["session"]["typing_ms"]["p95"],
        "ms",
        "<= 50 ms",
        "<= 150 ms",
    ),
    ("misspelt/fuzzy + did-you-mean p50", lambda r: r["session"]["fuzzy_ms"]["p50"], "ms", "", ""),
    (
        "misspelt/fuzzy + did-you-mean p95",
        lambda r: r["session"]["fuzzy_ms"]["p95"],
        "ms",
        "<= 150 ms",
        "<= 400 ms",
    ),
    ("common word p95", lambda r: r["session"]["common_ms"]["p95"], "ms", "", ""),
    ("phrase p95", lambda r: r["session"]["phrase_ms"]["p95"], "ms", "", ""),
    ("`trans*` etc. p95", lambda r: r["session"]["wildcard_ms"]["p95"], "ms", "", ""),
    (
        "scroll: page of 50, max",
        lambda r: r["session"]["scroll_ms"]["max"],
        "ms",
        "<= 50 ms",
        "<= 50 ms",
    ),
    ("scroll: page of 50, p95", lambda r: r["session"]["scroll_ms"]["p95"], "ms", "", ""),
    (
        "bookmark save p95",
        lambda r: r["session"]["bookmark_ms"]["p95"],
        "ms",
        "<= 20 ms",
        "<= 20 ms",
    ),
    ("note save p95", lambda r: r["session"]["note_ms"]["p95"], "ms", "<= 20 ms", "<= 20 ms"),
    (
        "search right after a save p50",
        lambda r: r["session"]["search_after_save_ms"]["p50"],
        "ms",
        "",
        "",
    ),
    ("similar papers p50", lambda r: r["session"]["similar_ms"]["p50"], "ms", "", ""),
    (
        "session peak RSS (core, no UI)",
        lambda r: r["session"]["peak_mb"],
        "MB",
        "<= 300 MB",
        "<= 500 MB",
    ),
    ("start-up process peak RSS", lambda r: r["startup"]["median_run"]["peak_mb"], "MB", "", ""),
]


def newest(size: str, label: str) -> dict | None:
    found = sorted(RESULTS.glob(f"{size}-*-{label}.json"))
    return json.loads(found[-1].read_text()) if found else None


def fmt(value: object, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:,.2f}" if unit == "s" else f"{value:,.0f}"
    return f"{value} {unit}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="before")
    ap.add_argument("--after", default="after")
    ap.add_argument("--sizes", default="10k,100k")
    args = ap.parse_args(argv)
    for size in args.sizes.split(","):
        before, after = newest(size, args.before), newest(size, args.after)
        if not (before or after):
            continue
        big = size == "1m"
        print(f"\n### {size} papers\n")
        print(f"| what | {args.before} | {args.after} | target |")
        print("|---|---:|---:|---|")
        for label, get, unit, t100k, t1m in ROWS:
            cells = []
            for r in (before, after):
                try:
                    cells.append(fmt(get(r), unit) if r else "-")
                except (KeyError, TypeError):
                    cells.append("-")
            print(f"| {label} | {cells[0]} | {cells[1]} | {t1m if big else t100k} |")
        imp = (after or {}).get("import")
        imp_b = (before or {}).get("import")
        if imp or imp_b:

            def rate(i: dict | None) -> str:
                return f"{i['rate']:,.0f} papers/s" if i else "-"

            def rss(i: dict | None) -> str:
                s = (i or {}).get("rss_mb_by_papers") or []
                return f"{s[0][1]:.0f} -> {s[-1][1]:.0f} MB" if s else "-"

            n = (imp or imp_b)["papers"]
            print(
                f"| import {n:,} papers from a snapshot file | {rate(imp_b)} | {rate(imp)} | >= 1,000 papers/s |"
            )
            print(
                f"| import: RSS at first -> last progress sample | {rss(imp_b)} | {rss(imp)} | constant |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
