"""Snapshots of the reader (regenerate: pytest tests/snapshots --snapshot-update, then look)."""

from __future__ import annotations

from ui_helpers import settle, type_text

from paperreader.ui.app import create_app


def make(library):
    # No timing text, no store polling: the pictures must not depend on the clock.
    return create_app(library, show_timing=False, poll_seconds=0)


async def _settled(pilot) -> None:
    await settle(pilot)


def test_main_screen_120x40(snap_compare, library):
    assert snap_compare(make(library), terminal_size=(120, 40), run_before=_settled)


def test_main_screen_80x24(snap_compare, library):
    assert snap_compare(make(library), terminal_size=(80, 24), run_before=_settled)


def test_search_results_with_highlights(snap_compare, library):
    async def search(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "sparse attention")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(120, 40), run_before=search)


def test_did_you_mean(snap_compare, library):
    async def search(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "transfomer")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(100, 30), run_before=search)


def test_detail_with_a_note(snap_compare, library):
    first = library.search("", limit=1).hits[0]
    library.set_note(
        first.id, "# Why it matters\n\n- pages **adapters** in and out\n- see `S-LoRA`"
    )
    library.set_tags(first.id, ["serving", "lora"])
    library.set_bookmark(first.id)
    library.set_state(first.id, "reading")
    library.flush()  # the saves' index updates are made in the background

    async def open_detail(pilot) -> None:
        await settle(pilot)
        await pilot.press("tab")  # the detail pane (Enter opens the article)
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(120, 40), run_before=open_detail)


def test_help_screen(snap_compare, library):
    async def help_screen(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(120, 40), run_before=help_screen)


def test_tiny_terminal_40x12(snap_compare, library):
    assert snap_compare(make(library), terminal_size=(40, 12), run_before=_settled)


def test_tiny_terminal_detail_40x12(snap_compare, library):
    async def open_detail(pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "m")  # the detail pane alone (Enter opens the article)
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(40, 12), run_before=open_detail)
