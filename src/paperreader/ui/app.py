"""The app factory (used by the CLI and the tests) and `run_tui`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from importlib import resources
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App
from textual.theme import Theme

from paperreader.core.errors import PaperreaderError
from paperreader.core.library import Library
from paperreader.core.text import strip_controls
from paperreader.ui.commands import PaperCommands
from paperreader.ui.screens.main import MainScreen
from paperreader.ui.screens.note_editor import NoteEditor
from paperreader.ui.settings import load_settings, save_setting

STYLES = resources.files("paperreader") / "styles"
CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "article.tcss")]
POLL_SECONDS = 3.0
HOLD_SECONDS = 5.0  # keys are never held longer than this, however slow a search is


class PaperReader(App[None]):
    CSS_PATH = CSS_PATH
    TITLE = "paperreader"
    COMMANDS = App.COMMANDS | {PaperCommands}

    def __init__(
        self,
        library: Library,
        *,
        show_timing: bool = True,
        poll_seconds: float = POLL_SECONDS,
        notices: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.show_timing = show_timing
        self.poll_seconds = poll_seconds
        self.notices = notices or []
        self._held: list[events.Key] | None = None
        theme = load_settings(library.root).get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme

    def on_mount(self) -> None:
        self.library.begin_visit()  # papers added since the last visit are new this session
        self.main = MainScreen(self.library, show_timing=self.show_timing)
        self.push_screen(self.main)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        if self.poll_seconds > 0:
            self.set_interval(self.poll_seconds, self.main.poll_store)
        for notice in self.notices:
            self.notify(strip_controls(notice), markup=False, timeout=6)
        if self.library.store_problems:
            self.main._report(self.library.store_problems)
        self._exit_on_signals()

    def _exit_on_signals(self) -> None:
        """SIGTERM/SIGHUP leave through Textual, which restores the terminal (the default
        action killed the process in the alternate screen with mouse reporting on)."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, self._exit_on_signal)

    def _exit_on_signal(self) -> None:
        problems = self.save_open_notes()
        if problems:
            self.exit(return_code=1, message=Text("\n".join(problems)))
        else:
            self.exit()

    def save_open_notes(self) -> list[str]:
        """Save the text of any open note editor now, in this thread: the session is ending
        and a thread worker might not finish. Returns what could not be saved, and why."""
        problems = []
        for screen in self.screen_stack:
            if not isinstance(screen, NoteEditor) or not screen.changed:
                continue
            try:
                user = self.library.set_note(screen.paper_id, screen.text, base=screen.base)
            except Exception as exc:  # PaperreaderError says what went wrong in one line
                why = str(exc) if isinstance(exc, PaperreaderError) else repr(exc)
                problems.append(
                    f"paperreader: the note on {strip_controls(screen.paper_id)} was not "
                    f"saved: {strip_controls(why)}"
                )
            else:
                screen.saved(user.note)
        return problems

    # Keys typed after Enter in the search bar act on the new results: they wait for them.
    def hold_keys(self) -> None:
        if self._held is None:
            self._held = []
            self.set_timer(HOLD_SECONDS, self.release_keys)

    def release_keys(self) -> None:
        held, self._held = self._held, None
        for key in held or []:
            self.post_message(events.Key(key.key, key.character))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._held is not None:
            self._held.append(event)
            return
        await super().on_event(event)

    def _remember_theme(self, theme: Theme) -> None:
        try:
            save_setting(self.library.root, "theme", theme.name)
        except OSError as exc:
            message = strip_controls(f"Cannot save the theme: {exc}")
            self.notify(message, severity="warning", markup=False)


def create_app(library: Library, **opts: object) -> PaperReader:
    """The reader on `library`; options: show_timing, poll_seconds, notices."""
    return PaperReader(library, **opts)  # type: ignore[arg-type]


def run_tui(library_root: Path) -> int:
    notices: list[str] = []

    def message(text: str) -> None:
        print(text, file=sys.stderr)
        notices.append(text)

    def progress(done: int, total: int | None) -> None:
        # Only a (re)index of a big library takes long enough to need this.
        of = f"/{total:,}" if total else ""
        print(f"\rindexing {done:,}{of} papers", end="", file=sys.stderr, flush=True)

    try:
        library = Library(Path(library_root), on_message=message, progress=progress)
    except PaperreaderError as exc:
        print(f"paperreader: {exc}", file=sys.stderr)
        return 1
    try:
        app = create_app(library, notices=notices)
        app.run()
        return app.return_code or 0
    finally:
        library.close()
