"""j/k in a real terminal: the reader in tmux at 120x40, a key sent with `tmux send-keys`, the
pane polled with `capture-pane` until it changes (the list's cursor row: the first change).

    python bench/bench_jk_tmux.py SRC LIBRARY [PRESSES] [paced]

SRC is the `src` folder to run (so two versions can be compared on one library; a copy of
LIBRARY is used). Alone (the default): each key once the screen has been quiet for 0.3 s, and
key -> its last change (the detail pane drawn) is timed too. `paced`: the next key 0-160 ms
after the last one's first change, so it lands while that row's detail is loaded and drawn.
Not run in CI; needs tmux.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    src, lib, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30
    paced = len(sys.argv) > 4 and sys.argv[4] == "paced"
    session = f"jk{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="jk-tmux-")
    root = os.path.join(tmp, "lib")
    shutil.copytree(lib, root)

    def cap() -> str:
        args = ["tmux", "capture-pane", "-p", "-e", "-t", session]
        return subprocess.run(args, capture_output=True, text=True).stdout

    def settle(quiet: float) -> None:
        last, changed, end = cap(), time.perf_counter(), time.perf_counter() + 30
        while time.perf_counter() - changed < quiet and time.perf_counter() < end:
            if (now := cap()) != last:
                last, changed = now, time.perf_counter()

    command = f"PYTHONPATH={src} {sys.executable} -m paperreader --library {root}"
    tmux = ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command]
    subprocess.run(tmux, check=True)
    try:
        time.sleep(3)
        settle(1.0)
        time.sleep(2)  # the search cache warms after 1 s
        settle(1.0)
        first: list[float] = []
        last_change: list[float] = []
        for i in range(n):
            before = cap()
            t0 = time.perf_counter()
            subprocess.run(["tmux", "send-keys", "-t", session, "j" if (i // 15) % 2 == 0 else "k"])
            while (shown := cap()) == before:
                pass
            first.append((time.perf_counter() - t0) * 1000)
            if paced:
                time.sleep((i * 37 % 161) / 1000)
                continue
            changed = time.perf_counter()
            while time.perf_counter() - changed < 0.3:
                if (now := cap()) != shown:
                    shown, changed = now, time.perf_counter()
            last_change.append((changed - t0) * 1000)

        def q(values: list[float]) -> str:
            return f"p50 {statistics.median(values):.0f} max {max(values):.0f} ms"

        line = f"{src} {'paced' if paced else 'alone'}: key -> first change {q(first)}"
        if last_change:
            line += f"; key -> last change {q(last_change)}"
        print(f"{line}; load {os.getloadavg()[0]:.2f}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
