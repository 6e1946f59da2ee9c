"""The article: a paper's header and full text in one line-API ScrollView (as PaperList).

The text is a list of items (the title, the abstract, one per block of the Document...), each
plain Unicode. They are word-wrapped once per width into lines, each a (item, start, end)
slice of the item's text, and `render_line(y)` draws only the lines on screen. The text is
untrusted: it only ever becomes Segments, never markup.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from paperreader.core.display import readable, readable_authors
from paperreader.core.fulltext.document import Document
from paperreader.core.models import Paper, ReadState, UserData
from paperreader.core.text import strip_controls
from paperreader.ui.widgets.line_view import LineView

MAX_MEASURE = 96  # the widest line of text, in cells: long lines are hard to read
STATE_LABEL = {
    ReadState.UNREAD: "● unread",
    ReadState.READING: "◐ reading",
    ReadState.READ: "✓ read",
}
_WORD = re.compile(r"\S+")
_TABS = re.compile(r"\t")


@dataclass(eq=False)
class Item:
    """One wrapped unit of text: a header field, or one block of the paper."""

    text: str  # safe plain text (controls stripped, tabs as spaces)
    role: str  # its style: article--<role>
    block: int = -1  # the Document block it shows (-1: the header)
    indent: int = 0  # cells before each line
    first: str = ""  # drawn before the first line (a bullet, a heading's number)
    space: int = 1  # blank lines before it
    matches: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, number)


Line = tuple[Item | None, int, int]  # None: a blank line


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """(start, end) of each line of `text` wrapped to `width` cells; newlines are kept."""
    width = max(2, width)
    spans: list[tuple[int, int]] = []
    at = 0
    for part in text.split("\n"):
        start, stop = at, at + len(part)
        at = stop + 1
        before = len(spans)
        if _single_cells(part):
            _wrap_single(text, start, stop, width, spans)
        else:
            _wrap_words(text, start, stop, width, spans)
        if len(spans) == before:  # an empty line
            spans.append((start, start))
    return spans


def _single_cells(text: str) -> bool:
    """Every character one cell wide (most papers' text: Latin, Greek, math symbols)?"""
    return text.isascii() or all(cell_len(c) == 1 for c in set(text))


@lru_cache(maxsize=32)
def _line_pattern(width: int) -> re.Pattern[str]:
    # The longest run of at most `width` characters ending at a word's end, else (a word
    # wider than the line) its first `width` characters. One regex step a line, not a word.
    return re.compile(rf"\s*(?:(\S(?:.{{0,{width - 2}}}\S)?)(?=\s|$)|(\S{{{width}}}))")


def _wrap_single(
    text: str, start: int, stop: int, width: int, spans: list[tuple[int, int]]
) -> None:
    match = _line_pattern(width).match
    pos = start
    while (found := match(text, pos, stop)) is not None:
        spans.append(found.span(1) if found.start(1) >= 0 else found.span(2))
        pos = found.end()


def _wrap_words(text: str, start: int, stop: int, width: int, spans: list[tuple[int, int]]) -> None:
    """The same for text with wide (CJK) or zero-width characters, measured word by word."""
    line_start = -1
    line_end = used = 0
    for word in _WORD.finditer(text, start, stop):
        s, e = word.span()
        cells = cell_len(text[s:e])
        if line_start >= 0 and used + (s - line_end) + cells <= width:
            used += (s - line_end) + cells
            line_end = e
            continue
        if line_start >= 0:
            spans.append((line_start, line_end))
        if cells > width:  # a word wider than the line (a URL): cut it
            s = _cut(text, s, e, width, spans)
            cells = cell_len(text[s:e])
        line_start, line_end, used = s, e, cells
    if line_start >= 0:
        spans.append((line_start, line_end))


def _cut(text: str, s: int, e: int, width: int, spans: list[tuple[int, int]]) -> int:
    """Append full-width pieces of text[s:e] to `spans`; return where the last piece starts."""
    used = 0
    piece = s
    for i in range(s, e):
        cells = cell_len(text[i])
        if used + cells > width and i > piece:
            spans.append((piece, i))
            piece, used = i, 0
        used += cells
    return piece


def safe(text: str | None) -> str:
    return _TABS.sub("    ", strip_controls(text or ""))


def header_items(paper: Paper, user: UserData, attach_hint: str | None) -> list[Item]:
    items = [Item(safe(readable(paper.title)), "title", space=0)]
    if paper.authors:
        items.append(Item(safe(", ".join(readable_authors(paper.authors))), "authors", space=0))
    meta = [paper.published.isoformat() if paper.published else "", paper.id]
    meta += [STATE_LABEL[user.state], "★ bookmarked" if user.bookmarked else ""]
    if paper.venue:
        meta.append(paper.venue)
    items.append(Item(safe(" · ".join(m for m in meta if m)), "meta", space=0))
    if user.tags:
        items.append(Item(safe(" ".join(f"#{t}" for t in user.tags)), "tags", space=0))
    for kind, url in paper.all_links().items():
        items.append(Item(safe(f"{kind}: {url}"), "meta", space=0))
    if user.note and user.note.text.strip():
        items.append(Item("Note", "label"))
        items.append(Item(safe(user.note.text.strip()), "note", space=0))
    if paper.abstract.strip():
        items.append(Item("Abstract", "label"))
        items.append(Item(safe(readable(paper.abstract.strip())), "body", space=0))
    items.append(Item("", "rule"))
    if attach_hint is not None:
        items.append(Item(safe(attach_hint), "message"))
    return items


def body_items(document: Document) -> list[Item]:
    items: list[Item] = []
    previous = ""
    for index, block in enumerate(document.blocks):
        text = safe(block.text).strip()
        kind = block.kind
        together = kind == previous and kind in ("list_item", "reference", "footnote")
        space = 0 if together else 1
        previous = kind
        if kind == "heading":
            first = f"{safe(block.number)} " if block.number.strip() else ""
            role = "heading1" if block.level <= 1 else "heading"
            items.append(Item(text, role, index, first=first, space=2 if index else 1))
        elif kind == "list_item":
            items.append(Item(text, "body", index, indent=2, first="• ", space=space))
        elif kind in ("caption", "footnote", "reference"):
            items.append(Item(text, "dim", index, space=space))
        elif kind == "math":
            items.append(Item(text, "math", index, indent=4, space=space))
        else:
            items.append(Item(text, "body", index, space=space))
    return items


class ArticleText(LineView, can_focus=True):
    """A paper's header and full text, wrapped to the width, with in-text search."""

    BINDINGS = [
        Binding("j,down", "scroll_lines(1)", "Down", show=False),
        Binding("k,up", "scroll_lines(-1)", "Up", show=False),
        Binding("space,pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("shift+space,pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("G,end", "bottom", "End", show=False),
    ]

    COMPONENT_CLASSES = {
        "article--title",
        "article--authors",
        "article--meta",
        "article--tags",
        "article--label",
        "article--note",
        "article--body",
        "article--heading1",
        "article--heading",
        "article--dim",
        "article--math",
        "article--message",
        "article--rule",
        "article--bullet",
        "article--match",
        "article--match-current",
    }

    class ReachedEnd(Message):
        """G was pressed (the end of a text that fits on one screen counts too)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.header: list[Item] = []
        self.body: list[Item] = []
        self.text_lines: list[Line] = []
        self.first_line: dict[int, int] = {}  # id(item) -> its first line
        self.block_item: dict[int, Item] = {}  # block index -> its item
        self.find_text = ""
        self.matches: list[tuple[Item, int, int]] = []
        self.current = -1  # the match jumped to
        self._width = 0  # the width the lines were wrapped for
        self._margin = 1
        self._pending_block: int | None = None  # scroll there once the lines are made
        self._styles: dict[str, Style] | None = None

    # -- content -----------------------------------------------------------------------------
    def set_content(
        self,
        header: list[Item],
        body: list[Item],
        *,
        block: int = 0,
    ) -> None:
        """Show new items, from their top (or from `block` of the body)."""
        self.header, self.body = header, body
        self.block_item = {item.block: item for item in body}
        self._width = 0
        self._pending_block = block
        self.search(self.find_text, jump=False)
        self._relayout()

    def set_header(self, header: list[Item]) -> None:
        """New header items (the user's data changed); the reading place is kept."""
        anchor = self._anchor()
        self.header = header
        self._width = 0
        self.search(self.find_text, jump=False)
        self._relayout(anchor)

    @property
    def items(self) -> list[Item]:
        return [*self.header, *self.body]

    def _relayout(self, anchor: tuple[Item, int] | None = None) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        if width == self._width and self.text_lines:
            return
        anchor = anchor or self._anchor()
        self._width = width
        measure = max(10, min(MAX_MEASURE, width - 2))
        self._margin = max(1, (width - measure) // 2)
        lines: list[Line] = []
        first: dict[int, int] = {}
        for item in self.items:
            if lines:
                lines.extend([(None, 0, 0)] * item.space)
            first[id(item)] = len(lines)
            room = measure - item.indent - cell_len(item.first)
            lines.extend((item, s, e) for s, e in wrap(item.text, room))
        self.text_lines = lines
        self.first_line = first
        self.virtual_size = Size(width, len(lines))
        if self._pending_block is not None:
            block, self._pending_block = self._pending_block, None
            self.scroll_to_block(block)
        elif anchor is not None:
            self.scroll_to(y=self.line_of(*anchor), animate=False)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def _anchor(self) -> tuple[Item, int] | None:
        """The item and offset at the top of the view, to keep it there across a re-wrap."""
        top = round(self.scroll_offset.y)
        for item, start, _ in self.text_lines[top : top + 50]:
            if item is not None:
                return item, start
        return None

    def line_of(self, item: Item, offset: int = 0) -> int:
        """The line showing `item`'s character `offset` (its first line if it is not shown)."""
        line = self.first_line.get(id(item))
        if line is None:
            return 0
        while line + 1 < len(self.text_lines):
            nxt, start, _ = self.text_lines[line + 1]
            if nxt is not item or start > offset:
                break
            line += 1
        return line

    # -- the reading place -------------------------------------------------------------------
    def top_block(self) -> int:
        """The Document block at the top of the view (0: the header or the first block)."""
        lines = self.text_lines
        for index in range(round(self.scroll_offset.y), len(lines)):
            item = lines[index][0]
            if item is not None:
                return max(0, item.block)
        return 0

    def scroll_to_block(self, block: int) -> None:
        item = self.block_item.get(block)
        if not self.text_lines:
            self._pending_block = block
        elif block <= 0 or item is None:
            self.scroll_to(y=0, animate=False)
        else:
            self.scroll_to(y=self.first_line.get(id(item), 0), animate=False)

    @property
    def at_end(self) -> bool:
        return round(self.scroll_offset.y) >= self.max_scroll_y

    @property
    def percent(self) -> int:
        if self.max_scroll_y <= 0:
            return 100
        return min(100, round(100 * self.scroll_offset.y / self.max_scroll_y))

    # -- moving ------------------------------------------------------------------------------
    def action_scroll_lines(self, lines: int) -> None:
        self.scroll_to(y=self.scroll_offset.y + lines, animate=False)

    def action_page(self, pages: int) -> None:
        step = max(1, self.scrollable_content_region.height - 2)
        self.scroll_to(y=self.scroll_offset.y + pages * step, animate=False)

    def action_top(self) -> None:
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False)
        self.post_message(self.ReachedEnd())

    # -- searching ---------------------------------------------------------------------------
    def search(self, query: str, *, jump: bool = True) -> int:
        """Highlight every case-insensitive match of `query`; jump to the first below the top.
        Returns how many there are."""
        self.find_text = query
        was = self.matches[self.current][:2] if self.current >= 0 else None
        self.matches = []
        self.current = -1
        for item in self.items:
            item.matches = []
        if query:
            pattern = re.compile(re.escape(query), re.IGNORECASE)
            for item in self.items:
                for found in pattern.finditer(item.text):
                    if found.end() > found.start():
                        number = len(self.matches)
                        item.matches.append((found.start(), found.end(), number))
                        self.matches.append((item, found.start(), found.end()))
        if was is not None and not jump:  # the same match stays the current one
            self.current = next((i for i, m in enumerate(self.matches) if m[:2] == was), -1)
        if jump and self.matches:
            top = round(self.scroll_offset.y)
            following = 0
            for number, (item, start, _) in enumerate(self.matches):
                if self.line_of(item, start) >= top:
                    following = number
                    break
            self.goto_match(following)
        self.refresh()
        return len(self.matches)

    def next_match(self, step: int = 1) -> bool:
        if not self.matches:
            return False
        self.goto_match((self.current + step) % len(self.matches))
        return True

    def goto_match(self, number: int) -> None:
        self.current = number
        item, start, _ = self.matches[number]
        line = self.line_of(item, start)
        height = self.scrollable_content_region.height
        top = round(self.scroll_offset.y)
        if not top <= line < top + height:  # off screen: show it a third of the way down
            self.scroll_to(y=max(0, line - height // 3), animate=False)
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _style(self, role: str) -> Style:
        if self._styles is None:
            self._styles = {}
        style = self._styles.get(role)
        if style is None:
            style = self._styles[role] = self.get_component_rich_style(f"article--{role}")
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.frame_style
        index = y + round(self.scroll_offset.y)
        if not 0 <= index < len(self.text_lines):
            return Strip.blank(width, base)
        item, start, end = self.text_lines[index]
        if item is None:
            return Strip.blank(width, base)
        style = self._style(item.role)
        pad = self._margin + item.indent
        segments = [Segment(" " * pad)]
        if item.role == "rule":
            segments.append(Segment("─" * max(0, width - 2 * self._margin), style))
        else:
            if item.first:
                first = item.first if start == 0 else " " * cell_len(item.first)
                bullet = self._style("bullet") if item.role == "body" else style
                segments.append(Segment(first, bullet))
            segments.extend(self._text(item, start, end, style))
        strip = Strip(segments).adjust_cell_length(width, base)
        return strip.apply_style(base) if base else strip

    def _text(self, item: Item, start: int, end: int, style: Style) -> list[Segment]:
        text = item.text
        matches = item.matches
        if not matches:
            return [Segment(text[start:end], style)]
        starts = [m[0] for m in matches]
        # The matches overlapping [start, end): those starting before `end`, ending after start.
        first = max(0, bisect_right(starts, start) - 1)
        last = bisect_left(starts, end)
        out: list[Segment] = []
        at = start
        for m_start, m_end, number in matches[first:last]:
            if m_end <= start:
                continue
            s, e = max(m_start, start), min(m_end, end)
            if s > at:
                out.append(Segment(text[at:s], style))
            name = "match-current" if number == self.current else "match"
            out.append(Segment(text[s:e], style + self._style(name)))
            at = e
        if at < end:
            out.append(Segment(text[at:end], style))
        return out
