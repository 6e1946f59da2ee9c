"""The article screen: one paper's full text, full screen, read with the keys of a pager.

Pushed from the list on Enter with the list's papers and the row; `]`/`[` read the next or
previous paper of that list in place, Esc/q dismiss with the row last read. Opening marks the
paper `reading`, reaching the end marks it `read`, and the block at the top is remembered in
the store (`position`) and restored on reopen. Saves run in threads: no key waits for one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from paperreader.core.display import readable
from paperreader.core.errors import PaperreaderError, StoreError
from paperreader.core.fulltext.document import Document
from paperreader.core.library import Library
from paperreader.core.models import Paper, ReadState, UserData
from paperreader.core.text import strip_controls
from paperreader.ui.jobs import fetch_text_job
from paperreader.ui.screens.modals import ChoiceScreen, HelpScreen, TagsScreen
from paperreader.ui.screens.note_editor import NoteEditor
from paperreader.ui.widgets.article_text import ArticleText, body_items, header_items
from paperreader.ui.widgets.paper_list import PaperList
from paperreader.ui.widgets.task_bar import TaskBar

FETCH_KEY = "d"
SAVE_POSITION_AFTER = 2.0  # seconds of no scrolling before the reading place is saved
NEXT_PAPER_TRIES = 25  # x 0.1 s: how long `]` waits for the list's next page to load
_SAVE_LOCK = threading.Lock()  # one save at a time, in the order they were made


class Papers(Protocol):
    """The list the article was opened from: its length and the id at a row (None: loading)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> str | None: ...


class ListPapers:
    """The ids of a PaperList's rows, paged in on demand like its rows are."""

    def __init__(self, paper_list: PaperList) -> None:
        self.paper_list = paper_list

    def __len__(self) -> int:
        return self.paper_list.total

    def __getitem__(self, index: int) -> str | None:
        hit = self.paper_list.hit_at(index)
        return hit.id if hit is not None else None


def no_text_hint(paper: Paper) -> str:
    attach = f"run `paperreader attach {paper.id} FILE`"
    if paper.arxiv_id:
        return f"No full text yet — press {FETCH_KEY} to fetch it from arXiv, or {attach}"
    return f"No full text yet — {attach} (a PDF or HTML file)"


