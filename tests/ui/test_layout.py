"""Layout on small and changing terminals, and paging rows in from a larger library."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from ui_helpers import main, row_text, settle

from paperreader.core.library import Library
from paperreader.core.models import Paper
from paperreader.ui.app import create_app
from paperreader.ui.widgets.paper_list import PAGE_CACHE, PAGE_SIZE


async def test_survives_any_size_and_resizing(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for size in [(80, 24), (40, 12), (20, 5), (1, 1), (3, 2), (200, 60), (59, 30), (120, 40)]:
            await pilot.resize_terminal(*size)
            await pilot.press("j")
            await settle(pilot)
            assert app.is_running
        assert main(pilot).paper_list.cursor == 8


async def test_narrow_stacks_and_tiny_shows_one_pane(app):
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        screen = main(pilot)
        assert screen.has_class("-narrow")
        assert screen.detail.region.y > screen.paper_list.region.y  # stacked
        await pilot.resize_terminal(40, 12)
        await settle(pilot)
        assert screen.compact and not screen.detail.display or screen.detail.region.height == 0
        await pilot.press("m")  # similar papers: the detail pane alone (Enter opens the article)
        await settle(pilot)
        assert screen.has_class("-detail-only")
        assert screen.detail.region.height > 0 and screen.paper_list.region.height == 0
        assert screen.focused in (screen.detail, screen.query_one("#d-similar"))
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.has_class("-detail-only")
        assert screen.paper_list.region.height > 0


@pytest.fixture(scope="module")
def big_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big") / "lib"
    lib = Library(root, seed=False)
    start = date(2020, 1, 1)
    lib.add_papers(
        Paper(
            id=f"p{i:05d}",
            title=f"Synthetic paper number {i} on topic {i % 7}",
            abstract=f"An abstract about topic {i % 7} and method {i % 13}.",
            authors=[f"Author {i % 50}"],
            published=start + timedelta(days=i),
        )
        for i in range(PAGE_SIZE * 4 + 37)
    )
    lib.close()
    return root


async def test_rows_are_paged_in_on_demand(big_dir, tmp_path):
    root = tmp_path / "lib"
    shutil.copytree(big_dir, root)
    library = Library(root)
    app = create_app(library, show_timing=False, poll_seconds=0)
    total = PAGE_SIZE * 4 + 37
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plist = main(pilot).paper_list
        assert plist.total == total
        assert plist.current.id == f"p{total - 1:05d}"  # newest first
        assert list(plist._pages) == [0]
        await pilot.press("G")
        await settle(pilot)
        assert plist.current is not None and plist.current.id == "p00000"
        assert "Synthetic paper number 0 " in row_text(pilot, plist.size.height - 1)
        assert len(plist._pages) <= PAGE_CACHE
        for _ in range(6):
            await pilot.press("pageup")
        await settle(pilot)
        assert plist.current is not None
        assert main(pilot).detail.paper_id == plist.current.id
    library.close()
