"""The note editor: a modal TextArea; ctrl+s saves, Esc asks before dropping changes.

It knows its paper and the note it started from (`base`), so the app can save it on its own
when the session ends under it (SIGTERM/SIGHUP)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from paperreader.core.models import Note
from paperreader.core.text import strip_controls
from paperreader.ui.screens.modals import ConfirmScreen


class NoteEditor(ModalScreen[str | None]):
    """Returns the new text, or None when the user cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def __init__(self, paper_id: str, title: str, base: Note | None) -> None:
        super().__init__()
        self.paper_id = paper_id
        self.paper_title = title
        self.base = base  # the note as it was when editing began; set_note merges against it
        self.original = base.text if base else ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog editor"):
            title = f"Note on: {strip_controls(self.paper_title)}"
            yield Static(Text(title), classes="dialog-title")
            yield TextArea(self.original, id="note-text", soft_wrap=True, tab_behavior="indent")
            yield Static("ctrl+s: save   Esc: cancel   (Markdown)", classes="dialog-hint")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @property
    def changed(self) -> bool:
        areas = self.query(TextArea)  # empty until composed
        return bool(areas) and areas.first().text != self.original

    def saved(self, note: Note | None) -> None:
        """The text was saved behind the editor's back (the session is ending)."""
        self.base = note
        self.original = self.text

    def action_save(self) -> None:
        self.dismiss(self.text)

    def action_cancel(self) -> None:
        if not self.changed:
            self.dismiss(None)
            return

        def answered(drop: bool | None) -> None:
            if drop:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Drop the changes to this note?"), answered)
