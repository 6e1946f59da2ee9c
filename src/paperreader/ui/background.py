"""The main screen's work in the background: fetch and import jobs (palette commands) with
their progress bar, and keeping up with other instances (the store polled for their saves
and imports). A mixin of MainScreen."""

from __future__ import annotations

from pathlib import Path

from textual import work

from paperreader.core.errors import PaperreaderError
from paperreader.ui.jobs import Job, fetch_arxiv_job, fetch_hf_job, import_job
from paperreader.ui.screens.modals import ArxivScreen, PathScreen
from paperreader.ui.search_dispatch import unexpected
from paperreader.ui.widgets.task_bar import TaskBar


class Background:
    # -- fetching and importing (palette commands) -------------------------------------------
    def action_fetch_hf(self) -> None:
        self.start_job("Fetch", fetch_hf_job(self.library))

    def action_fetch_arxiv(self) -> None:
        def asked(answer: tuple[str, int] | None) -> None:
            if answer is not None:
                self.start_job("Fetch", fetch_arxiv_job(self.library, *answer))

        self.app.push_screen(ArxivScreen(), asked)

    def action_import_file(self) -> None:
        def asked(path: Path | None) -> None:
            if path is not None:
                self.start_job("Import", import_job(self.library, path))

        self.app.push_screen(PathScreen(), asked)

    def start_job(self, title: str, job: Job) -> bool:
        """Run `job` in a thread with a progress bar above the footer; one job at a time."""
        if self.query(TaskBar):
            self.say(
                "A fetch or import is still running; try again when it is done.",
                severity="warning",
                timeout=4,
            )
            return False
        self.mount(TaskBar(title, job, id="task-bar"), after=self.query_one("#panes"))
        return True

    def on_task_bar_finished(self, event: TaskBar.Finished) -> None:
        event.stop()
        event.bar.remove()
        outcome = event.outcome
        failed = outcome.severity == "error"
        self.say(
            outcome.message,
            title=f"{event.title} failed" if failed else "",
            severity=outcome.severity,
            timeout=10 if failed else 6,
        )
        if outcome.changed:
            # New papers: the list from its top again (newest first, unless a query orders it).
            self.update_topbar()
            self.search()
            self.refresh_counts()

    # -- keeping up with other instances -----------------------------------------------------
    @work(thread=True, exclusive=True, group="sync")
    def poll_store(self) -> None:
        try:
            before = self.library.count()
            changed = self.library.sync_store()
            if self.library.count(fresh=True) != before:  # another process imported papers
                self.library.papers_added()
                self.app.call_from_thread(self.update_topbar)
                changed = changed or 1
        except Exception as exc:
            message = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
            self.app.call_from_thread(self._report, [message])
            return
        problems = list(self.library.store_problems)
        self.app.call_from_thread(self._synced, changed, problems)

    def _synced(self, changed: int, problems: list[str]) -> None:
        self._report(problems)
        if changed:
            self.search(keep_cursor=True)
            self.refresh_counts()
            if self.current_id:
                self._load_detail(self.current_id, self.result)

    def _report(self, problems: list[str]) -> None:
        for problem in problems:
            if problem not in self._reported:
                self._reported.add(problem)
                self.say(problem, title="A notes file cannot be read", severity="error", timeout=10)
