"""Progress on stderr for anything that takes over a second: count, rate and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class StderrProgress:
    """Call with (done, total); prints nothing for work that ends within `delay` seconds."""

    def __init__(self, label: str, *, delay: float = 1.0, stream: TextIO | None = None) -> None:
        self.label = label
        self.delay = delay
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.last_print = 0.0
        self.shown = False

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if elapsed < self.delay or now - self.last_print < 0.2:
            return
        self.last_print = now
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"{self.label}: {done:,}"
        if total:
            eta = (total - done) / rate if rate > 0 else 0.0
            line += f"/{total:,} ({done * 100 // max(total, 1)}%) ETA {eta:.0f}s"
        line += f", {rate:,.0f}/s"
        self.stream.write("\r" + line + " " * 4)
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
