"""UI benchmark: time to the first screen with the list shown, keystroke-to-results latency,
and j/k in the list to the screen.

    python bench/bench_ui.py --library bench/libraries/100k          # a copy is measured
    python bench/bench_ui.py --count 10000                           # builds bench/libraries/ui-10k

Runs the real app headless through Textual's Pilot at 120x40. Keys are sent the way a terminal
sends them (no Pilot waits in the measured span); a keystroke's latency runs from sending the
key to the screen painted with the results of the query typed so far (the typing
debounce is 0 now; `keystroke_to_results_accepted` stops when the list takes the results,
before that paint). A j/k press is timed twice (`jk_to_list`, `jk_to_detail`): from sending
the key to the paint that shows the list's cursor on the new row, and to the paint that shows
the new row's paper in the detail pane; pressed alone (a pause between presses); paced (the next
key 0-160 ms after the last one's row showed: it lands while that row's detail is loaded and
drawn); held (a key every 33 ms, as a terminal's key repeat). Writes bench/results/ui.json. Not run
in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from textual import events

from paperreader.core.library import Library
from paperreader.ui.app import create_app
from paperreader.ui.screens.main import DEBOUNCE, WARM_AFTER, MainScreen

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)
QUERIES = ["attention mechanism", "diffusion models for video", "sparse moe routing"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(pct(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


async def until(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.002)


def send_key(app, key: str) -> None:  # type: ignore[no-untyped-def]
    """Like a terminal: one Key event into the driver, no waiting."""
    char = {"space": " "}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


async def startup_once(root: Path) -> dict[str, float]:
    started = time.perf_counter()
    library = Library(root)
    opened = time.perf_counter()
    app = create_app(library, poll_seconds=0)
    async with app.run_test(size=SIZE):
        screen: MainScreen = app.main  # type: ignore[attr-defined]
        await until(lambda: screen.paper_list.total > 0 and screen.paper_list.current is not None)
        shown = time.perf_counter()
        await until(lambda: screen.detail.view is not None)
        detail = time.perf_counter()
    library.close()
    return {
        "open_library_ms": (opened - started) * 1000,
        "first_screen_ms": (shown - started) * 1000,
        "detail_loaded_ms": (detail - started) * 1000,
    }


async def jk_moves(root: Path, presses: int = 40, held: int = 40) -> dict[str, object]:
    """j/k in the list: key -> the cursor row painted, and key -> the detail painted.

    Each paint is logged with what it put on the screen (the list's cursor row, the paper in
    the detail pane): a paint comes ~2 ms after the key, sooner than a poll would see it."""
    library = Library(root)
    app = create_app(library, poll_seconds=0)
    to_list: list[float] = []
    to_detail: list[float] = []
    held_list: list[float] = []
    paced: list[float] = []
    painted: list[tuple[float, int, str | None]] = []  # (when, cursor row, paper in the detail)
    shown: list[str] = []
    async with app.run_test(size=SIZE):
        screen: MainScreen = app.main  # type: ignore[attr-defined]
        paint = screen._compositor_refresh
        show = screen.detail.show
        paper_list = screen.paper_list
        detail = screen.detail

        def logged_paint() -> None:
            paint()
            loaded = detail.view is not None and detail.view.paper.id == detail.paper_id
            painted.append(
                (time.perf_counter(), paper_list.cursor, detail.paper_id if loaded else None)
            )

        def counted_show(view) -> None:  # type: ignore[no-untyped-def]
            show(view)
            shown.append(view.paper.id)

        screen._compositor_refresh = logged_paint  # type: ignore[method-assign]
        detail.show = counted_show  # type: ignore[method-assign]
        await until(lambda: paper_list.total > 1 and detail.view is not None)
        await asyncio.sleep(WARM_AFTER + 0.2)  # as in `typing`: once the cache has warmed
        await until(
            lambda: not any(w.group == "warm" and w.is_running for w in app.workers), timeout=900
        )

        def first_paint(since: float, check) -> float:  # type: ignore[no-untyped-def]
            return next(t for t, row, paper in painted if t >= since and check(row, paper))

        last = min(paper_list.total - 1, 20)
        for i in range(presses):
            key = "j" if (i // last) % 2 == 0 else "k"
            target = paper_list.cursor + (1 if key == "j" else -1)
            await asyncio.sleep(0.3)  # pressed alone: what the last press started has ended
            del painted[:]
            t0 = time.perf_counter()
            send_key(app, key)
            await until(lambda t=target: any(row == t for _, row, _ in painted))
            to_list.append((first_paint(t0, lambda row, _, t=target: row == t) - t0) * 1000)
            paper = paper_list.hit_at(target)
            assert paper is not None
            await until(lambda p=paper.id: any(seen == p for _, _, seen in painted))
            to_detail.append((first_paint(t0, lambda _, seen, p=paper.id: seen == p) - t0) * 1000)
        # Paced: the next key 0-160 ms after the last one's row was painted, as a tmux harness
        # that sends it once it sees the new screen: it lands while the last row's detail
        # loads and is drawn (the delay before it, the worker, the pane's layout and paint).
        await asyncio.sleep(0.3)
        for i in range(presses):
            key = "j" if (i // last) % 2 == 0 else "k"
            target = paper_list.cursor + (1 if key == "j" else -1)
            del painted[:]
            t0 = time.perf_counter()
            send_key(app, key)
            await until(lambda t=target: any(row == t for _, row, _ in painted))
            paced.append((first_paint(t0, lambda row, _, t=target: row == t) - t0) * 1000)
            await asyncio.sleep((i * 37 % 161) / 1000)
        await asyncio.sleep(0.3)
        # Held: a key every 33 ms, the next one sent whether or not the last one has shown.
        start = paper_list.cursor
        del shown[:]
        del painted[:]
        sent: list[tuple[int, float]] = []
        for i in range(held):
            sent.append((start + i + 1, time.perf_counter()))
            send_key(app, "j")
            await asyncio.sleep(0.033)
        await until(lambda: any(row == start + held for _, row, _ in painted))
        for row, t0 in sent:
            # A row skipped by a paint (two keys handled in one frame) is shown by the next.
            held_list.append((first_paint(t0, lambda r, _, row=row: r >= row) - t0) * 1000)
        await asyncio.sleep(0.5)
        detail_loads = len(shown)
    library.close()
    return {
        "jk_to_list": summary(to_list),
        "jk_to_detail": summary(to_detail),
        "jk_paced_to_list": summary(paced),
        "jk_held_to_list": summary(held_list),
        "jk_held_detail_shown": detail_loads,
    }


async def typing(root: Path, queries: list[str], *, cold: bool = False) -> dict[str, object]:
    library = Library(root)
    app = create_app(library, poll_seconds=0)
    latencies: list[float] = []
    echoes: list[float] = []
    search_ms: list[float] = []
    warm_s = None
    accepted: list[float] = []
    paints = [0]
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main  # type: ignore[attr-defined]
        paint = screen._compositor_refresh

        def counted_paint() -> None:
            paint()
            paints[0] += 1

        screen._compositor_refresh = counted_paint  # type: ignore[method-assign]
        await until(lambda: screen.paper_list.total > 0)
        if not cold:  # as a user who starts typing once the reader has warmed its cache
            started = time.perf_counter()
            await asyncio.sleep(WARM_AFTER + 0.2)
            await until(
                lambda: not any(w.group == "warm" and w.is_running for w in app.workers),
                timeout=900,  # a first warm-up at 1,000,000 papers: ~90 s
            )
            warm_s = round(time.perf_counter() - started, 2)
        for query in queries:
            await pilot.press("slash")
            for ch in query:
                key = "space" if ch == " " else ch
                expected = screen.search_input.value + ch
                t0 = time.perf_counter()
                send_key(app, key)
                await until(lambda e=expected: screen.search_input.value == e)
                echoes.append((time.perf_counter() - t0) * 1000)
                await until(
                    lambda: (
                        screen._shown_seq == screen._seq
                        and screen.query_state.text == screen.search_input.value
                    )
                )
                accepted.append((time.perf_counter() - t0) * 1000)
                before = paints[0]  # the list is on screen once the next paint is done
                await until(lambda b=before: paints[0] > b)
                latencies.append((time.perf_counter() - t0) * 1000)
                if screen.result is not None:
                    search_ms.append(screen.result.elapsed_ms)
            await pilot.press("escape")  # clears the query
            await until(lambda: screen._shown_seq == screen._seq)
        # Jump to the last paper: its page is fetched on demand.
        await pilot.press("enter")
        t0 = time.perf_counter()
        send_key(app, "G")
        await until(
            lambda: (
                screen.paper_list.current is not None
                and screen.paper_list.cursor == screen.paper_list.total - 1
            )
        )
        jump = (time.perf_counter() - t0) * 1000
        moves: list[float] = []
        for _ in range(30):
            before = screen.paper_list.cursor
            t0 = time.perf_counter()
            send_key(app, "k")
            await until(lambda b=before: screen.paper_list.cursor == b - 1)
            moves.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)  # a held key repeats about this often
        private_mb = _private_mb()
    library.close()
    return {
        "app_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "app_private_mb_at_end": private_mb,
        "typed_after_warm_up_s": warm_s,
        "keystroke_to_results": summary(latencies),
        "keystroke_to_results_accepted": summary(accepted),
        "keystroke_echo": summary(echoes),
        "search_in_index": summary(search_ms),
        "debounce_ms": DEBOUNCE * 1000,
        "jump_to_last_ms": round(jump, 1),
        "cursor_move": summary(moves),
    }


def _private_mb() -> float:
    """RssAnon: the process's own memory, not the index pages it has mapped."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def build(count: int) -> Path:
    sys.path.insert(0, str(HERE))
    from corpus import build_library_fast  # the benchmark corpus generator

    root = HERE / "libraries" / f"ui-{count // 1000}k"
    if not root.exists():
        print(f"building {root} with {count:,} papers ...", flush=True)
        build_library_fast(root, count)
    return root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--library", type=Path, help="a library folder to measure (a copy is used)")
    ap.add_argument("--count", type=int, default=100_000, help="papers to build when no --library")
    ap.add_argument("--runs", type=int, default=3, help="startup runs")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "ui.json")
    ap.add_argument("--cold", action="store_true", help="type at once, before the cache warms")
    ap.add_argument(
        "--first-run",
        action="store_true",
        help="measure without the saved warm-up (index-warm/): the reader's first run ever",
    )
    ap.add_argument("--jk-only", action="store_true", help="only j/k to the screen (no typing)")
    args = ap.parse_args(argv)
    source = args.library or build(args.count)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / source.name
        # The app may write (settings, store sync): measure a copy, never the original.
        shutil.copytree(source, root)
        if args.first_run:
            shutil.rmtree(root / "index-warm", ignore_errors=True)
        papers = Library(root).count()
        runs = [asyncio.run(startup_once(root)) for _ in range(args.runs)]
        typed = {} if args.jk_only else asyncio.run(typing(root, QUERIES, cold=args.cold))
        moved = asyncio.run(jk_moves(root))
    result = {
        "library": str(source),
        "first_run": args.first_run,
        "papers": papers,
        "terminal": f"{SIZE[0]}x{SIZE[1]}",
        "startup": {key: summary([r[key] for r in runs]) for key in runs[0]},
        **typed,
        **moved,
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
