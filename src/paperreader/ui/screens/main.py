"""The main screen: search bar, paper list, detail pane; every key flow of the reader."""

from __future__ import annotations

import contextlib
import gc
import re
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.worker import Worker, get_current_worker

from paperreader.core.errors import PaperreaderError, StoreError
from paperreader.core.library import Library
from paperreader.core.models import Hit, Note, Paper, SearchResult, UserData
from paperreader.core.text import strip_controls
from paperreader.editor import EditorError, edit_text
from paperreader.ui.jobs import Job, catch_up_job, fetch_arxiv_job, fetch_hf_job, import_job
from paperreader.ui.screens.article import ArticleScreen, ListPapers
from paperreader.ui.screens.modals import (
    ArxivScreen,
    ChoiceScreen,
    HelpScreen,
    PathScreen,
    TagsScreen,
)
from paperreader.ui.screens.note_editor import NoteEditor
from paperreader.ui.widgets.detail import DetailPane, PaperView, SimilarList
from paperreader.ui.widgets.paper_list import PAGE_SIZE, ListQuery, PaperList
from paperreader.ui.widgets.search_input import SearchInput
from paperreader.ui.widgets.task_bar import TaskBar

# Seconds of quiet typing before a search runs. None now: a search costs ~5-40 ms at 100,000
# papers, and keys typed while one runs make the next one skip the stale ones between.
DEBOUNCE = 0.0
WARM_AFTER = 1.0  # seconds after start before the search cache is warmed (first page first)
DETAIL_DELAY = 0.04  # seconds the cursor rests on a row before the detail pane is redrawn
# While typing in the search bar the list follows every key; the detail pane (a paper, its
# highlights, similar papers) waits for a pause, so it never slows the next key's search.
TYPING_DETAIL_DELAY = 0.3
# ... and its similar papers after a longer one: at 1,000,000 papers they cost ~90 ms of the
# interpreter, which held up the keys typed meanwhile (the reader's p95 key-to-paint).
SIMILAR_WHILE_TYPING_DELAY = 1.0
SORTS = ("relevance", "newest", "oldest", "title")
BASE_VIEWS = [
    ("all", "All papers"),
    ("bookmarked", "Bookmarked"),
    ("unread", "Unread"),
    ("reading", "Reading"),
    ("read", "Read"),
    ("notes", "Has a note"),
    ("tagged", "Tagged"),
]
# While typing, a last word of one or two letters does not narrow the search yet: its prefix
# matches too many words to mean anything (and expanding it is the slowest search there is).
_SHORT_LAST_WORD = re.compile(r"(?:^|\s)[^\W\d_]{1,2}$")


def typing_text(text: str) -> str:
    found = _SHORT_LAST_WORD.search(text)
    return text[: found.start()].rstrip() if found else text


# A save's notification: fixed text, or made from the saved data.
Message = str | Callable[[UserData], str] | None

PLACEHOLDER = '/ to search — words, "phrases", author:x tag:x date:2024 is:bookmarked'


