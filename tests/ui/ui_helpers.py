"""Helpers for Pilot tests: typing text, waiting for the reader's workers, reading the screen."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.pilot import Pilot

from paperreader.ui.screens.main import MainScreen

KEY_NAMES = {
    " ": "space",
    ",": "comma",
    "/": "slash",
    ":": "colon",
    "*": "asterisk",
    "\n": "enter",
    "-": "minus",
    '"': "quotation_mark",
    "(": "left_parenthesis",
    ")": "right_parenthesis",
    "#": "number_sign",
    ".": "full_stop",
}


async def settle(pilot: Pilot, rounds: int = 6) -> None:
    """Wait until no worker runs and every message is handled (workers start workers)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*(KEY_NAMES.get(c, c) for c in text))


def main(pilot: Pilot) -> MainScreen:
    return pilot.app.main  # type: ignore[attr-defined,no-any-return]


def row_text(pilot: Pilot, y: int) -> str:
    return main(pilot).paper_list.render_line(y).text


def stored(root: Path, paper_id: str) -> dict | None:
    """The paper's YAML in the store as a dict (None when the paper has no file)."""
    from paperreader.core.store import file_name

    path = root / "store" / file_name(paper_id)
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))
