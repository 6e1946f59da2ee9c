"""Small modal screens: confirm, choose one of a few, edit tags, help, ask for a file or a query.

Their texts may quote papers and tags: always rich Text with controls stripped, never markup."""

from __future__ import annotations

import re
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from paperreader.core.text import strip_controls
from paperreader.ui.keys import KEYS, QUERY_HELP


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y or Enter says yes, n or Esc says no."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(strip_controls(self.question)), classes="dialog-title")
            yield Static("y: yes   n / Esc: no", classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few labelled choices; Esc picks nothing."""

    BINDINGS = [
        Binding("escape,q", "cancel", "Cancel"),
        Binding("j", "down", show=False),
        Binding("k", "up", show=False),
    ]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None):
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(strip_controls(self.title_text)), classes="dialog-title")
            yield OptionList(
                *(Option(Text(strip_controls(label)), id=key) for key, label in self.choices),
                id="choices",
            )
            yield Static("Enter: choose   Esc: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        keys = [key for key, _ in self.choices]
        if self.current in keys:
            options.highlighted = keys.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_down(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


def split_tags(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", text) if t]


class TagsScreen(ModalScreen[list[str] | None]):
    """Edit a paper's tags in one line: space or comma separated."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, tags: list[str], known: list[str]) -> None:
        super().__init__()
        self.paper_title = title
        self.tags = tags
        self.known = known

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = f"Tags of: {strip_controls(self.paper_title)}"
            yield Static(Text(title), classes="dialog-title")
            yield Input(" ".join(self.tags), placeholder="tag another-tag", id="tags")
            hint = "Enter: save   Esc: cancel"
            if self.known:
                hint += "   known: " + strip_controls(" ".join(self.known[:12]))
            yield Static(Text(hint), classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(split_tags(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close"),
        Binding("j,down", "scroll(1)", show=False),
        Binding("k,up", "scroll(-1)", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("paperreader — keys", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(self._table(), markup=False)
            yield Static("Esc / q / ?: close", classes="dialog-hint")

    def _table(self) -> Text:
        out = Text(end="")
        for section, rows in [*KEYS, ("Query language", QUERY_HELP)]:
            if out.plain:
                out.append("\n")
            out.append(f"{section}\n", "bold underline")
            for key, what in rows:
                out.append(f"  {key:<26}", "bold")
                out.append(f"{what}\n")
        return out

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


class PathScreen(ModalScreen[Path | None]):
    """Ask for a file to import; `~` is expanded, a relative path is from the current folder."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Import a file", classes="dialog-title")
            yield Input(placeholder="a JSONL, BibTeX, CSL JSON, arXiv or HF file", id="path")
            yield Static("Enter: import   Esc: cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.dismiss(Path(text).expanduser())

    def action_cancel(self) -> None:
        self.dismiss(None)


DEFAULT_ARXIV_MAX = 50


class ArxivScreen(ModalScreen[tuple[str, int] | None]):
    """Ask for an arXiv query and how many papers to fetch at most."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Fetch from arXiv", classes="dialog-title")
            yield Input(placeholder="words, or ti: au: abs: cat: fields", id="arxiv-query")
            with Horizontal(classes="dialog-row"):
                yield Label("At most ")
                yield Input(str(DEFAULT_ARXIV_MAX), type="integer", id="arxiv-max")
                yield Label(" papers")
            yield Static("Enter: fetch   Tab: next field   Esc: cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = self.query_one("#arxiv-query", Input)
        if not query.value.strip():
            self.set_focus(query)
            return
        try:
            count = int(self.query_one("#arxiv-max", Input).value)
        except ValueError:
            count = 0
        if count <= 0:
            self.notify("How many papers: a positive number.", severity="warning", timeout=3)
            self.set_focus(self.query_one("#arxiv-max", Input))
            return
        self.dismiss((query.value.strip(), count))

    def action_cancel(self) -> None:
        self.dismiss(None)
