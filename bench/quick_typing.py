"""As-you-type latency: the quick first pass (short fields) vs the full search, per keystroke.

    python bench/quick_typing.py bench/libraries/10k

Every prefix of bench/run.py's typed queries, as the reader searches it while typing (a last
word of one or two letters is held back: `typing_text`), limit 200 (the list's page), the
quick and the full search interleaved, two rounds. Times in ms, search only (the reader's
150 ms debounce comes before either).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import TYPED  # noqa: E402

from paperreader.core.library import Library  # noqa: E402
from paperreader.ui.screens.main import typing_text  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(root: str) -> None:
    lib = Library(Path(root), seed=False)
    lib.search("", limit=200)
    times: dict[str, list[float]] = {"quick": [], "full": []}
    for _ in range(2):
        for query in TYPED:
            for i in range(1, len(query) + 1):
                text = typing_text(query[:i])
                if not text.strip():
                    continue
                for name, quick in (("quick", True), ("full", False)):
                    started = time.perf_counter()
                    lib.search(text, limit=200, partial_last=True, quick=quick)
                    times[name].append((time.perf_counter() - started) * 1000)
    for name, values in times.items():
        print(
            f"{name}: n={len(values)} p50={pct(values, 0.5):.0f} "
            f"p95={pct(values, 0.95):.0f} max={max(values):.0f} ms"
        )
    lib.close()


if __name__ == "__main__":
    main(sys.argv[1])
