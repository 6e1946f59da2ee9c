"""The detail pane: one paper's record, the user's data, the note and similar papers."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from paperreader.core.display import readable, readable_authors
from paperreader.core.models import Hit, Paper, ReadState, UserData
from paperreader.core.text import strip_controls

STATE_LABEL = {
    ReadState.UNREAD: "● unread",
    ReadState.READING: "◐ reading",
    ReadState.READ: "✓ read",
}


@dataclass
class PaperView:
    """Everything the pane shows for one paper, gathered off the UI thread."""

    paper: Paper
    user: UserData
    abstract_spans: list[tuple[int, int]]
    similar: list[Hit]
    problem: str | None = None  # e.g. the paper's YAML file is corrupt
    # Where the query matched the note, as spans of `note_spanned` (the note's safe text):
    # a note saved since then has other text, and is shown without highlights.
    note_spans: list[tuple[int, int]] = field(default_factory=list)
    note_spanned: str = ""
    # A hit only in the full text: the passage where it matched, and the matched words' spans
    snippet: tuple[str, list[tuple[int, int]]] | None = None


def safe(text: str | None) -> str:
    return strip_controls(text or "")


class SimilarList(OptionList):
    """Papers like this one; Enter jumps to the highlighted paper."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class DetailPane(VerticalScroll, can_focus=True):
    BINDINGS = [
        Binding("j,down", "scroll_down", "Scroll", show=False),
        Binding("k,up", "scroll_up", "Scroll", show=False),
        Binding("g,home", "scroll_home", "Top", show=False),
        Binding("G,end", "scroll_end", "End", show=False),
        Binding("space", "page_down", "Page down", show=False),
    ]
    COMPONENT_CLASSES = {"detail--label", "detail--match", "detail--dim", "detail--marker"}

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.paper_id: str | None = None
        self.view: PaperView | None = None
        self._shown: dict[str, object] = {}  # what each part shows: unchanged parts are not redrawn

    def compose(self) -> ComposeResult:
        yield Static(id="d-title", markup=False)
        yield Static(id="d-meta", markup=False)
        # The user's own note comes before the abstract: it is what they came back for.
        yield Label("Note", id="d-note-label", classes="section")
        yield Markdown(id="d-note")
        # The note as plain text, when the query matched it: the Markdown widget renders its
        # own spans, so matched words can only be highlighted in the note's source text.
        yield Static(id="d-note-plain", markup=False)
        yield Static(id="d-snippet", markup=False)
        yield Static(id="d-abstract", markup=False)
        yield Label("Similar papers", id="d-similar-label", classes="section")
        yield SimilarList(id="d-similar")

    def on_mount(self) -> None:
        self.query_one("#d-snippet", Static).display = False
        self.show_empty("No paper selected.")

    def show_empty(self, message: str) -> None:
        self.paper_id = None
        self.view = None
        self._set("d-title", Text(message))
        self._set("d-meta", "")
        self._set("d-snippet", "")
        self._set("d-abstract", "")
        self._show_note(None)
        self._show_similar([])

    def show_hit(self, hit: Hit) -> None:
        """At once, from the list row; `show` fills in the rest when it has been loaded."""
        if hit.id == self.paper_id and self.view is not None:
            return
        self.paper_id = hit.id
        self.view = None
        self._set("d-title", Text(safe(readable(hit.title))))
        meta = self._meta_lines(
            authors=[readable(hit.first_author)] if hit.first_author else [],
            when=hit.published.isoformat() if hit.published else "",
            paper_id=hit.id,
            state=hit.state,
            bookmarked=hit.bookmarked,
            tags=hit.tags,
            links={},
        )
        self._set("d-meta", meta)
        self._set("d-snippet", "")
        self._set("d-abstract", Text("…", style=self._style("detail--dim")))
        self._show_note(None)
        self._show_similar([])
        self.scroll_home(animate=False, immediate=True)

    def show(self, view: PaperView) -> None:
        same = view.paper.id == self.paper_id
        self.paper_id = view.paper.id
        self.view = view
        paper, user = view.paper, view.user
        self._set("d-title", Text(safe(readable(paper.title))))
        meta = self._meta_lines(
            authors=readable_authors(paper.authors),
            when=paper.published.isoformat() if paper.published else "",
            paper_id=paper.id,
            state=user.state,
            bookmarked=user.bookmarked,
            tags=user.tags,
            links=paper.all_links(),
        )
        if paper.venue:
            meta.append("\n")
            meta.append("Venue    ", self._style("detail--label"))
            meta.append(safe(paper.venue))
        if view.problem:
            meta.append("\n")
            meta.append(f"⚠ {safe(view.problem)}", self._style("detail--marker"))
        self._set("d-meta", meta)
        shown_abstract = readable(paper.abstract)
        abstract = Text(safe(shown_abstract) or "(no abstract)")
        match = self._style("detail--match")
        self._set("d-snippet", self._snippet(view.snippet, match))
        if len(abstract.plain) == len(shown_abstract):
            for start, end in view.abstract_spans:
                abstract.stylize(match, start, end)
        self._set("d-abstract", abstract)
        note = safe(user.note.text) if user.note and user.note.text.strip() else None
        spans = view.note_spans if note is not None and note == view.note_spanned else []
        self._show_note(note, spans)
        self._show_similar(view.similar)
        if not same:
            self.scroll_home(animate=False, immediate=True)

    def update_user(self, user: UserData) -> None:
        if self.view is not None and self.view.paper.id == user.paper_id:
            self.view.user = user
            self.show(self.view)

    # -- parts ---------------------------------------------------------------------------------
    def _snippet(self, snippet: tuple[str, list[tuple[int, int]]] | None, match) -> Text | str:  # type: ignore[no-untyped-def]
        """ "In the full text: …where it matched…" (only for a hit that matched nowhere else)."""
        if snippet is None:
            return ""
        text, spans = snippet
        shown = Text("In the full text  ", style=self._style("detail--label"))
        start = len(shown.plain)
        shown.append(safe(text))
        if len(safe(text)) == len(text):
            for s, e in spans:
                shown.stylize(match, start + s, start + e)
        return shown

    def _style(self, name: str):  # type: ignore[no-untyped-def]
        return self.get_component_rich_style(name)

    def _meta_lines(
        self,
        *,
        authors: list[str],
        when: str,
        paper_id: str,
        state: ReadState,
        bookmarked: bool,
        tags: list[str],
        links: dict[str, str],
    ) -> Text:
        label = self._style("detail--label")
        out = Text(end="")

        def row(name: str, value: Text | str) -> None:
            if out.plain:
                out.append("\n")
            out.append(f"{name:<9}", label)
            out.append_text(value if isinstance(value, Text) else Text(value))

        shown = ", ".join(safe(a) for a in authors[:12])
        if len(authors) > 12:
            shown += f", … ({len(authors)} authors)"
        row("Authors", shown or "—")
        row("Date", when or "—")
        row("Id", safe(paper_id))
        status = Text(STATE_LABEL[state])
        if bookmarked:
            status.append("   ★ bookmarked", self._style("detail--marker"))
        row("State", status)
        row("Tags", " ".join(f"#{safe(t)}" for t in tags) or "—")
        for kind, url in links.items():
            row(safe(kind).capitalize(), safe(url))
        return out

    def _set(self, part: str, content: Text | str) -> None:
        if self._shown.get(part) != content:
            self._shown[part] = content
            widget = self.query_one(f"#{part}", Static)
            widget.update(content)
            if part == "d-snippet":  # only there for a hit matched by its full text alone
                widget.display = bool(content)

    def _show_note(self, text: str | None, spans: list[tuple[int, int]] | None = None) -> None:
        """`text` is safe already; with `spans` (query matches) it is shown as plain text."""
        spans = spans or []
        if self._shown.get("d-note", ...) == (text, spans):
            return
        self._shown["d-note"] = (text, spans)
        note = self.query_one("#d-note", Markdown)
        plain = self.query_one("#d-note-plain", Static)
        label = self.query_one("#d-note-label", Label)
        label.display = text is not None
        note.display = text is not None and not spans
        plain.display = bool(text and spans)
        if text and spans:
            body = Text(text, end="")
            match = self._style("detail--match")
            for start, end in spans:
                body.stylize(match, start, end)
            plain.update(body)
            note.update("")
            many = "" if len(spans) == 1 else "es"
            label.update(Text(f"Note · {len(spans)} match{many} (as plain text)"))
        else:
            plain.update("")
            note.update(text or "")
            label.update(Text("Note"))

    def _show_similar(self, hits: list[Hit]) -> None:
        key = [(h.id, h.title) for h in hits]
        if self._shown.get("d-similar") == key:
            return
        self._shown["d-similar"] = key
        similar = self.query_one("#d-similar", SimilarList)
        label = self.query_one("#d-similar-label", Label)
        similar.clear_options()
        similar.add_options(
            Option(Text(f"{safe(h.title)}", no_wrap=True, overflow="ellipsis"), id=h.id)
            for h in hits
        )
        similar.display = label.display = bool(hits)
