"""The top line: library · papers · view · sort."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from paperreader.core.text import strip_controls

BASE_VIEWS = [
    ("all", "All papers"),
    ("bookmarked", "Bookmarked"),
    ("unread", "Unread"),
    ("reading", "Reading"),
    ("read", "Read"),
    ("notes", "Has a note"),
    ("tagged", "Tagged"),
    ("new", "New since last visit"),
    ("for-you", "For you"),
]


def view_label(view: str) -> str:
    if view.startswith("tag:"):
        return f"#{strip_controls(view[4:])}"
    if view.startswith("for-you:"):
        return f"For you: #{strip_controls(view[8:])}"
    return dict(BASE_VIEWS).get(view, strip_controls(view))


class TopBar(Static):
    """Repainted only when its text changes (it does not while typing)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._text = ""

    def show(self, library_name: str, papers: int, view: str, sort: str) -> None:
        bar = Text(no_wrap=True, overflow="ellipsis", end="")
        bar.append(" paperreader ", style="bold")
        bar.append(f"· {strip_controls(library_name)} · ")
        bar.append(f"{papers:,} papers")
        bar.append(" · view: ")
        bar.append(view_label(view), style="bold")
        bar.append(" · sort: ")
        bar.append(sort, style="bold")
        if bar.plain != self._text:
            self._text = bar.plain
            self.update(bar)
