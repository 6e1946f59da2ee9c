"""The view picker (`f`): the built-in views, the saved ones and the tags, each with its
unread and new counts (like newsboat's query feeds), filled in when the counting worker is
done; and the dialog that names a search to save it as a view."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from paperreader.core.text import strip_controls
from paperreader.core.views import Counts
from paperreader.ui.screens.modals import ChoiceScreen


def counts_label(label: str, counts: Counts | None) -> Text:
    text = Text(strip_controls(label))
    if counts is not None and (counts.unread or counts.new):
        text.append(f"  {counts.unread:,} unread", style="dim")
        if counts.new:
            text.append(f" · {counts.new:,} new", style="bold")
    return text


class ViewPicker(ChoiceScreen):
    """A ChoiceScreen whose labels gain their counts as they arrive (`show_counts`)."""

    def __init__(
        self,
        choices: list[tuple[str, str]],
        current: str | None,
        counts: dict[str, Counts],
    ) -> None:
        super().__init__("Show", choices, current)
        self.counts = dict(counts)

    def on_mount(self) -> None:
        super().on_mount()
        self.show_counts(self.counts)

    def show_counts(self, counts: dict[str, Counts]) -> None:
        self.counts.update(counts)
        options = self.query_one("#choices", OptionList)
        for key, label in self.choices:
            if key in counts:
                options.replace_option_prompt(key, counts_label(label, counts[key]))


class NameScreen(ModalScreen[str | None]):
    """Ask for a view's name, to save the current search under it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, query: str, sort: str) -> None:
        super().__init__()
        self.query_text = query
        self.sort = sort

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Save this search as a view", classes="dialog-title")
            about = Text(f"{strip_controls(self.query_text) or '(every paper)'} · sort {self.sort}")
            yield Static(about, classes="dialog-hint")
            yield Input(placeholder="the view's name", id="view-name")
            yield Static("Enter: save   Esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#view-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
