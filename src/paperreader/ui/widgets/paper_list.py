"""The paper list: a line-API ScrollView that pages rows in from the index on demand.

One row per paper, never one widget per paper: `render_line(y)` draws the row from a small
LRU cache of result pages; a missing page is fetched in a thread worker and the rows show a
placeholder until it lands. Only ~PAGE_CACHE pages of hits are ever held in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.worker import get_current_worker

from paperreader.core.display import readable
from paperreader.core.errors import PaperreaderError
from paperreader.core.library import Library
from paperreader.core.models import Hit, ReadState, SearchResult, UserData
from paperreader.core.text import strip_controls
from paperreader.ui.widgets.line_view import LineView

PAGE_SIZE = 200
PAGE_CACHE = 8
STATE_MARK = {ReadState.UNREAD: "●", ReadState.READING: "◐", ReadState.READ: " "}


@dataclass(frozen=True)
class ListQuery:
    """What the list shows: the query text, the sort and the view (filter)."""

    text: str = ""
    sort: str = "relevance"
    view: str = "all"
    partial: bool = False  # the last word is still being typed: search it as a prefix


@dataclass
class ListState:
    query: ListQuery = field(default_factory=ListQuery)
    total: int = 0
    result: SearchResult | None = None  # page 0's result: its terms highlight the titles
    generation: int = 0
    authors: bool = True  # show the author column (not when page 0 names no author at all)


class PaperList(LineView, can_focus=True):
    """Rows of papers from `library.search`, fetched a page at a time."""

    # Priority: run as the app reads each key, in order with the screen's keys (see MainScreen).
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, priority=True),
        Binding("k,up", "cursor_up", "Up", show=False, priority=True),
        Binding("g,home", "first", "First", show=False, priority=True),
        Binding("G,end", "last", "Last", show=False, priority=True),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False, priority=True),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, priority=True),
        Binding("enter,l", "select", "Open", show=True, priority=True),
    ]

    COMPONENT_CLASSES = {
        "paper-list--cursor",
        "paper-list--cursor-blurred",
        "paper-list--unread",
        "paper-list--marker",
        "paper-list--author",
        "paper-list--date",
        "paper-list--tags",
        "paper-list--match",
        "paper-list--loading",
        "paper-list--empty",
    }

    class Highlighted(Message):
        """The cursor moved to a paper (hit is None while its page is loading)."""

        def __init__(self, index: int, hit: Hit | None) -> None:
            super().__init__()
            self.index = index
            self.hit = hit

    class Selected(Message):
        def __init__(self, hit: Hit) -> None:
            super().__init__()
            self.hit = hit

    def __init__(self, library: Library, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.library = library
        self.state = ListState()
        self.cursor = 0
        self.empty_message = "No papers."
        self._pages: OrderedDict[int, list[Hit]] = OrderedDict()
        self._pending: set[int] = set()
        self._announced: str | None = None
        self._synced: tuple[Size, Size, Size] | None = None

    # -- data --------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return self.state.total

    def load(self, query: ListQuery, first: SearchResult, *, keep_cursor: bool = False) -> None:
        """Show a new result; `first` holds the hits of page 0 and the total."""
        authors = any(hit.first_author for hit in first.hits)
        self.state = ListState(query, first.total, first, self.state.generation + 1, authors)
        self._pages.clear()
        self._pending.clear()
        self._pages[0] = first.hits
        if first.offset != 0:  # only page 0 is ever passed in; be safe anyway
            self._pages.clear()
        previous = self.cursor
        self.cursor = min(previous, max(0, first.total - 1)) if keep_cursor else 0
        self._announced = None
        self.virtual_size = Size(self.size.width, first.total)
        if not keep_cursor:
            self.scroll_to(y=0, animate=False, immediate=True)
        self._follow_cursor()
        self.refresh()
        self._announce()

    def hit_at(self, index: int) -> Hit | None:
        if not 0 <= index < self.state.total:
            return None
        page = self._pages.get(index // PAGE_SIZE)
        if page is None:
            self._request(index // PAGE_SIZE)
            return None
        self._pages.move_to_end(index // PAGE_SIZE)
        offset = index % PAGE_SIZE
        return page[offset] if offset < len(page) else None

    @property
    def current(self) -> Hit | None:
        return self.hit_at(self.cursor)

    def update_hit(self, paper_id: str, user: UserData) -> None:
        """Show a change to one paper's markers at once (the cached hit is patched in place)."""
        for number, page in self._pages.items():
            for offset, hit in enumerate(page):
                if hit.id == paper_id:
                    shown = (hit.bookmarked, hit.state, hit.tags, hit.has_note)
                    hit.bookmarked = user.bookmarked
                    hit.state = user.state
                    hit.tags = list(user.tags)
                    hit.has_note = bool(user.note and user.note.text.strip())
                    # Only a row that changed: a repaint's region is the union of what is
                    # dirty, so this row beside the detail pane repainted the whole list.
                    if (hit.bookmarked, hit.state, hit.tags, hit.has_note) != shown:
                        self.refresh_row(number * PAGE_SIZE + offset)

    def cached_index(self, paper_id: str) -> int | None:
        """The row of a paper, if its page is in the cache (no search is run)."""
        for number, page in self._pages.items():
            for offset, hit in enumerate(page):
                if hit.id == paper_id:
                    return number * PAGE_SIZE + offset
        return None

    def refresh_row(self, index: int) -> None:
        y = index - round(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _request(self, page: int) -> None:
        if page in self._pending:
            return
        self._pending.add(page)
        self._fetch(page, self.state.generation, self.state.query)

    @work(thread=True, group="pages")
    def _fetch(self, page: int, generation: int, query: ListQuery) -> None:
        worker = get_current_worker()
        try:
            result = self.library.search(
                query.text,
                offset=page * PAGE_SIZE,
                limit=PAGE_SIZE,
                sort=query.sort,
                view=query.view,
                partial_last=query.partial,
                correct=False,
            )
        except Exception as exc:  # one page that cannot load shows "…", never a crash
            self.app.call_from_thread(self._page_failed, page, generation, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._page_arrived, page, generation, result.hits)

    def _page_failed(self, page: int, generation: int, exc: Exception) -> None:
        if generation == self.state.generation:
            self._pending.discard(page)  # the next draw of its rows asks again
        message = strip_controls(str(exc) if isinstance(exc, PaperreaderError) else repr(exc))
        self.notify(message, title="Cannot load these rows", severity="error", markup=False)

    def _page_arrived(self, page: int, generation: int, hits: list[Hit]) -> None:
        if generation != self.state.generation:
            return
        self._pending.discard(page)
        self._pages[page] = hits
        while len(self._pages) > PAGE_CACHE:
            self._pages.popitem(last=False)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        hit = self.current
        key = hit.id if hit else None
        if key != self._announced or hit is None:
            self._announced = key
            self.post_message(self.Highlighted(self.cursor, hit))

    # -- cursor ------------------------------------------------------------------------------
    def move_to(self, index: int) -> None:
        if self.state.total == 0:
            return
        index = max(0, min(index, self.state.total - 1))
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        self.refresh_row(old)
        self.refresh_row(index)
        self._follow_cursor()
        self._announce()

    def _follow_cursor(self) -> None:
        self.scroll_to_region(
            Region(0, self.cursor, max(1, self.size.width), 1),
            animate=False,
            force=True,
            immediate=True,
        )

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.state.total - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.size.height - 1))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.size.height - 1))

    def action_select(self) -> None:
        hit = self.current
        if hit is not None:
            self.post_message(self.Selected(hit))

    def on_click(self, event: events.Click) -> None:
        index = event.y + round(self.scroll_offset.y)
        if 0 <= index < self.state.total:
            self.move_to(index)
            if event.chain >= 2:
                self.action_select()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Every layout of the screen (the detail pane's, at each j) passes the compositor's
        virtual size, never the list's own (its rows): ScrollView took that for a change and
        refreshed the scrollbars, whose column made the repaint cover the whole list. Only a
        real change of the list's size or of its own virtual size goes on to ScrollView."""
        synced = (size, self.virtual_size, container_size)
        if synced == self._synced:
            return False
        self._synced = synced
        return super()._size_updated(size, virtual_size, container_size, layout)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.state.total)
        self._follow_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = y + round(self.scroll_offset.y)
        base = self.frame_style
        if self.state.total == 0:
            if y == 0 and width > 0:
                style = self.get_component_rich_style("paper-list--empty")
                text = Text(f" {self.empty_message}", style=style, no_wrap=True, end="")
                return self._strip(text, width, base)
            return Strip.blank(width, base)
        if index >= self.state.total:
            return Strip.blank(width, base)
        hit = self.hit_at(index)
        if hit is None:
            style = self.get_component_rich_style("paper-list--loading")
            return self._strip(Text("    …", style=style, end=""), width, base)
        cursor = None
        if index == self.cursor:
            name = "paper-list--cursor" if self.has_focus else "paper-list--cursor-blurred"
            cursor = self.get_component_rich_style(name)
        row = self._row(hit, width, cursor)
        strip = Strip(row, sum(cell_len(seg.text) for seg in row)).adjust_cell_length(width, base)
        return strip.apply_style(base) if base else strip

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        segments = list(text.render(self.app.console))
        strip = Strip(segments, cell_len(text.plain)).adjust_cell_length(width, base)
        return strip.apply_style(base) if base else strip

    def _row(self, hit: Hit, width: int, cursor: Style | None) -> list[Segment]:
        """` ★✎● Title of the paper          First Author   2026-03-11  #tag`

        Built as segments, not as a Rich Text: a new result repaints every visible row, and
        Text's styling, truncation and rendering cost ~4x more per row."""
        get = self.get_component_rich_style
        marker = get("paper-list--marker")
        segments: list[tuple[str, Style | None]] = [
            ("N", marker) if hit.new else (" ", None),  # added since the last visit
            ("★" if hit.bookmarked else " ", marker),
            ("✎" if hit.has_note else " ", marker),
            (STATE_MARK[hit.state], marker),
            (" ", None),
        ]
        tail: list[tuple[str, Style | None]] = []
        if width >= 70 and self.state.authors:
            author = _clip(strip_controls(readable(hit.first_author)), 18)
            tail += [("  ", None), (author, get("paper-list--author"))]
        if width >= 44:
            when = hit.published.isoformat() if hit.published else ""
            tail += [(" ", None), (when.ljust(10), get("paper-list--date")), (" ", None)]
        title_width = max(0, width - 5 - sum(cell_len(text) for text, _ in tail))
        tags = ""
        if hit.tags and title_width >= 24:
            # Tags ride after the title (like mutt's labels), never more than a third of it.
            shown = strip_controls(" ".join(f"#{t}" for t in hit.tags))
            tags = _clip(shown, min(24, title_width // 3), pad=False)
        tags_width = cell_len(tags) + 1 if tags else 0  # with the space before them
        title = strip_controls(readable(hit.title))  # LaTeX as Unicode (LRU-cached by text)
        result = self.state.result
        spans = self.library.spans(title, "title", result) if result and result.terms else []
        room = title_width - tags_width
        if cell_len(title) > room:
            title = set_cell_size(title, max(0, room - 1)) + "…" if room > 0 else ""
            cut = len(title)  # a highlighted word cut short lends its highlight to the "…"
            spans = [(start, min(end, cut)) for start, end in spans if start < cut]
        plain = get("paper-list--unread") if hit.state is ReadState.UNREAD else None
        if spans:
            match = get("paper-list--match")
            highlighted = plain + match if plain else match
            at = 0
            for start, end in spans:
                segments += [(title[at:start], plain), (title[start:end], highlighted)]
                at = end
            segments.append((title[at:], plain))
        else:
            segments.append((title, plain))
        if tags:
            segments += [(" ", None), (tags, get("paper-list--tags"))]
        used = cell_len(title) + tags_width
        if used > title_width:  # only when the tags alone are wider than the room left
            segments = _crop(segments, 5 + title_width)
        elif used < title_width:
            segments.append((" " * (title_width - used), None))
        segments += tail
        if cursor is not None:
            return [
                Segment(text, style + cursor if style else cursor)
                for text, style in segments
                if text
            ]
        return [Segment(text, style) for text, style in segments if text]


def _clip(text: str, width: int, *, pad: bool = True) -> str:
    """`text` in `width` cells: cut with an ellipsis, or padded (as Rich's truncate does)."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 0 else ""
    return text + " " * (width - length) if pad else text


def _crop(segments: list[tuple[str, Style | None]], width: int) -> list[tuple[str, Style | None]]:
    """The first `width` cells of the segments, an ellipsis where one is cut."""
    out: list[tuple[str, Style | None]] = []
    for text, style in segments:
        if width <= 0:
            break
        if cell_len(text) > width:
            text = set_cell_size(text, width - 1) + "…" if width > 1 else "…"
        out.append((text, style))
        width -= cell_len(text)
    return out
