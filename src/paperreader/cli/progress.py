"""Progress on stderr for command-line work that takes over a second, drawn by rich.progress
(Rich comes with Textual): a bar, count, rate and time left.

Nothing at all is written when stderr is not a terminal (a pipe, a log file, a test's captured
output), nor for work that ends within `delay` seconds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class CliProgress:
    """Call with (done, total); `done()` (or leaving the `with` block) ends the display."""

    def __init__(self, label: str, *, delay: float = 1.0, console: Console | None = None) -> None:
        self.label = label
        self.delay = delay
        self.started = time.monotonic()
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._enabled: bool | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        return self._console

    @property
    def enabled(self) -> bool:
        if self._enabled is None:
            self._enabled = self.console.is_terminal and not self.console.is_dumb_terminal
        return self._enabled

    def __call__(self, done: int, total: int | None = None) -> None:
        if self._progress is None:
            if time.monotonic() - self.started < self.delay or not self.enabled:
                return
            self._start(total)
        self._progress.update(self._task, completed=done, total=total)

    def _start(self, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=total)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> CliProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()
