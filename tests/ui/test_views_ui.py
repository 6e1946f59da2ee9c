"""The reader's views, what's new, undo, query errors and did-you-mean while typing (Pilot)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from textual.widgets import Input, Static
from ui_helpers import main, row_text, settle, stored, type_text

from paperreader.core.models import Paper, ReadState
from paperreader.ui.screens.modals import ConfirmScreen
from paperreader.ui.screens.view_picker import NameScreen, ViewPicker

SIZE = (120, 40)
BAD_QUERIES = ["title:(", "author:", "date:notadate", "date:[2023 to", "foo:bar", ")", "AND"]


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


async def counts_settled(pilot, screen):  # type: ignore[no-untyped-def]
    screen.refresh_counts()
    await settle(pilot)
    return screen.counts


async def test_save_a_view_and_its_counts_follow_reads_and_imports(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "diffusion")
        await pilot.press("enter")
        await settle(pilot)
        total = screen.paper_list.total
        assert total > 2
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        app.screen.query_one("#view-name", Input).value = "diff"
        await pilot.press("enter")
        await settle(pilot)
        assert library.saved_view("diff").query == "diffusion"
        counts = await counts_settled(pilot, screen)
        assert counts["diff"].unread == total

        await pilot.press("f")  # the picker lists it with its counts
        await settle(pilot)
        assert isinstance(app.screen, ViewPicker)
        picker = app.screen.query_one("#choices")
        keys = [o.id for o in picker.options]
        assert "diff" in keys and "new" in keys and "for-you" in keys
        prompt = str(picker.get_option("diff").prompt)
        assert f"{total:,} unread" in prompt
        picker.highlighted = keys.index("diff")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_state.view == "diff" and "view: diff" in text_of(screen, "#topbar")
        await pilot.press("slash")
        await pilot.press("escape")  # (back to the list)
        await pilot.press("r", "r")  # the first row: reading, then read
        await settle(pilot)
        counts = await counts_settled(pilot, screen)
        assert counts["diff"].unread == total - 1

        library.add_papers([Paper(id="9999.00001", title="A diffusion model for new things")])
        counts = await counts_settled(pilot, screen)
        assert counts["diff"].unread == total
        assert counts["diff"].new == 1  # added since the view was opened


async def test_undo_each_kind_of_change(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = main(pilot)
        pid = screen.paper_list.current.id
        await pilot.press("b")  # bookmark
        await settle(pilot)
        await pilot.press("r")  # reading
        await settle(pilot)
        await pilot.press("t")
        await type_text(pilot, "later")
        await pilot.press("enter")
        await settle(pilot)
        screen.change(pid, lambda p: library.set_note(p, "first words"), "Note saved", "note")
        await settle(pilot)
        data = stored(library.root, pid)
        assert data["bookmarked"] and data["state"] == "reading" and data["tags"] == ["later"]
        assert data["note"]["text"] == "first words"

        await pilot.press("u")  # the note
        await settle(pilot)
        assert "note" not in (stored(library.root, pid) or {})
        await pilot.press("u")  # the tags
        await settle(pilot)
        assert not stored(library.root, pid).get("tags")
        await pilot.press("u")  # the state
        await settle(pilot)
        assert stored(library.root, pid).get("state", "unread") == "unread"
        await pilot.press("u")  # the bookmark
        await settle(pilot)
        assert stored(library.root, pid) is None or not stored(library.root, pid).get("bookmarked")
        assert screen.paper_list.current.bookmarked is False
        await pilot.press("u")
        await settle(pilot)
        assert any("Nothing to undo" in n.message for n in app._notifications)
        await pilot.press("U")  # redo the bookmark
        await settle(pilot)
        assert stored(library.root, pid)["bookmarked"] is True


async def test_a_note_changed_elsewhere_is_not_undone(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = main(pilot)
        pid = screen.paper_list.current.id
        screen.change(pid, lambda p: library.set_note(p, "mine"), "Note saved", "note")
        await settle(pilot)
        library.set_note(pid, "edited elsewhere")  # (another instance, or by hand)
        await pilot.press("u")
        await settle(pilot)
        assert stored(library.root, pid)["note"]["text"] == "edited elsewhere"
        assert any("changed since" in n.message for n in app._notifications)
        backups = library.store.note_backups(pid)
        assert [p.read_text() for p in backups] == ["mine"]  # recoverable all the same


async def test_undo_from_the_palette(app, library):  # type: ignore[no-untyped-def]
    from test_fetch_ui import run_command

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pid = main(pilot).paper_list.current.id
        await pilot.press("b")
        await settle(pilot)
        await run_command(pilot, "undo", "Undo")
        await settle(pilot)
        assert not (stored(library.root, pid) or {}).get("bookmarked")


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_an_invalid_query_is_the_same_error_in_the_reader_and_the_cli(  # type: ignore[no-untyped-def]
    app, library, library_path, capsys, query
):
    from paperreader.cli import main as cli

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        before = screen.paper_list.total
        await pilot.press("slash")
        screen.search_input.value = query
        await pilot.press("enter")
        await settle(pilot)
        shown = text_of(screen, "#suggestion")
        assert screen.query_one("#suggestion").display
        assert screen.paper_list.total == before  # the previous results stay
        assert "query error" in text_of(screen, "#search-status")
    code = cli(["search", query, "--library", str(library_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.strip().removeprefix("paperreader: ") == shown.removeprefix("⚠ ")


async def test_did_you_mean_while_typing(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "atention")  # no Enter: a pause completes the word
        await asyncio.sleep(0.8)
        await settle(pilot)
        assert screen.query_one("#suggestion").display
        assert "attention" in text_of(screen, "#suggestion")
        assert screen.focused is screen.search_input  # still typing
        await pilot.press("ctrl+u")  # (clears the input)
        await type_text(pilot, "atention ")  # a space completes it at once
        await settle(pilot)
        assert "attention" in text_of(screen, "#suggestion")


async def test_whats_new_marker_view_and_mark_all_read(library):  # type: ignore[no-untyped-def]
    from paperreader.ui.app import create_app

    # A visit a day ago; since then two papers came in.
    library.views.touch("all", datetime.now(timezone.utc) - timedelta(days=1))
    before = datetime.now(timezone.utc).timestamp() - 3600
    library.records.db.execute("UPDATE papers SET added = ?", (before - 86400,))
    library.add_papers(
        [
            Paper(id="2612.00001", title="Zebra finches", published=date(2027, 1, 2)),
            Paper(id="2612.00002", title="A new paper on diffusion", published=date(2027, 1, 1)),
        ]
    )
    app = create_app(library, show_timing=False, poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        assert library.new_ids() == {"2612.00001", "2612.00002"}
        rows = [row_text(pilot, y) for y in range(screen.paper_list.size.height)]
        marked = [r for r in rows if r.startswith("N")]
        assert len(marked) == 2 and "Zebra" in marked[0] and "diffusion" in marked[1]
        assert not any(r.startswith("N") for r in rows[2:])
        counts = await counts_settled(pilot, screen)
        assert counts["new"].new == 2 and counts["new"].unread == 2

        screen.set_view("new")
        await settle(pilot)
        assert screen.paper_list.total == 2
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing changes
        await settle(pilot)
        assert library.user("2612.00001").state == ReadState.UNREAD
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert library.user("2612.00001").state == ReadState.READ
        assert library.user("2612.00002").state == ReadState.READ
        counts = await counts_settled(pilot, screen)
        assert counts["new"].unread == 0


async def test_next_unread(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plist = main(pilot).paper_list
        second, third = plist.hit_at(1).id, plist.hit_at(2).id
        library.set_state(second, ReadState.READ)
        main(pilot).search(keep_cursor=True)
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert plist.current.id == third


async def test_typing_shows_lasting_errors_at_once_and_drops_an_older_error(app, library):  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "title:(")
        await pilot.press("enter")
        await settle(pilot)
        assert "unclosed '('" in text_of(screen, "#suggestion")
        await pilot.press("slash")
        screen.search_input.value = ""
        await type_text(pilot, "foo:ba")  # mid-word, but no more typing makes `foo` a field
        await settle(pilot)
        assert "unknown field 'foo'" in text_of(screen, "#suggestion")
        screen.search_input.value = ""
        await type_text(pilot, "date:20")  # mid-word and mendable: quiet, no stale error
        await settle(pilot)
        assert "incomplete query" in text_of(screen, "#search-status")
        assert not screen.query_one("#suggestion").display
