"""Phrase queries at scale: each phrase first time (the per-segment caches cleared before it,
so its words' posting lists and positions are read from the index) and again (its matches
kept), plus the other query kinds, which must not get slower. Usage:

    PYTHONPATH=src python bench/bench_phrase.py --library bench/libraries/100k [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

PHRASES = [
    '"large language models"',
    '"neural network"',
    '"state of the art"',
    '"shared memory"',
    '"diffusion model"',
    '"reinforcement learning"',
    '"graph neural network"',
    '"mixture of experts"',
]
OTHERS = {
    "common": ["model", "learning", "language", "data", "performance", "training"],
    "wildcard": ["trans*", "lang*", "optim*"],
    "typed": ["large language model", "graph neural", "speculative decoding"],
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def stats(values: list[float]) -> dict[str, float]:
    return {k: round(pct(values, q), 1) for k, q in (("p50", 50), ("p95", 95), ("max", 100))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", required=True)
    parser.add_argument("--json")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from paperreader.core.library import Library
    from paperreader.core.search import segments

    lib = Library(Path(args.library), seed=False)
    lib.search("", limit=200)

    def timed(query: str) -> tuple[float, int]:
        t = time.perf_counter()
        total = lib.search(query, limit=50).total
        return (time.perf_counter() - t) * 1000, total

    def again(queries: list[str]) -> list[float]:
        # Each query once before: the first-time loop cleared the caches before each, so
        # only its last query's matches were kept, and a first round here ran the others
        # from nothing (the "again" p95 of 87-110 ms was "large language models" so).
        for q in queries:
            timed(q)
        return [timed(q)[0] for _ in range(args.rounds) for q in queries]

    out: dict[str, object] = {"load": list(os.getloadavg())}
    totals: dict[str, int] = {}
    cold: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for q in PHRASES:
            segments.CACHES.clear()
            ms, totals[q] = timed(q)
            cold.setdefault(q, []).append(ms)
    out["totals"] = totals
    out["phrase_cold_each"] = {q: round(min(v), 1) for q, v in cold.items()}
    out["phrase_cold"] = stats([ms for v in cold.values() for ms in v])
    out["phrase_warm"] = stats(again(PHRASES))
    for name, queries in OTHERS.items():
        first = []
        for q in queries:
            segments.CACHES.clear()
            first.append(timed(q)[0])
        out[f"{name}_cold"] = stats(first)
        out[f"{name}_warm"] = stats(again(queries))
    out["load"] += list(os.getloadavg())  # type: ignore[operator]
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
