"""A one-line bar above the footer while a long job (fetch, import) runs in a thread worker.

It is mounted for the job and removed after it: an idle indeterminate ProgressBar would redraw
fifteen times a second for nothing."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, get_current_worker

from paperreader.core.errors import PaperreaderError
from paperreader.core.text import strip_controls
from paperreader.ui.jobs import Cancelled, Job, Outcome

SLEEP_STEP = 0.1  # seconds between cancellation checks while a job waits


class TaskBar(Horizontal):
    class Finished(Message):
        def __init__(self, bar: TaskBar, title: str, outcome: Outcome) -> None:
            super().__init__()
            self.bar = bar
            self.title = title
            self.outcome = outcome

    def __init__(self, title: str, job: Job, **kwargs: str) -> None:
        super().__init__(**kwargs)
        self.job_title = title  # "Fetch", "Import": names a failure
        self.job = job

    def compose(self) -> ComposeResult:
        yield Static(Text(self.job_title), id="task-label")
        yield ProgressBar(None, show_percentage=False, show_eta=False, id="task-progress")
        yield Static(id="task-count")

    def on_mount(self) -> None:
        self._run()

    # -- in the UI thread --------------------------------------------------------------------
    def _stage(self, label: str) -> None:
        self.query_one("#task-label", Static).update(Text(strip_controls(label)))
        self.query_one("#task-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#task-count", Static).update("")

    def _progress(self, done: int, total: int | None) -> None:
        bar = self.query_one("#task-progress", ProgressBar)
        if total:
            bar.update(total=total, progress=done)
        count = f"{done:,}/{total:,}" if total else f"{done:,}"
        self.query_one("#task-count", Static).update(count)

    # -- in the worker's thread --------------------------------------------------------------
    @work(thread=True, group="task")
    def _run(self) -> None:
        reporter = _ThreadReporter(self, get_current_worker())
        try:
            outcome = self.job(reporter)
        except Cancelled:
            return
        except PaperreaderError as exc:  # FetchError, ImportFailure, StoreError: one line
            outcome = Outcome(str(exc), "error")
        except Exception as exc:  # a bug must cost this job, never the session
            message = f"Unexpected error ({type(exc).__name__}: {exc}); please report it."
            outcome = Outcome(message, "error")
        reporter.call(self.post_message, self.Finished(self, self.job_title, outcome))


class _ThreadReporter:
    """The job's Reporter: hands its news to the UI thread, and stops it once cancelled."""

    def __init__(self, bar: TaskBar, worker: Worker[None]) -> None:
        self.bar = bar
        self.worker = worker

    def call(self, callback: object, *args: object) -> None:
        if self.worker.is_cancelled:
            raise Cancelled
        try:
            self.bar.app.call_from_thread(callback, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the app stopped meanwhile
            raise Cancelled from None

    def stage(self, label: str) -> None:
        self.call(self.bar._stage, label)

    def progress(self, done: int, total: int | None) -> None:
        self.call(self.bar._progress, done, total)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.worker.is_cancelled:
                raise Cancelled
            time.sleep(min(left, SLEEP_STEP))
