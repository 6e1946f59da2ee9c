"""Fetching and importing from the command palette, against the local replay server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, ProgressBar
from ui_helpers import main, settle, type_text

from paperreader.core import fetch
from paperreader.core.models import Paper
from paperreader.ui.jobs import Outcome
from paperreader.ui.screens.modals import ArxivScreen, PathScreen
from paperreader.ui.widgets.task_bar import TaskBar
from replay_server import Server, closed_port, replay_server

SIZE = (120, 40)
HF_IDS = ["2410.17243", "2410.18057", "2410.20001"]
ARXIV_IDS = [f"2405.1000{i}" for i in range(1, 6)]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No waits, and every source at a closed local port unless a test says otherwise."""
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)
    monkeypatch.setattr(fetch, "ARXIV_DELAY", 0.0)
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("PAPERREADER_HF_URL", dead)
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", dead + "/api/query")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    srv = replay_server()
    monkeypatch.setenv("PAPERREADER_HF_URL", srv.url)
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", srv.url + "/api/query")
    yield srv
    srv.close()


async def run_command(pilot, words: str, name: str) -> None:
    """Open the palette, type `words`, and run the command called `name` once it is listed."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    palette.query_one(Input).value = words  # one search, not one per key typed
    commands = palette.query_one("CommandList")
    for _ in range(200):
        await pilot.pause(0.01)
        if commands.option_count and name in str(commands.get_option_at_index(0).prompt):
            break
    else:
        raise AssertionError(f"{name!r} is not offered for {words!r}")
    await pilot.press("enter")
    await pilot.pause()


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def listed_ids(pilot) -> list[str]:
    plist = main(pilot).paper_list
    return [hit.id for i in range(plist.total) if (hit := plist.hit_at(i)) is not None]


async def test_fetch_hugging_face_from_the_palette(app, library, server):
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await run_command(pilot, "fetch today", "Fetch today's Hugging Face papers")
        await settle(pilot)
        assert "Fetched 3 from Hugging Face: 3 added, 0 updated, 0 unchanged, 0 skipped" in (
            messages(app)
        )
        assert library.count() == 101
        assert sorted(library.get_many(HF_IDS)) == HF_IDS
        assert main(pilot).paper_list.total == 101
        assert set(HF_IDS) <= set(listed_ids(pilot))
        assert "101 papers" in str(main(pilot).query_one("#topbar").content)
        assert not main(pilot).query(TaskBar)  # the bar goes once the job is done
        assert server.requests[0]["path"] == "/api/daily_papers"


async def test_fetch_from_arxiv_asks_for_a_query_and_a_count(app, library, server):
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await run_command(pilot, "fetch from arxiv", "Fetch from arXiv...")
        assert isinstance(app.screen, ArxivScreen)
        assert app.screen.query_one("#arxiv-max", Input).value == "50"
        await type_text(pilot, "diffusion")
        app.screen.query_one("#arxiv-max", Input).value = "4"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is main(pilot)
        assert "Fetched 4 from arXiv: 4 added, 0 updated, 0 unchanged, 0 skipped" in (messages(app))
        assert library.count() == 102
        assert set(ARXIV_IDS[:4]) <= set(listed_ids(pilot))
        query = server.requests[0]["query"]
        assert (query["search_query"], query["max_results"]) == ("all:diffusion", "4")


async def test_the_bar_shows_progress_while_the_job_runs(app, library):
    """Indeterminate while waiting, then a count; the UI stays responsive meanwhile."""
    step, done = threading.Event(), threading.Event()

    def job(reporter) -> Outcome:
        reporter.stage("Waiting for the network")
        step.wait(5)
        reporter.progress(2, 5)
        done.wait(5)
        return Outcome("finished")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = main(pilot)
        assert screen.start_job("Fetch", job)
        await pilot.pause(0.05)
        bar = screen.query_one("#task-progress", ProgressBar)
        assert bar.total is None  # indeterminate
        assert "Waiting for the network" in str(screen.query_one("#task-label").content)
        assert not screen.start_job("Fetch", job)  # one at a time
        await pilot.press("j")  # the UI is not blocked
        assert screen.paper_list.cursor == 1
        step.set()
        for _ in range(50):
            await pilot.pause(0.02)
            if bar.total == 5:
                break
        assert (bar.total, bar.progress) == (5, 2)
        assert str(screen.query_one("#task-count").content) == "2/5"
        done.set()
        await settle(pilot)
        assert "finished" in messages(app) and not screen.query(TaskBar)


async def test_offline_is_one_error_notification(app, library):
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await run_command(pilot, "fetch today", "Fetch today's Hugging Face papers")
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1
        assert errors[0].title == "Fetch failed"
        assert "cannot connect to 127.0.0.1" in errors[0].message
        assert "\n" not in errors[0].message
        assert app.is_running and library.count() == 98
        assert not main(pilot).query(TaskBar)
        await pilot.press("j")  # still usable
        assert main(pilot).paper_list.cursor == 1
        await run_command(pilot, "fetch from arxiv", "Fetch from arXiv...")
        await type_text(pilot, "diffusion")
        await pilot.press("enter")
        await settle(pilot)
        # (the first error may have timed out of the list by now on a loaded machine)
        later = [n for n in app._notifications if n.severity == "error" and n is not errors[0]]
        assert len(later) == 1 and "arXiv query 'diffusion'" in later[0].message


async def test_import_a_jsonl_file(app, library, tmp_path):
    papers = [
        Paper(id="future-1", title="Quasar Lenses Revisited", published=date(2027, 1, 2)),
        Paper(id="future-2", title="Plankton Foundation Models", published=date(2027, 1, 1)),
    ]
    path = tmp_path / "mine.jsonl"
    lines = [json.dumps({**p.to_dict(), "source": "test"}) for p in papers]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await run_command(pilot, "import a file", "Import a file...")
        assert isinstance(app.screen, PathScreen)
        app.screen.query_one("#path", Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot)
        assert "Imported mine.jsonl: 2 added, 0 updated, 0 unchanged, 0 skipped" in (messages(app))
        assert library.count() == 100
        assert listed_ids(pilot)[:2] == ["future-1", "future-2"]  # newest first

        await run_command(pilot, "import a file", "Import a file...")
        app.screen.query_one("#path", Input).value = str(tmp_path / "missing.jsonl")
        await pilot.press("enter")
        await settle(pilot)
        (error,) = [n for n in app._notifications if n.severity == "error"]
        assert error.title == "Import failed" and "missing.jsonl" in error.message
        assert app.is_running and library.count() == 100


async def test_papers_left_unindexed_are_indexed_at_start_with_a_progress_bar(app, library):
    # A large import returned before indexing (records first): the reader lists the papers at
    # once and indexes them in its task bar; then searches find them.
    library.add_papers(
        [Paper(id=f"late-{n}", title=f"Late arrival qqzebra {n}") for n in range(7)], index=False
    )
    assert library.unindexed_count() == 7
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = main(pilot)
        await settle(pilot)
        assert screen.paper_list.total == 105  # listed whether indexed or not
        assert "Indexed 7 papers: every paper is searchable." in messages(app)
        assert not screen.query(TaskBar)
        assert library.unindexed_count() == 0
        await pilot.press("slash")
        await type_text(pilot, "qqzebra\n")
        await settle(pilot)
        assert screen.paper_list.total == 7