# Actions whose key is a printable character: off while the search bar has focus.
TYPED_ACTIONS = {
    "search",
    "bookmark",
    "cycle_state",
    "tags",
    "note",
    "edit_external",
    "open_link",
    "copy",
    "similar",
    "cycle_sort",
    "choose_view",
    "next_view",
    "help",
    "quit",
}


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (60, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]

    # Keys are priority bindings: the app runs them the moment it reads them, in the order
    # typed. Otherwise a key only reached its action after the keys queued before it were
    # handled, and typed-ahead keys (`/lora`, `jjb`) landed on the wrong widget or row.
    # While the search bar has focus they are off (check_action), so they type into it.
    BINDINGS = [
        Binding("slash", "search", "Search", priority=True),
        Binding("b", "bookmark", "Bookmark", priority=True),
        Binding("r", "cycle_state", "Read", priority=True),
        Binding("t", "tags", "Tags", priority=True),
        Binding("n,a", "note", "Note", priority=True),
        Binding("e", "edit_external", "$EDITOR", show=False, priority=True),
        Binding("o", "open_link", "Open", show=False, priority=True),
        Binding("y", "copy", "Copy", show=False, priority=True),
        Binding("m", "similar", "Similar", show=False, priority=True),
        Binding("s", "cycle_sort", "Sort", priority=True),
        Binding("f", "choose_view", "View", priority=True),
        Binding("F", "next_view", "Next view", show=False, priority=True),
        Binding("ctrl+y", "accept_suggestion", "Use suggestion", priority=True),
        Binding("escape", "escape", "Back", show=False),
        Binding("question_mark", "help", "Help", priority=True),
        Binding("q", "quit", "Quit", priority=True),
    ]

    def __init__(self, library: Library, *, show_timing: bool = True) -> None:
        super().__init__()
        self.library = library
        self.show_timing = show_timing
        self.query_state = ListQuery()
        self.result: SearchResult | None = None
        self.current_id: str | None = None  # the paper in the detail pane
        self.jumped = False  # the detail shows a similar paper, not the list's cursor row
        self.search_error: str | None = None
        self._seq = 0
        self._shown_seq = 0
        self._suggestion_usable = False  # what the footer last showed for ctrl+y
        self._status_width = -1
        self._topbar_text = ""
        self._save_lock = threading.Lock()
        self._search_lock = threading.Lock()
        self._release_after = 0  # held keys are released once this search shows
        self._reported: set[str] = set()

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        with Horizontal(id="searchbar"):
            yield SearchInput(placeholder=PLACEHOLDER, id="query", compact=True)
            yield Static(id="search-status")
        yield Static(id="suggestion")
        with Container(id="panes"):
            yield PaperList(self.library, id="list")
            yield DetailPane(id="detail")
        yield Footer(compact=True)

    @property
    def paper_list(self) -> PaperList:
        return self.query_one("#list", PaperList)

    @property
    def detail(self) -> DetailPane:
        return self.query_one("#detail", DetailPane)

    @property
    def search_input(self) -> SearchInput:
        return self.query_one("#query", SearchInput)

    def on_mount(self) -> None:
        self.query_one("#suggestion").display = False
        self._update_topbar()
        self.focus_now(self.paper_list)
        self.search()
        if self.library.needs_indexing():  # an import's papers, or an index to rebuild
            self.start_job("Index", catch_up_job(self.library))
        self.set_timer(WARM_AFTER, self._warm_search)

    @work(thread=True, exclusive=True, group="warm")
    def _warm_search(self) -> None:
        """Once the first page is up: the common words' postings into memory, so the first
        searches for them do not each pay for decoding them (see SearchIndex.warm)."""
        worker = get_current_worker()
        settle_gc()
        with contextlib.suppress(PaperreaderError):  # a damaged index says so on search
            self.library.warm_search(should_stop=lambda: worker.is_cancelled)
        gc.freeze()  # what the warm-up added too

    def focus_now(self, widget: Widget) -> None:
        """Move the focus before the next key is handled: `widget.focus()` waits its turn
        behind keys already queued, so a fast `/lora` sent l, o, r (cycle read state!), a to
        the list instead of the search bar."""
        self.set_focus(widget)

    @property
    def compact(self) -> bool:
        return self.has_class("-tiny") or self.has_class("-short")

    # -- searching ---------------------------------------------------------------------------
    def search(
        self, *, partial: bool = False, delay: float = 0.0, keep_cursor: bool = False
    ) -> None:
        """Run the query in a thread; `partial` while typing (the last word is unfinished)."""
        self._seq += 1
        query = self.query_state
        if partial:
            query = replace(query, text=typing_text(query.text), partial=True)
        if query.sort == "relevance" and not query.text.strip():
            # What the top bar says (effective_sort): with a view and no words, the index
            # would rank the view's filter terms, an order that means nothing.
            query = replace(query, sort="newest")
        self._search(query, delay, keep_cursor, self._seq)

    @work(thread=True, exclusive=True, group="search")
    def _search(self, query: ListQuery, delay: float, keep_cursor: bool, seq: int) -> None:
        worker = get_current_worker()
        if delay:
            time.sleep(delay)  # a newer keystroke cancels this worker meanwhile: a debounce
        self._run_search(worker, query, keep_cursor, seq)

    def _run_search(
        self,
        worker: Worker[None],
        query: ListQuery,
        keep_cursor: bool,
        seq: int,
    ) -> bool:
        """One search of `_search`'s thread; False if it failed or went stale."""
        # One search at a time: a thread cannot be stopped, so searches a newer keystroke made
        # stale are skipped here instead of running alongside (and slowing) the newest one.
        with self._search_lock:
            if worker.is_cancelled:
                return False
            try:
                result = self.library.search(
                    query.text,
                    limit=PAGE_SIZE,
                    sort=query.sort,
                    view=query.view,
                    partial_last=query.partial,
                )
            except PaperreaderError as exc:
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._search_failed, seq, query, str(exc))
                return False
            except Exception as exc:  # a bug must cost one search, never the session
                self.app.call_from_thread(self._search_failed, seq, query, unexpected(exc))
                return False
        if worker.is_cancelled:
            return False
        self.app.call_from_thread(self._show_result, seq, query, result, keep_cursor)
        return True

    def _search_failed(self, seq: int, query: ListQuery, message: str) -> None:
        self._release_keys(seq)
        if seq < self._shown_seq:
            return
        self._shown_seq = seq
        self.search_error = message
        status = self.query_one("#search-status", Static)
        status.add_class("-error")
        if query.partial:  # still typing (`date:20`): say so quietly, keep the list
            self._set_status(Text("incomplete query"))
            return
        self._set_status(Text("query error", style="bold"))
        self._set_suggestion(Text(f"⚠ {strip_controls(message)}"), error=True)

    def _show_result(
        self,
        seq: int,
        query: ListQuery,
        result: SearchResult,
        keep: bool,
    ) -> None:
        if seq < self._shown_seq:
            self._release_keys(seq)
            return
        self._shown_seq = seq
        self.search_error = None
        self.result = result
        paper_list = self.paper_list
        paper_list.empty_message = (
            "No papers match."
            if query.text or query.view != "all"
            else ("The library is empty: import papers with `paperreader import FILE`.")
        )
        # Later pages must come from the same search as page 0: the corrected query, if any.
        paged = replace(query, text=result.suggestion) if result.corrected else query
        paper_list.load(paged, result, keep_cursor=keep)
        status = self.query_one("#search-status", Static)
        status.remove_class("-error")
        noun = "result" if query.text else "paper"
        count = f"{result.total:,} {noun}{'' if result.total == 1 else 's'}"
        if self.show_timing:
            count += f" · {result.elapsed_ms:.0f} ms"
        self._set_status(Text(count))
        if result.suggestion:
            hint = Text("Did you mean ")
            hint.append(f"“{strip_controls(result.suggestion)}”", style="bold")
            hint.append("?  ")
            if result.corrected:
                hint.append("(showing its results)  ")
            hint.append("ctrl+y", style="bold")
            hint.append(": use it")
            self._set_suggestion(hint)
        else:
            self._set_suggestion(None)
        self._update_topbar()
        self._release_keys(seq)

    def _release_keys(self, seq: int) -> None:
        if self._release_after and seq >= self._release_after:
            self._release_after = 0
            self.app.release_keys()  # type: ignore[attr-defined]

    def _set_status(self, text: Text) -> None:
        """The result count beside the query. Its width is `auto`: only a change of length
        needs a layout pass (one repaints the scrollbars and more, ~5 ms a keystroke)."""
        status = self.query_one("#search-status", Static)
        status.update(text, layout=text.cell_len != self._status_width)
        self._status_width = text.cell_len

    def _set_suggestion(self, text: Text | None, *, error: bool = False) -> None:
        line = self.query_one("#suggestion", Static)
        line.set_class(error, "-error")
        if text is not None:
            line.update(text)
        if line.display != (text is not None):
            line.display = text is not None
        usable = bool(self.result and self.result.suggestion)
        if usable != self._suggestion_usable:  # ctrl+y comes and goes with a suggestion
            self._suggestion_usable = usable
            # Not at every keystroke: the footer is rebuilt (~40 widgets mounted) each time.
            self.refresh_bindings()

    def effective_sort(self) -> str:
        sort = self.query_state.sort
        return "newest" if sort == "relevance" and not self.query_state.text.strip() else sort

    def view_label(self, view: str | None = None) -> str:
        view = view or self.query_state.view
        if view.startswith("tag:"):
            return f"#{strip_controls(view[4:])}"
        return dict(BASE_VIEWS).get(view, strip_controls(view))

    def _update_topbar(self) -> None:
        bar = Text(no_wrap=True, overflow="ellipsis", end="")
        bar.append(" paperreader ", style="bold")
        bar.append(f"· {strip_controls(self.library.name)} · ")
        bar.append(f"{self.library.count():,} papers")
        bar.append(" · view: ")
        bar.append(self.view_label(), style="bold")
        bar.append(" · sort: ")
        bar.append(self.effective_sort(), style="bold")
        if bar.plain != self._topbar_text:  # unchanged while typing: no repaint
            self._topbar_text = bar.plain
            self.query_one("#topbar", Static).update(bar)

    @on(Input.Changed, "#query")
    def _query_changed(self, event: Input.Changed) -> None:
        if event.value == self.query_state.text:
            return
        self.query_state = replace(self.query_state, text=event.value)
        self.search(partial=True, delay=DEBOUNCE)

    @on(SearchInput.Entered, "#query")
    def _query_submitted(self, event: SearchInput.Entered) -> None:
        self.query_state = replace(self.query_state, text=event.value)
        # SearchInput had the app hold the keys typed after Enter: release them with the results.
        self._release_after = self._seq + 1
        self.search()

    def action_search(self) -> None:
        self._show_detail_only(False)
        self.focus_now(self.search_input)

    def action_accept_suggestion(self) -> None:
        if self.result is None or not self.result.suggestion:
            return
        self.query_state = replace(self.query_state, text=self.result.suggestion)
        with self.search_input.prevent(Input.Changed):
            self.search_input.value = self.result.suggestion
        self.search()

    def action_cycle_sort(self) -> None:
        now = self.effective_sort()
        order = (
            list(SORTS) if self.query_state.text.strip() else [s for s in SORTS if s != "relevance"]
        )
        following = order[(order.index(now) + 1) % len(order)] if now in order else order[0]
        self.set_sort(following)

    def set_sort(self, sort: str) -> None:
        self.query_state = replace(self.query_state, sort=sort)
        self._update_topbar()
        self.search()
        self.say(f"Sorted by {self.effective_sort()}", timeout=2)

    def views(self) -> list[tuple[str, str]]:
        tags = sorted(self.library.tag_counts().items())
        return [*BASE_VIEWS, *((f"tag:{t}", f"#{strip_controls(t)} ({n})") for t, n in tags)]

    def set_view(self, view: str) -> None:
        self.query_state = replace(self.query_state, view=view)
        self._update_topbar()
        self.search()

    def action_choose_view(self) -> None:
        def chosen(view: str | None) -> None:
            if view:
                self.set_view(view)

        self.app.push_screen(ChoiceScreen("Show", self.views(), self.query_state.view), chosen)

    def action_next_view(self) -> None:
        keys = [key for key, _ in self.views()]
        now = self.query_state.view
        self.set_view(keys[(keys.index(now) + 1) % len(keys)] if now in keys else "all")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "accept_suggestion":
            return bool(self.result and self.result.suggestion)
        # Off while the search bar has focus: the key is a letter of the query.
        return not (action in TYPED_ACTIONS and isinstance(self.focused, Input))

    def action_quit(self) -> None:
        self.app.exit()

    # -- moving ------------------------------------------------------------------------------
    @on(PaperList.Highlighted)
    def _highlighted(self, event: PaperList.Highlighted) -> None:
        self.jumped = False
        if event.hit is not None:
            self.show_paper(event.hit.id, event.hit)
        elif self.paper_list.total == 0:
            self.current_id = None
            self.detail.show_empty("")

    @on(PaperList.Selected)
    def _selected(self, event: PaperList.Selected) -> None:
        index = self.paper_list.cached_index(event.hit.id)
        row = self.paper_list.cursor if index is None else index
        on_change = lambda user: self._user_changed(user, None)  # noqa: E731
        article = ArticleScreen(self.library, ListPapers(self.paper_list), row, on_change=on_change)
        self.app.push_screen(article, lambda row: self.paper_list.move_to(row or 0))

    @on(OptionList.OptionSelected, "#d-similar")
    def _similar_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            index = self.paper_list.cached_index(event.option.id)
            if index is not None:
                self.paper_list.move_to(index)
            else:
                self.show_paper(event.option.id)
                self.jumped = True
            self.focus_now(self.detail)

    def show_paper(self, paper_id: str, hit: Hit | None = None) -> None:
        self.current_id = paper_id
        typing = hit is not None and self.focused is self.search_input
        delay = 0.0 if hit is None else TYPING_DETAIL_DELAY if typing else DETAIL_DELAY
        self._load_detail(paper_id, self.result, delay, typing=typing)

    @work(thread=True, exclusive=True, group="detail")
    def _load_detail(
        self,
        paper_id: str,
        result: SearchResult | None,
        delay: float = 0.0,
        *,
        typing: bool = False,
    ) -> None:
        worker = get_current_worker()
        if delay:
            time.sleep(delay)  # holding j: draw the pane once the cursor rests, not per row
        if worker.is_cancelled:
            return
        try:
            paper = self.library.get(paper_id)
            problem = None
            try:
                user = self.library.user(paper_id)
            except StoreError as exc:
                problem = str(exc)
                user = self.library.users().get(paper_id) or UserData(paper_id=paper_id)
            spans = self.library.spans(paper.abstract, "abstract", result) if result else []
            note = strip_controls(user.note.text) if user.note else ""
            note_spans = self.library.spans(note, "note", result) if result and note else []
            snippet = self.library.snippet(paper, result) if result and not typing else None
            if worker.is_cancelled:
                return
            if typing:  # the paper now, its similar papers once the typing pauses longer
                view = PaperView(paper, user, spans, [], problem, note_spans, note, snippet)
                self.app.call_from_thread(self._detail_loaded, view)
                time.sleep(SIMILAR_WHILE_TYPING_DELAY)
                if worker.is_cancelled:
                    return
            similar = [h for h in self.library.similar(paper_id, limit=8) if h.id != paper_id]
        except PaperreaderError as exc:
            self.app.call_from_thread(self.say, str(exc), severity="error")
            return
        except Exception as exc:  # a bug must cost one paper's details, never the session
            self.app.call_from_thread(self.say, unexpected(exc), severity="error")
            return
        if not worker.is_cancelled:
            view = PaperView(paper, user, spans, similar, problem, note_spans, note, snippet)
            self.app.call_from_thread(self._detail_loaded, view)

    def _detail_loaded(self, view: PaperView) -> None:
        if view.paper.id != self.current_id:
            return
        self.detail.show(view)
        self.paper_list.update_hit(view.paper.id, view.user)
        if view.problem and view.problem not in self._reported:
            self._reported.add(view.problem)
            self.say(view.problem, title="Cannot read this paper's notes", severity="error")

    def _show_detail_only(self, on: bool) -> None:
        self.set_class(on and self.compact, "-detail-only")

    def action_escape(self) -> None:
        focused = self.focused
        if focused is self.search_input:  # (Esc typed there is handled by the input itself)
            self.focus_now(self.paper_list)  # back to the list, the query kept
            return
        if focused is not self.paper_list:
            self._show_detail_only(False)
            self.focus_now(self.paper_list)
            return
        if self.query_state.text:
            self.search_input.value = ""

    def action_similar(self) -> None:
        similar = self.query_one("#d-similar", SimilarList)
        self._show_detail_only(True)
        if similar.option_count:
            self.focus_now(similar)
            similar.highlighted = similar.highlighted or 0
            self.detail.scroll_to_widget(similar, animate=False)
        else:
            self.say("No similar papers found (yet).", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def say(self, message: str, **kwargs: object) -> None:
        """A notification; its text is never parsed as markup (it may quote a paper)."""
        self.notify(strip_controls(message), markup=False, **kwargs)  # type: ignore[arg-type]

    # -- changing the paper ------------------------------------------------------------------
    def _target(self) -> str | None:
        # The list's row, read now: keys typed ahead (`jjb`) must not act on the row the
        # Highlighted message (still queued) is about to leave.
        hit = self.paper_list.current
        if not self.jumped and hit is not None and hit.id != self.current_id:
            self.show_paper(hit.id, hit)
        if self.current_id is None:
            self.say("No paper selected.", severity="warning", timeout=2)
        return self.current_id

    def _paper(self, paper_id: str) -> Paper | None:
        view = self.detail.view
        if view is not None and view.paper.id == paper_id:
            return view.paper
        try:
            return self.library.get(paper_id)
        except PaperreaderError as exc:
            self.say(str(exc), severity="error")
            return None

    def _fresh_user(self, paper_id: str) -> UserData | None:
        try:
            return self.library.user(paper_id)
        except StoreError as exc:
            self.say(str(exc), title="Cannot read this paper's notes", severity="error")
            return None

    @work(thread=True, group="save")
    def change(
        self, paper_id: str, apply: Callable[[str], UserData], message: Message = None
    ) -> None:
        # One save at a time, shown in the order they were made.
        with self._save_lock:
            try:
                user = apply(paper_id)
            except Exception as exc:  # PaperreaderError says what went wrong in one line
                error = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
                self.app.call_from_thread(
                    self.say, error, title="Not saved", severity="error", timeout=8
                )
                return
            self.app.call_from_thread(self._user_changed, user, message)

    def _user_changed(self, user: UserData, message: Message) -> None:
        self.paper_list.update_hit(user.paper_id, user)
        self.detail.update_user(user)
        if callable(message):
            message = message(user)
        if message:
            self.say(message, timeout=2)

    def action_bookmark(self) -> None:
        if (pid := self._target()) is not None:
            self.change(pid, self.library.toggle_bookmark)

    def action_cycle_state(self) -> None:
        if (pid := self._target()) is not None:
            self.change(pid, self.library.cycle_state)

    def action_tags(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        user = self._fresh_user(pid) if pid else None
        if pid is None or paper is None or user is None:
            return

        def done(tags: list[str] | None) -> None:
            if tags is not None and tags != user.tags:
                self.change(pid, lambda p: self.library.set_tags(p, tags), tags_saved)

        known = sorted(self.library.tag_counts())
        self.app.push_screen(TagsScreen(strip_controls(paper.title), user.tags, known), done)

    def _save_note(self, paper_id: str, base: Note | None, text: str) -> None:
        before = base.text if base else ""
        if text == before:
            return
        self.change(paper_id, lambda p: self.library.set_note(p, text, base=base), "Note saved")

    def action_note(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        user = self._fresh_user(pid) if pid else None
        if pid is None or paper is None or user is None:
            return
        base = user.note

        def done(text: str | None) -> None:
            if text is not None:
                self._save_note(pid, base, text)

        editor = NoteEditor(pid, strip_controls(paper.title), base)
        self.app.push_screen(editor, done)

    def action_edit_external(self) -> None:
        pid = self._target()
        user = self._fresh_user(pid) if pid else None
        if pid is None or user is None:
            return
        base = user.note
        try:
            text = edit_text(base.text if base else "", around=self.app.suspend)
        except SuspendNotSupported:
            self.say("This terminal cannot run an editor; use n.", severity="warning")
            return
        except EditorError as exc:
            self.say(str(exc), severity="error")
            return
        finally:
            self.refresh(layout=True)
        self._save_note(pid, base, text)

    def action_open_link(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        if paper is None:
            return
        links = paper.all_links()
        if not links:
            self.say("This paper has no link.", severity="warning", timeout=3)
            return
        url = next(iter(links.values()))
        self._open_url(url)
        self.say(f"Opening {url}", timeout=2)

    @work(thread=True, group="browser")
    def _open_url(self, url: str) -> None:
        try:
            webbrowser.open(url)
        except Exception as exc:  # any browser failure is only a message
            self.app.call_from_thread(self.say, f"Cannot open a browser: {exc}", severity="error")

    def action_copy(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        if paper is None:
            return
        links = paper.all_links()
        choices = []
        if links:
            kind, url = next(iter(links.items()))
            choices.append(("link", f"Link ({kind}): {url}"))
        choices += [("bibtex", "BibTeX citation"), ("id", f"Id: {paper.id}")]

        def chosen(key: str | None) -> None:
            if key is None:
                return
            if key == "link":
                text, what = next(iter(links.values())), "the link"
            elif key == "bibtex":
                text, what = bibtex(paper), "the BibTeX citation"
            else:
                text, what = paper.id, "the id"
            self.app.copy_to_clipboard(text)
            self.say(f"Copied {what}.", timeout=2)

        self.app.push_screen(ChoiceScreen("Copy", choices), chosen)

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

    @on(TaskBar.Finished)
    def _job_finished(self, event: TaskBar.Finished) -> None:
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
            self._update_topbar()
            self.search()

    # -- keeping up with other instances -----------------------------------------------------
    @work(thread=True, exclusive=True, group="sync")
    def poll_store(self) -> None:
        try:
            before = self.library.count()
            changed = self.library.sync_store()
            if self.library.count(fresh=True) != before:  # another process imported papers
                self.app.call_from_thread(self._update_topbar)
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
            if self.current_id:
                self._load_detail(self.current_id, self.result)

    def _report(self, problems: list[str]) -> None:
        for problem in problems:
            if problem not in self._reported:
                self._reported.add(problem)
                self.say(problem, title="A notes file cannot be read", severity="error", timeout=10)


def settle_gc() -> None:
    """What start-up built (Textual's DOM, the index's readers and caches) lives as long as
    the app: keep it out of the collector's full passes, and run those far less often.
    Measured while typing at 100k papers: 7 full passes of 15-70 ms each and ~900 young
    passes per 63 keystrokes, before; no full pass and ~160 young passes (~1 ms), after."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def tags_saved(user: UserData) -> str:
    # The tags as saved (normalised); they are the user's text: `say` never parses markup.
    return f"Tags saved: {' '.join(f'#{t}' for t in user.tags)}" if user.tags else "Tags removed"


def unexpected(exc: BaseException) -> str:
    return f"Unexpected error ({type(exc).__name__}: {exc}); please report it."


def bibtex(paper: Paper) -> str:
    from paperreader.core.exporters.bibtex import base_key, entry

    return entry(paper, base_key(paper))
