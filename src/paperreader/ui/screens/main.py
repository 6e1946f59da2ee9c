"""The main screen: search bar, paper list, detail pane. It lays them out, routes keys and
messages, and runs the thin thread workers (search, detail); the rest is elsewhere:
search dispatch (ui/search_dispatch.py), the paper's actions and undo (ui/paper_actions.py,
ui/undo.py), views and their counts (ui/view_actions.py, screens/view_picker.py), typed
messages from the workers (ui/messages.py)."""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.worker import get_current_worker

from paperreader.core.errors import PaperreaderError, StoreError
from paperreader.core.library import Library
from paperreader.core.models import Hit, SearchResult, UserData
from paperreader.core.text import strip_controls
from paperreader.core.views import SORTS, Counts
from paperreader.ui.background import Background
from paperreader.ui.jobs import catch_up_job
from paperreader.ui.messages import DetailReady, Notice, SearchDone, SearchFailed
from paperreader.ui.paper_actions import PaperActions, bibtex, tags_saved
from paperreader.ui.screens.article import ArticleScreen, ListPapers
from paperreader.ui.screens.modals import HelpScreen
from paperreader.ui.screens.view_picker import ViewPicker
from paperreader.ui.search_dispatch import SearchDispatch, lasting, typing_text, unexpected
from paperreader.ui.undo import Undoer
from paperreader.ui.view_actions import ViewActions
from paperreader.ui.widgets.detail import DetailPane, PaperView, SimilarList
from paperreader.ui.widgets.paper_list import ListQuery, PaperList
from paperreader.ui.widgets.search_input import SearchInput
from paperreader.ui.widgets.top_bar import BASE_VIEWS, TopBar

__all__ = ["BASE_VIEWS", "SORTS", "MainScreen", "bibtex", "tags_saved", "typing_text"]

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
# A pause this long in typing completes the last word: a search that found nothing is run
# again with it complete, so a misspelling gets its "Did you mean" while typing.
TYPING_PAUSE = 0.6

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
    "undo",
    "redo",
    "next_unread",
    "mark_all_read",
    "save_view",
}