class ArticleScreen(Screen[int]):
    """Dismissed with the row of the list last read."""

    BINDINGS = [
        Binding("slash", "find", "Find"),
        Binding("n", "next_match(1)", "Next match", show=False),
        Binding("N", "next_match(-1)", "Previous match", show=False),
        Binding("c", "outline", "Contents"),
        Binding("right_square_bracket", "next_paper(1)", "Next paper"),
        Binding("left_square_bracket", "next_paper(-1)", "Previous paper", show=False),
        Binding("b", "bookmark", "Bookmark"),
        Binding("r", "cycle_state", "Read"),
        Binding("t", "tags", "Tags"),
        Binding("a", "note", "Note"),
        Binding(FETCH_KEY, "fetch_text", "Fetch text", show=False),
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
        Binding("question_mark", "help", "Help"),
    ]

    class FetchText(Message):
        """Asks for the paper's full text (whoever fetches it calls `reload_text` when done)."""

        def __init__(self, paper_id: str) -> None:
            super().__init__()
            self.paper_id = paper_id

    def __init__(
        self,
        library: Library,
        papers: Sequence[str] | Papers,
        index: int,
        *,
        on_change: Callable[[UserData], None] | None = None,
        on_record: Callable[[str, UserData, UserData, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.on_record = on_record  # remembers a change for undo (u on the list)
        self.library = library
        self.papers = papers
        self.index = index
        self.on_change = on_change  # tells the list about a save made here
        self.paper: Paper | None = None
        self.user: UserData | None = None
        self.document: Document | None = None
        self._ready = False  # the paper is shown and its reading place restored
        self._marked_read = False
        self._saved_position = 0
        self._position_timer: object | None = None
        self._place = ""  # what the bar's right end shows
        self._waiting = 0  # `]` waits for the next row's page this many more times

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="article-bar"):
            yield Static(id="article-title", markup=False)
            yield Static(id="article-place", markup=False)
        yield ArticleText(id="article")
        yield Input(
            placeholder="find in the text (Enter: find, Esc: close)",
            id="article-find",
            compact=True,
        )
        yield Footer(compact=True)

    @property
    def text(self) -> ArticleText:
        return self.query_one("#article", ArticleText)

    @property
    def find_input(self) -> Input:
        return self.query_one("#article-find", Input)

    @property
    def paper_id(self) -> str | None:
        return self.paper.id if self.paper else self._id_at(self.index)

    def on_mount(self) -> None:
        self.find_input.display = False
        self.set_focus(self.text)
        self.watch(self.text, "scroll_y", self._scrolled, init=False)
        self._open(self.index)

    def _id_at(self, index: int) -> str | None:
        try:
            return self.papers[index]
        except IndexError:
            return None

    # -- opening a paper ---------------------------------------------------------------------
    def _open(self, index: int) -> None:
        paper_id = self._id_at(index)
        if paper_id is None:
            self.say("That paper is not loaded yet.", severity="warning", timeout=2)
            return
        self.index = index
        self._ready = False
        self._load(paper_id)

    @work(thread=True, exclusive=True, group="article-load")
    def _load(self, paper_id: str) -> None:
        try:
            paper = self.library.get(paper_id)
            try:
                user = self.library.user(paper.id)
            except StoreError as exc:
                self.app.call_from_thread(self.say, str(exc), severity="error")
                user = self.library.users().get(paper.id) or UserData(paper_id=paper.id)
            document = self.library.full_text(paper.id)
        except PaperreaderError as exc:
            self.app.call_from_thread(self.say, str(exc), severity="error")
            return
        if not get_current_worker().is_cancelled:  # `]` pressed again meanwhile
            self.app.call_from_thread(self._show, paper, user, document)

    def _show(self, paper: Paper, user: UserData, document: Document | None) -> None:
        self.paper, self.user, self.document = paper, user, document
        self._marked_read = user.state is ReadState.READ
        self._saved_position = user.position
        hint = None if document is not None else no_text_hint(paper)
        body = body_items(document) if document is not None else []
        self.text.set_content(header_items(paper, user, hint), body, block=user.position)
        self._ready = True
        self._update_bar()
        if document is not None and user.state is ReadState.UNREAD:
            self._save(paper.id, self._mark_reading)

    def _mark_reading(self, paper_id: str) -> UserData:
        user = self.library.user(paper_id)  # as on disk now: never undo a change made elsewhere
        if user.state is ReadState.UNREAD:
            return self.library.set_state(paper_id, ReadState.READING)
        return user

    def reload_text(self) -> None:
        """Show the paper again, e.g. once its full text has been fetched."""
        self._remember_position()
        self._open(self.index)

    # -- the bar and the reading place -------------------------------------------------------
    def _update_bar(self) -> None:
        if self.paper is None:
            return
        title = Text(no_wrap=True, overflow="ellipsis", end="")
        title.append(f" {strip_controls(self.paper.id)} ", style="bold")
        title.append(f"· {strip_controls(readable(self.paper.title))}")
        self.query_one("#article-title", Static).update(title)
        place = f"{self.text.percent}%"
        text = self.text
        if text.find_text:
            count = len(text.matches)
            at = f"{text.current + 1}/{count}" if count and text.current >= 0 else f"{count}"
            place = f"“{strip_controls(text.find_text)}” {at} · {place}"
        if len(self.papers) > 1:
            place += f" · {self.index + 1}/{len(self.papers)}"
        if place != self._place:  # its width is `auto`: only a new length needs a layout
            layout = len(place) != len(self._place)
            self._place = place
            self.query_one("#article-place", Static).update(
                Text(place + " ", end=""), layout=layout
            )

    def _scrolled(self) -> None:
        self._update_bar()
        if not self._ready:
            return
        if self._position_timer is not None:
            self._position_timer.stop()  # type: ignore[attr-defined]
        self._position_timer = self.set_timer(SAVE_POSITION_AFTER, self._remember_position)
        if self.text.at_end and self.text.max_scroll_y > 0:
            self._reached_end()

    @on(ArticleText.ReachedEnd)
    def _reached_end(self) -> None:
        if self._marked_read or self.paper is None or self.document is None:
            return
        self._marked_read = True
        paper_id = self.paper.id
        self._save(paper_id, lambda p: self.library.set_state(p, ReadState.READ), "Marked read")

    def _remember_position(self) -> None:
        if not self._ready or self.paper is None or self.document is None:
            return
        position = self.text.top_block()
        if position != self._saved_position:
            self._saved_position = position
            self._save(self.paper.id, lambda p: self.library.set_position(p, position))

    # -- saving ------------------------------------------------------------------------------
    def _save(
        self, paper_id: str, apply: Callable[[str], UserData], message: str | None = None
    ) -> None:
        """Run a save in a thread of the app's: it finishes even if this screen is gone."""

        def save() -> None:
            with _SAVE_LOCK:
                before = None
                if self.on_record is not None:
                    with contextlib.suppress(PaperreaderError):
                        before = self.library.user(paper_id)
                try:
                    user = apply(paper_id)
                except Exception as exc:  # PaperreaderError says what went wrong in one line
                    why = str(exc) if isinstance(exc, PaperreaderError) else repr(exc)
                    self.app.call_from_thread(
                        self.say, why, title="Not saved", severity="error", timeout=8
                    )
                    return
                if before is not None and self.on_record is not None:
                    label = (message or "change").removesuffix(" saved").lower()
                    self.on_record(user.paper_id, before, user, label)
                self.app.call_from_thread(self._user_changed, user, message)

        self.app.run_worker(save, thread=True, group="article-save", exit_on_error=False)

    def _user_changed(self, user: UserData, message: str | None) -> None:
        if self.on_change is not None:
            self.on_change(user)
        if message:
            self.say(message, timeout=2)
        if self.paper is None or user.paper_id != self.paper.id or not self.is_attached:
            return
        before, self.user = self.user, user
        if before is None or _shown(before) != _shown(user):
            hint = None if self.document is not None else no_text_hint(self.paper)
            self.text.set_header(header_items(self.paper, user, hint))
            self._update_bar()

    def say(self, message: str, **kwargs: object) -> None:
        """A notification; its text is never parsed as markup (it may quote a paper)."""
        self.app.notify(strip_controls(message), markup=False, **kwargs)  # type: ignore[arg-type]

    # -- keys --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Off while the find bar has focus (a letter there is the query's), but for Esc.
        return action == "back" or not isinstance(self.focused, Input)

    def action_back(self) -> None:
        if self.find_input.display:
            self._close_find()
            return
        self._remember_position()
        self.dismiss(self.index)

    def action_find(self) -> None:
        find = self.find_input
        find.display = True
        find.value = self.text.find_text
        self.set_focus(find)  # now: the next key typed is the query's

    def _close_find(self) -> None:
        self.find_input.display = False
        self.set_focus(self.text)

    @on(Input.Submitted, "#article-find")
    def _find(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_find()
        count = self.text.search(event.value.strip())
        if event.value.strip() and not count:
            self.say(f"Not found: {event.value.strip()}", severity="warning", timeout=2)
        self._update_bar()

    def action_next_match(self, step: int) -> None:
        if not self.text.next_match(step):
            self.say("No search: / finds words in the text.", timeout=2)
        self._update_bar()

    def action_outline(self) -> None:
        if self.document is None or not self.document.headings():
            self.say("This paper has no sections.", timeout=2)
            return
        choices, current = [], None
        top = self.text.top_block()
        for index, block in self.document.headings():
            indent = "  " * max(0, block.level - 1)
            number = f"{block.number} " if block.number else ""
            choices.append((str(index), f"{indent}{number}{block.text}"))
            if index <= top:
                current = str(index)

        def chosen(key: str | None) -> None:
            if key is not None:
                self.text.scroll_to_block(int(key))

        self.app.push_screen(ChoiceScreen("Contents", choices, current), chosen)

    def action_next_paper(self, step: int) -> None:
        following = self.index + step
        if not 0 <= following < len(self.papers):
            self.say("No more papers in the list.", timeout=2)
            return
        if self._id_at(following) is None:  # its page of the list is still loading
            self._waiting = NEXT_PAPER_TRIES
            self._wait_for(following)
            return
        self._remember_position()
        self._open(following)

    def _wait_for(self, index: int) -> None:
        if self._id_at(index) is not None:
            self._remember_position()
            self._open(index)
        elif self._waiting > 0:
            self._waiting -= 1
            self.set_timer(0.1, lambda: self._wait_for(index))
        else:
            self.say("That paper is not loaded yet.", severity="warning", timeout=2)

    def _current(self) -> tuple[Paper, UserData] | None:
        if self.paper is None or self.user is None:
            return None
        return self.paper, self.user

    def action_bookmark(self) -> None:
        if self.paper is not None:
            self._save(self.paper.id, self.library.toggle_bookmark)

    def action_cycle_state(self) -> None:
        if self.paper is not None:
            self._marked_read = True  # the user chose: reaching the end does not override it
            self._save(self.paper.id, self.library.cycle_state)

    def action_tags(self) -> None:
        if (current := self._current()) is None:
            return
        paper, user = current

        def done(tags: list[str] | None) -> None:
            if tags is not None and tags != user.tags:
                self._save(paper.id, lambda p: self.library.set_tags(p, tags), "Tags saved")

        known = sorted(self.library.tag_counts())
        self.app.push_screen(TagsScreen(strip_controls(paper.title), user.tags, known), done)

    def action_note(self) -> None:
        if (current := self._current()) is None:
            return
        paper, user = current
        base = user.note

        def done(text: str | None) -> None:
            if text is not None and text != (base.text if base else ""):
                apply = lambda p: self.library.set_note(p, text, base=base)  # noqa: E731
                self._save(paper.id, apply, "Note saved")

        self.app.push_screen(NoteEditor(paper.id, strip_controls(paper.title), base), done)

    def action_fetch_text(self) -> None:
        if self.paper is None:
            return
        self.post_message(self.FetchText(self.paper.id))
        self.say(f"Fetching the full text of {self.paper.id}…", timeout=3)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    # -- fetching the full text (`d`) --------------------------------------------------------
    @on(FetchText)
    def _fetch_text(self, event: FetchText) -> None:
        """Fetch in a thread worker, its progress in a task bar above the footer; errors are
        one notification; the text is shown when it is there."""
        event.stop()
        if self.query(TaskBar):
            self.say("A fetch is already running.", severity="warning", timeout=3)
            return
        bar = TaskBar("Fetch text", fetch_text_job(self.library, event.paper_id), id="task-bar")
        bar.fetching = event.paper_id  # type: ignore[attr-defined]
        self.mount(bar, before=self.query_one(Footer))

    @on(TaskBar.Finished)
    def _fetch_finished(self, event: TaskBar.Finished) -> None:
        event.stop()
        fetched = getattr(event.bar, "fetching", None)
        event.bar.remove()
        outcome = event.outcome
        self.say(outcome.message, severity=outcome.severity, timeout=6)  # type: ignore[arg-type]
        if outcome.severity != "error" and fetched is not None and fetched == self.paper_id:
            self.reload_text()


def _shown(user: UserData) -> tuple[object, ...]:
    """What the article's header shows of the user's data (a position change redraws nothing)."""
    return (user.bookmarked, user.state, tuple(user.tags), user.note.text if user.note else "")
