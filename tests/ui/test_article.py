"""Pilot tests of the article view: keys pressed, what the screen shows, what the store holds."""

from __future__ import annotations

from pathlib import Path

from ui_helpers import main, row_text, settle, stored, type_text

from paperreader.core.fulltext.document import Block, Document, paper_folder
from paperreader.core.library import Library
from paperreader.ui.app import create_app
from paperreader.ui.screens.article import ArticleScreen
from paperreader.ui.screens.modals import ChoiceScreen
from paperreader.ui.widgets.article_text import ArticleText, wrap

SIZE = (100, 30)


def sample_document(sections: int = 6) -> Document:
    """A deterministic paper: numbered sections of paragraphs, a list, a caption, references."""
    blocks: list[Block] = []
    for s in range(1, sections + 1):
        blocks.append(Block("heading", f"Section about topic {s}", 1, str(s)))
        for p in range(1, 4):
            words = " ".join(f"word{(s * 7 + p * 3 + i) % 41}" for i in range(60))
            blocks.append(Block("paragraph", f"Paragraph {s}.{p}: {words}."))
        blocks.append(Block("list_item", f"First point of section {s}"))
        blocks.append(Block("list_item", f"Second point of section {s}"))
        blocks.append(Block("caption", f"Figure {s}: what section {s} shows."))
    blocks.append(Block("heading", "References", 1, ""))
    blocks += [
        Block("reference", f"[{i}] A. Author. A cited paper {i}. 2024.") for i in range(1, 4)
    ]
    return Document(title="t", blocks=blocks, source="html")


def write_document(root: Path, paper_id: str, document: Document) -> None:
    folder = paper_folder(root, paper_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "text.json").write_text(document.to_json(), encoding="utf-8")


def first_ids(library: Library, count: int = 3) -> list[str]:
    return [hit.id for hit in library.search("", limit=count).hits]


def article(pilot) -> ArticleScreen:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    assert isinstance(screen, ArticleScreen), screen
    return screen


def screen_text(text: ArticleText) -> str:
    return "\n".join(text.render_line(y).text for y in range(text.size.height))


async def open_first(pilot) -> ArticleScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    return article(pilot)