class MainScreen(PaperActions, ViewActions, Background, Screen[None]):
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
        Binding("a", "note", "Note", priority=True),  # (n is "next match" in the article)
        Binding("e", "edit_external", "$EDITOR", show=False, priority=True),
        Binding("o", "open_link", "Open", show=False, priority=True),
        Binding("y", "copy", "Copy", show=False, priority=True),
        Binding("m", "similar", "Similar", show=False, priority=True),
        Binding("s", "cycle_sort", "Sort", priority=True),
        Binding("f", "choose_view", "View", priority=True),
        Binding("F", "next_view", "Next view", show=False, priority=True),
        Binding("u", "undo", "Undo", show=False, priority=True),
        Binding("U", "redo", "Redo", show=False, priority=True),
        Binding("J", "next_unread", "Next unread", show=False, priority=True),
        Binding("A", "mark_all_read", "Mark all read", show=False, priority=True),
        Binding("S", "save_view", "Save view", show=False, priority=True),
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
        self.dispatch = SearchDispatch(library)
        self.undoer = Undoer(library)
        self.counts: dict[str, Counts] = {}
        self.picker: ViewPicker | None = None
        self._suggestion_usable = False  # what the footer last showed for ctrl+y
        self._status_width = -1
        self._release_pending = False  # held keys are released once the submitted search shows
        self._pause: Timer | None = None
        self._reported: set[str] = set()

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
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
        self.update_topbar()
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
        if not worker.is_cancelled:
            self.refresh_counts()

    def focus_now(self, widget: Widget) -> None:
        """Move the focus before the next key is handled: `widget.focus()` waits its turn
        behind keys already queued, so a fast `/lora` sent l, o, r (cycle read state!), a to
        the list instead of the search bar."""
        self.set_focus(widget)

    @property
    def compact(self) -> bool:
        return self.has_class("-tiny") or self.has_class("-short")

    def update_topbar(self) -> None:
        self.query_one("#topbar", TopBar).show(
            self.library.name, self.library.count(), self.query_state.view, self.effective_sort()
        )

    # -- searching ---------------------------------------------------------------------------
    def search(
        self,
        *,
        partial: bool = False,
        delay: float = 0.0,
        keep_cursor: bool = False,
        hint_only: bool = False,
    ) -> None:
        """Run the query in a thread; `partial` while typing (the last word is unfinished)."""
        query = self.dispatch.ask(self.query_state, partial=partial)
        self._search(query, delay, keep_cursor, hint_only)

    @work(thread=True, exclusive=True, group="search")
    def _search(self, query: ListQuery, delay: float, keep_cursor: bool, hint_only: bool) -> None:
        worker = get_current_worker()
        if delay:
            time.sleep(delay)  # a newer keystroke cancels this worker meanwhile: a debounce
        message = self.dispatch.run(query, keep_cursor, lambda: worker.is_cancelled, hint_only)
        if message is not None and not worker.is_cancelled:
            self.post_message(message)

    def on_search_failed(self, event: SearchFailed) -> None:
        event.stop()
        self._release_keys()
        if not self.dispatch.is_current(event.query):
            return
        self.search_error = event.error
        status = self.query_one("#search-status", Static)
        status.add_class("-error")
        # Still typing (`date:20`, `title:(`): say so quietly and keep the list, unless no more
        # typing can mend it (an unknown field, a stray `)`).
        if event.query.partial and not lasting(event.error):
            self._set_status(Text("incomplete query"))
            if "-error" in self.query_one("#suggestion", Static).classes:
                self._set_suggestion(None)  # an older query's error is not this one's
            return
        self._set_status(Text("query error", style="bold"))
        self._set_suggestion(Text(f"⚠ {strip_controls(event.error)}"), error=True)

    def on_search_done(self, event: SearchDone) -> None:
        event.stop()
        query, result = event.query, event.result
        if not self.dispatch.is_current(query):
            self._release_keys()
            return
        self.search_error = None
        if event.hint_only and self.result is not None:
            # A typing pause's search: the list stays; only its "Did you mean" shows (ctrl+y).
            self.result = replace(self.result, suggestion=result.suggestion, corrected=False)
            self._show_suggestion(self.result)
            return
        self.result = result
        paper_list = self.paper_list
        paper_list.empty_message = (
            (result.reason or "No papers match.")
            if query.text or query.view != "all"
            else ("The library is empty: import papers with `paperreader import FILE`.")
        )
        # Later pages must come from the same search as page 0: the corrected query, if any.
        paged = replace(query, text=result.suggestion) if result.corrected else query
        paper_list.load(paged, result, keep_cursor=event.keep_cursor)
        self.query_one("#search-status", Static).remove_class("-error")
        noun = "result" if query.text else "paper"
        count = f"{result.total:,} {noun}{'' if result.total == 1 else 's'}"
        if self.show_timing:
            count += f" · {result.elapsed_ms:.0f} ms"
        self._set_status(Text(count))
        self._show_suggestion(result)
        self.update_topbar()
        self._release_keys()

    def _show_suggestion(self, result: SearchResult) -> None:
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

    def _release_keys(self) -> None:
        if self._release_pending:
            self._release_pending = False
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

    @on(Input.Changed, "#query")
    def _query_changed(self, event: Input.Changed) -> None:
        if event.value == self.query_state.text:
            return
        self.query_state = replace(self.query_state, text=event.value)
        # A space completes the last word: search it whole (misspelt, it gets its suggestion).
        done = event.value.endswith(" ") and bool(event.value.strip())
        self.search(partial=not done, delay=DEBOUNCE)
        if self._pause is not None:
            self._pause.stop()
        self._pause = self.set_timer(TYPING_PAUSE, self._typing_paused)

    def _typing_paused(self) -> None:
        """The typing paused: a partial search that found nothing runs with its last word
        complete, so `/atention` shows its "Did you mean" without Enter."""
        self._pause = None
        asked = self.dispatch.asked
        if asked is None or not asked.partial or not self.query_state.text.strip():
            return
        if self.result is not None and self.result.total == 0 and self.search_error is None:
            self.search(keep_cursor=True, hint_only=True)

    @on(SearchInput.Entered, "#query")
    def _query_submitted(self, event: SearchInput.Entered) -> None:
        self.query_state = replace(self.query_state, text=event.value)
        # SearchInput had the app hold the keys typed after Enter: release them with the results.
        self._release_pending = True
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
        article = ArticleScreen(
            self.library,
            ListPapers(self.paper_list),
            row,
            on_change=self.user_changed,
            on_record=self.record_change,
        )
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
                self.post_message(DetailReady(view))
                time.sleep(SIMILAR_WHILE_TYPING_DELAY)
                if worker.is_cancelled:
                    return
            similar = [h for h in self.library.similar(paper_id, limit=8) if h.id != paper_id]
        except Exception as exc:  # a bug must cost one paper's details, never the session
            error = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
            self.post_message(Notice(error, "error"))
            return
        if not worker.is_cancelled:
            view = PaperView(paper, user, spans, similar, problem, note_spans, note, snippet)
            self.post_message(DetailReady(view))

    def on_detail_ready(self, event: DetailReady) -> None:
        event.stop()
        view = event.view
        if view.paper.id != self.current_id:
            return
        # A key handled since (the app runs bindings before the screen's queued messages):
        # the list's cursor is on another row already. Drawn now, this stale paper's layout
        # and paint would hold up the paint of the row the cursor moved to.
        hit = None if self.jumped else self.paper_list.current
        if hit is not None and hit.id != view.paper.id:
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


def settle_gc() -> None:
    """What start-up built (Textual's DOM, the index's readers and caches) lives as long as
    the app: keep it out of the collector's full passes, and run those far less often.
    Measured while typing at 100k papers: 7 full passes of 15-70 ms each and ~900 young
    passes per 63 keystrokes, before; no full pass and ~160 young passes (~1 ms), after."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
