"""The article view's `d`: the full text fetched (a local replay server), then shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import settle

from paperreader.core import fetch
from paperreader.core.library import Library
from paperreader.core.models import Paper
from paperreader.ui.app import create_app
from paperreader.ui.screens.article import ArticleScreen
from paperreader.ui.widgets.task_bar import TaskBar
from replay_server import Server

SIZE = (100, 30)
ARXIV = "2302.07302"


def fixtures() -> Path | None:
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "fixtures" / "fulltext").is_dir():
            return folder / "shared" / "fixtures" / "fulltext"
    return None


def screen_text(screen: ArticleScreen) -> str:
    text = screen.text
    return "\n".join(text.render_line(y).text for y in range(text.size.height))


async def wait_for(pilot, done, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if done():
            return
    raise AssertionError("timed out")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)
    srv = Server()
    monkeypatch.setenv("PAPERREADER_ARXIV_FILES_URL", srv.url)
    yield srv
    srv.close()


async def test_d_fetches_the_text_and_shows_it(library: Library, server: Server) -> None:
    found = fixtures()
    if found is None:
        pytest.skip("shared/fixtures/fulltext is not present beside the repository")
    server.script[f"/html/{ARXIV}"] = [
        (200, (found / "latexml_astro_ml_plain_2023.html").read_bytes())
    ]
    library.add_papers(
        [Paper(id=ARXIV, title=r"Citations and $\alpha$", arxiv_id=ARXIV, abstract="A.")]
    )
    app = create_app(library, show_timing=False, poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = ArticleScreen(library, [ARXIV], 0)
        app.push_screen(screen)
        await settle(pilot)
        shown = screen_text(screen)
        assert "press d to fetch it from arXiv" in shown
        assert "Citations and α" in shown  # the header shows LaTeX as Unicode
        await pilot.press("d")
        await wait_for(pilot, lambda: screen.document is not None)
        assert not screen.query(TaskBar)  # the bar is gone once done
        assert screen.document.source == "html"
        assert [r["path"] for r in server.requests] == [f"/html/{ARXIV}"]
        await settle(pilot)
        assert "No full text yet" not in screen_text(screen)
        assert any("Fetched the full text" in n.message for n in app._notifications)
    assert library.search('"one independent variable"').hits[0].id == ARXIV


async def test_d_failing_is_one_notification(library: Library, server: Server) -> None:
    library.add_papers([Paper(id=ARXIV, title="Citations", arxiv_id=ARXIV, abstract="A.")])
    app = create_app(library, show_timing=False, poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = ArticleScreen(library, [ARXIV], 0)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: not screen.query(TaskBar) and len(app._notifications) > 1)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and "neither HTML nor a PDF" in errors[0].message
        assert screen.document is None and "No full text yet" in screen_text(screen)