async def test_enter_opens_the_article_and_marks_it_reading(app, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        assert screen.paper is not None and screen.paper.id == pid
        shown = screen_text(screen.text)
        assert screen.paper.title[:40] in shown and "Abstract" in shown
        assert pid in str(screen.query_one("#article-title").content)
        assert "0%" in str(screen.query_one("#article-place").content)
        assert stored(library.root, pid)["state"] == "reading"
        assert "◐" in row_text(pilot, 0)  # the list row too


async def test_keys_scroll_and_the_end_marks_it_read(app, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        text = screen.text
        await pilot.press("j", "j", "down")
        assert text.scroll_y == 3
        await pilot.press("k")
        assert text.scroll_y == 2
        await pilot.press("space")
        assert text.scroll_y > 20
        await pilot.press("pageup")
        assert text.scroll_y == 2
        await pilot.press("pagedown", "pagedown")
        assert text.scroll_y > 40
        assert stored(library.root, pid)["state"] == "reading"
        await pilot.press("G")
        await settle(pilot)
        assert text.scroll_y == text.max_scroll_y > 0
        assert "100%" in str(screen.query_one("#article-place").content)
        assert stored(library.root, pid)["state"] == "read"
        await pilot.press("g")
        assert text.scroll_y == 0


async def test_the_reading_place_comes_back_also_after_a_restart(library_path, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    app = create_app(library, show_timing=False, poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        await pilot.press("space", "space", "space")
        block = screen.text.top_block()
        assert block > 3
        await pilot.press("escape")
        await settle(pilot)
        assert stored(library.root, pid)["position"] == block
        await pilot.press("enter")
        await settle(pilot)
        assert article(pilot).text.top_block() == block
    library.close()
    again = Library(library_path)
    try:
        app = create_app(again, show_timing=False, poll_seconds=0)
        async with app.run_test(size=(80, 24)) as pilot:  # another width: the same block
            screen = await open_first(pilot)
            assert screen.text.top_block() == block
            first = screen.text.text_lines[round(screen.text.scroll_y)][0]
            assert first is not None and first.block == block
    finally:
        again.close()


async def test_find_highlights_every_match_and_n_moves(app, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        text = screen.text
        await pilot.press("slash")
        assert screen.focused is screen.find_input
        await type_text(pilot, "POINT of")  # case-insensitive
        await pilot.press("enter")
        await settle(pilot)
        assert screen.focused is text and not screen.find_input.display
        assert len(text.matches) == 12 and text.current == 0
        assert "1/12" in str(screen.query_one("#article-place").content)
        item, start, _ = text.matches[0]
        line = text.line_of(item, start)
        assert text.scroll_y <= line < text.scroll_y + text.size.height  # jumped to it
        current = text.get_component_rich_style("article--match-current")
        strip = text.render_line(line - round(text.scroll_y))
        assert any(seg.text == "point of" and seg.style.bgcolor == current.bgcolor for seg in strip)
        await pilot.press("n")
        assert text.current == 1
        await pilot.press("N", "N")
        assert text.current == 11  # wraps around
        await pilot.press("slash", "x", "escape")  # Esc closes the find bar, nothing more
        assert isinstance(pilot.app.screen, ArticleScreen) and not screen.find_input.display
        assert text.find_text == "POINT of"


async def test_next_paper_in_place_and_back_to_its_row(app, library):
    ids = first_ids(library)
    write_document(library.root, ids[0], sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert article(pilot) is screen and screen.paper.id == ids[1]
        assert "No full text yet" in screen_text(screen.text)
        await pilot.press("right_square_bracket", "left_square_bracket")  # 3rd, then 2nd
        await settle(pilot)
        assert screen.paper.id == ids[1] and screen.index == 1
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is main(pilot)
        assert main(pilot).paper_list.cursor == 1
        assert main(pilot).detail.paper_id == ids[1]


async def test_bookmark_tags_and_state_keys_save_from_the_article(app, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert stored(library.root, pid)["bookmarked"] is True
        assert "★ bookmarked" in screen_text(screen.text)
        assert "★" in row_text(pilot, 0)
        await pilot.press("t")
        await pilot.pause()
        await type_text(pilot, "deep read")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(library.root, pid)["tags"] == ["deep", "read"]
        assert "#deep #read" in screen_text(screen.text)
        await pilot.press("r")  # reading -> read
        await settle(pilot)
        assert stored(library.root, pid)["state"] == "read"
        await pilot.press("b")
        await settle(pilot)
        assert stored(library.root, pid)["bookmarked"] is False


async def test_no_full_text_says_how_to_get_it(app, library):
    pid = first_ids(library)[0]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        shown = screen_text(screen.text)
        assert f"No full text yet — run `paperreader attach {pid} FILE`" in shown
        assert stored(library.root, pid) is None  # only opened: not marked reading
        await pilot.press("d")
        await settle(pilot)
        assert any("Fetching the full text" in n.message for n in pilot.app._notifications)


async def test_contents_jumps_to_a_section(app, library):
    pid = first_ids(library)[0]
    write_document(library.root, pid, sample_document())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await pilot.press("j", "j", "enter")  # the third section
        await settle(pilot)
        heading = screen.document.headings()[2][0]
        assert screen.text.top_block() == heading
        assert "3 Section about topic 3" in screen.text.render_line(0).text


async def test_the_text_is_never_markup(app, library):
    pid = first_ids(library)[0]
    hostile = "[bold red]not bold[/] \x1b]52;c;aGk=\x07 [link=http://x]y[/link] $x$"
    write_document(library.root, pid, Document(blocks=[Block("paragraph", hostile)]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot)
        shown = screen_text(screen.text)
        assert "[bold red]not bold[/]" in shown and "[link=http://x]y[/link]" in shown
        assert "\x1b" not in shown and "52;c" not in shown


def test_wrap_keeps_every_word_and_cuts_long_ones() -> None:
    text = "alpha beta  gamma\n\nδέλτα 漢字漢字漢字 " + "x" * 25
    spans = wrap(text, 10)
    lines = [text[s:e] for s, e in spans]
    assert lines == [
        "alpha beta",
        "gamma",
        "",
        "δέλτα",
        "漢字漢字漢",
        "字",
        *["x" * 10] * 2,
        "x" * 5,
    ]


def test_the_hint_offers_the_fetch_key_for_arxiv_papers() -> None:
    from paperreader.core.models import Paper
    from paperreader.ui.screens.article import no_text_hint

    hint = no_text_hint(Paper(id="2401.00001", title="T", arxiv_id="2401.00001"))
    assert hint == (
        "No full text yet — press d to fetch it from arXiv, "
        "or run `paperreader attach 2401.00001 FILE`"
    )
