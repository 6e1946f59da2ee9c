"""Pilot tests of the reader's key flows: what the screen shows and what the YAML store holds."""

from __future__ import annotations

import contextlib
import sys

from textual import events
from textual.widgets import Input, Markdown, Static, TextArea
from ui_helpers import main, row_text, settle, stored, type_text

from paperreader.core.models import ReadState
from paperreader.ui.screens.modals import ChoiceScreen, ConfirmScreen, HelpScreen, TagsScreen
from paperreader.ui.screens.note_editor import NoteEditor

SIZE = (120, 40)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def test_startup_shows_the_sample(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        assert screen.paper_list.total == 98
        assert screen.focused is screen.paper_list
        top = text_of(screen, "#topbar")
        assert "98 papers" in top and "view: All papers" in top and "sort: newest" in top
        assert "98 papers" in text_of(screen, "#search-status")
        first = screen.paper_list.current
        assert first is not None and first.title[:20] in row_text(pilot, 0)
        assert "●" in row_text(pilot, 0)  # unread marker
        assert "2026-03-11" in row_text(pilot, 0)
        assert text_of(screen, "#d-title") == first.title
        assert screen.detail.view is not None and screen.detail.view.paper.abstract[:30] in text_of(
            screen, "#d-abstract"
        )


async def test_moving_with_vim_keys_and_arrows(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plist = main(pilot).paper_list
        await pilot.press("j", "j", "down")
        assert plist.cursor == 3
        await pilot.press("k", "up")
        assert plist.cursor == 1
        await pilot.press("G")
        assert plist.cursor == 97
        await pilot.press("g")
        assert plist.cursor == 0
        await pilot.press("pagedown")
        assert plist.cursor > 10
        await pilot.press("pageup")
        assert plist.cursor == 0
        await pilot.press("end")
        await settle(pilot)
        assert main(pilot).detail.paper_id == plist.current.id
        assert main(pilot).current_id == plist.current.id


async def test_bookmark_toggles_marker_and_store(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("j")
        await settle(pilot)
        hit = screen.paper_list.current
        await pilot.press("b")
        await settle(pilot)
        assert stored(library.root, hit.id)["bookmarked"] is True
        assert "★" in row_text(pilot, 1)
        assert "bookmarked" in text_of(screen, "#d-meta")
        await pilot.press("b")
        await settle(pilot)
        data = stored(library.root, hit.id)
        assert data is None or data["bookmarked"] is False
        assert "★" not in row_text(pilot, 1)


async def test_read_state_cycles(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        seen = []
        for _ in range(3):
            await pilot.press("r")
            await settle(pilot)
            data = stored(library.root, hit.id)
            seen.append(data["state"] if data else "unread")
        assert seen == ["reading", "read", "unread"]
        assert library.user(hit.id).state is ReadState.UNREAD
        await pilot.press("r")
        await settle(pilot)
        assert "◐" in row_text(pilot, 0)
        assert "reading" in text_of(main(pilot), "#d-meta")


async def test_tags_modal_sets_tags(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TagsScreen)
        await type_text(pilot, "llm, Serving  lora")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(library.root, hit.id)["tags"] == ["llm", "lora", "serving"]
        assert "#llm" in row_text(pilot, 0)
        assert "#serving" in text_of(main(pilot), "#d-meta")
        # Esc leaves the tags alone.
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("ctrl+u", "x", "escape")
        await settle(pilot)
        assert stored(library.root, hit.id)["tags"] == ["llm", "lora", "serving"]


async def test_note_saved_with_ctrl_s(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        await type_text(pilot, "Key idea: paged adapters")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, NoteEditor)
        assert stored(library.root, hit.id)["note"]["text"] == "Key idea: paged adapters"
        assert "✎" in row_text(pilot, 0)
        note = main(pilot).query_one("#d-note", Markdown)
        assert note.display and "paged adapters" in note.source


async def test_note_cancel_asks_before_dropping(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("escape")  # nothing typed: closes at once
        await pilot.pause()
        assert not isinstance(app.screen, NoteEditor)
        await pilot.press("a")
        await pilot.pause()
        await type_text(pilot, "draft")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        assert app.screen.query_one(TextArea).text == "draft"
        await pilot.press("escape", "y")
        await settle(pilot)
        assert not isinstance(app.screen, (NoteEditor, ConfirmScreen))
        assert stored(library.root, hit.id) is None
        assert "✎" not in row_text(pilot, 0)


async def test_note_edit_merges_a_concurrent_save(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        library.set_note(hit.id, "first version")
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one(TextArea).text == "first version"
        # Another instance saves while we edit.
        library.set_note(hit.id, "saved elsewhere")
        await type_text(pilot, " plus mine")
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = stored(library.root, hit.id)["note"]["text"]
        assert "first version plus mine" in text and "saved elsewhere" in text


async def test_an_open_note_is_saved_when_the_session_ends(app, library):
    """What the SIGTERM/SIGHUP handler does before exiting (the pty test sends the signal)."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        library.set_note(hit.id, "first version")
        await pilot.press("a")
        await pilot.pause()
        assert app.save_open_notes() == []  # unchanged: nothing written
        library.set_note(hit.id, "saved elsewhere")
        await type_text(pilot, " plus mine")
        await pilot.press("escape")  # "drop the changes?" is open above the editor
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.save_open_notes() == []
        text = stored(library.root, hit.id)["note"]["text"]
        assert "first version plus mine" in text and "saved elsewhere" in text
        assert app.save_open_notes() == []  # a second signal saves nothing twice
        assert stored(library.root, hit.id)["note"]["text"] == text


async def test_query_matches_are_highlighted_in_the_note(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        note_text = "My **zebrafish** idea.\n\n- more zebrafish later [bold]x[/bold]"
        library.set_note(hit.id, note_text)
        screen = main(pilot)
        screen.show_paper(hit.id)  # no query: the note is Markdown
        await settle(pilot)
        markdown = screen.query_one("#d-note", Markdown)
        plain = screen.query_one("#d-note-plain", Static)
        assert markdown.display and not plain.display
        await pilot.press("slash")
        await type_text(pilot, "zebrafish")
        await pilot.press("enter")
        await settle(pilot)
        assert main(pilot).paper_list.current.id == hit.id
        assert plain.display and not markdown.display
        assert "2 matches" in str(screen.query_one("#d-note-label", Static).content)
        shown = plain.content  # the note's source, never parsed as markup
        assert str(shown) == note_text
        visual = plain.render_line(0).text + plain.render_line(2).text
        assert "zebrafish" in visual and "[bold]x[/bold]" in visual
        match = screen.detail.get_component_rich_style("detail--match")
        strips = [plain.render_line(y) for y in range(3)]
        styled = [seg.text for strip in strips for seg in strip if seg.style and seg.style.bold]
        assert styled.count("zebrafish") == 2, styled
        assert match.bold
        await pilot.press("escape", "escape")  # no query: Markdown again
        await settle(pilot)
        assert markdown.display and not plain.display


async def test_note_in_external_editor(app, library, tmp_path, monkeypatch):
    script = tmp_path / "fake-editor.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('from my editor')\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("e")
        await settle(pilot)
        assert stored(library.root, hit.id)["note"]["text"] == "from my editor"
        assert "✎" in row_text(pilot, 0)


async def test_a_missing_editor_is_one_error_line_and_the_reader_comes_back(
    app, library, monkeypatch
):
    """`EDITOR=/nonexistent/vim`, then `e`: the reader was left suspended (a blank screen,
    keys ignored), because the error skipped `app.suspend`'s resume."""
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "/nonexistent/vim")
    suspended: list[bool] = []

    @contextlib.contextmanager
    def suspend():  # like Textual's: an error in the block skips the resume
        suspended.append(True)
        yield
        suspended.pop()

    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "suspend", suspend)
        await settle(pilot)
        screen = main(pilot)
        hit = screen.paper_list.current
        before = stored(library.root, hit.id)
        await pilot.press("e")
        await settle(pilot)
        assert suspended == []
        messages = [n.message for n in app._notifications]
        assert len(messages) == 1
        assert messages[0].startswith("the editor `/nonexistent/vim` could not be started: ")
        assert stored(library.root, hit.id) == before
        await pilot.press("j")  # keys work again
        await settle(pilot)
        assert screen.paper_list.cursor == 1


async def test_search_as_you_type_then_enter_and_escape(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        assert screen.focused is screen.search_input
        await type_text(pilot, "lora")
        await settle(pilot)
        plist = screen.paper_list
        assert 0 < plist.total < 98
        assert "LoRA" in plist.current.title
        assert f"{plist.total} result" in text_of(screen, "#search-status")
        assert "sort: relevance" in text_of(screen, "#topbar")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.focused is plist
        # The abstract's matched words are highlighted.
        abstract = screen.query_one("#d-abstract", Static).content
        assert any(span.style for span in abstract.spans)
        await pilot.press("slash", "escape")  # back to the list, the query kept
        await settle(pilot)
        assert screen.focused is plist and screen.search_input.value == "lora"
        await pilot.press("escape")  # on the list: clears the search
        await settle(pilot)
        assert screen.search_input.value == "" and plist.total == 98
        assert screen.focused is plist


async def test_escape_in_the_search_bar_goes_back_to_the_list(app):
    """`/lora`, Esc, `j`: the `j` moves the list's cursor; it is never typed into the query."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        plist = screen.paper_list
        await pilot.press("slash", "l", "o", "r", "a", "escape", "j")
        await settle(pilot)
        assert screen.search_input.value == "lora"
        assert screen.focused is plist and 0 < plist.total < 98
        assert plist.cursor == 1


async def test_malformed_query_shows_a_message(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "is:nonsense")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.search_error and "unknown filter" in screen.search_error
        assert "unknown filter" in text_of(screen, "#suggestion")
        assert screen.query_one("#suggestion").display
        await pilot.press("slash", "escape", "escape")
        await settle(pilot)
        assert screen.search_error is None and screen.paper_list.total == 98


def footer_text(pilot) -> str:
    from textual.widgets._footer import FooterKey

    return " ".join(key.description for key in pilot.app.screen.query(FooterKey))


async def test_did_you_mean_is_accepted_with_one_key(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "transfomer")
        await pilot.press("enter")
        await settle(pilot)
        assert "Did you mean “transformer”?" in text_of(screen, "#suggestion")
        assert "Use suggestion" in footer_text(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert screen.search_input.value == "transformer"
        assert not screen.query_one("#suggestion").display
        assert screen.paper_list.total > 0
        assert "Use suggestion" not in footer_text(pilot)


async def test_sort_cycles(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        sorts = []
        for _ in range(3):
            await pilot.press("s")
            await settle(pilot)
            sorts.append(screen.effective_sort())
        assert sorts == ["oldest", "title", "newest"]
        await pilot.press("s", "s")
        await settle(pilot)
        titles = [row_text(pilot, y)[5:30] for y in range(3)]
        assert "sort: title" in text_of(screen, "#topbar")
        assert titles == sorted(titles, key=str.lower) or titles[0] <= titles[1]
        await pilot.press("slash")
        await type_text(pilot, "attention")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.effective_sort() == "title"
        await pilot.press("s")
        await settle(pilot)
        assert screen.effective_sort() == "relevance"


async def test_a_view_without_words_lists_newest_first(app, library):
    """The top bar says "sort: newest" there: the list must be in that order, not ranked by
    the view's filter."""
    from datetime import date

    from paperreader.core.models import Paper

    library.add_papers(
        [
            Paper(id="future-paper", title="From the future", published=date(2090, 1, 1)),
            Paper(id="ancient-paper", title="From the past", published=date(1950, 1, 1)),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        screen.set_view("unread")
        await settle(pilot)
        assert "sort: newest" in text_of(screen, "#topbar")
        assert screen.paper_list.current.id == "future-paper"
        dates = [h.published for h in screen.result.hits if h.published]
        assert dates == sorted(dates, reverse=True)


async def test_views_combine_with_the_query(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        plist = screen.paper_list
        first = plist.current
        await pilot.press("b", "j", "j")
        await settle(pilot)
        await pilot.press("t")
        await type_text(pilot, "later")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("j", "enter")  # the second choice: Bookmarked
        await settle(pilot)
        assert plist.total == 1 and plist.current.id == first.id
        assert "view: Bookmarked" in text_of(screen, "#topbar")
        await pilot.press("F")  # next view: unread
        await settle(pilot)
        assert screen.query_state.view == "unread" and plist.total == 98
        screen.set_view("tag:later")
        await settle(pilot)
        assert plist.total == 1 and "#later" in text_of(screen, "#topbar")
        screen.set_view("bookmarked")
        await pilot.press("slash")
        await type_text(pilot, "zzzz")
        await pilot.press("enter")
        await settle(pilot)
        assert plist.total == 0 and "No papers match" in row_text(pilot, 0)


async def test_help_screen(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.query_one("#help-body Static", Static).content)
        assert "bookmark" in body and "ctrl+p" in body and "Query language" in body
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main(pilot)


async def test_command_palette_runs_actions(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "bookmark")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert stored(library.root, hit.id)["bookmarked"] is True
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "sort: title")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert main(pilot).query_state.sort == "title"


async def test_quit(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_tab_enter_and_similar_papers(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("tab")
        assert screen.focused is screen.detail
        await pilot.press("shift+tab", "tab")  # Enter opens the article (test_article.py)
        assert screen.focused is screen.detail
        await pilot.press("escape")
        assert screen.focused is screen.paper_list
        before = screen.current_id
        await pilot.press("m")
        await settle(pilot)
        similar = screen.query_one("#d-similar")
        assert screen.focused is similar and similar.option_count > 0
        target = similar.get_option_at_index(similar.highlighted).id
        await pilot.press("enter")
        await settle(pilot)
        assert screen.current_id == target != before
        assert screen.detail.paper_id == target


async def test_copy_bibtex_and_id(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # the sample has no links: BibTeX comes first
        await pilot.pause()
        assert app.clipboard.startswith("@") and "title" in app.clipboard
        await pilot.press("y", "j", "enter")
        await pilot.pause()
        assert app.clipboard == hit.id


async def test_open_in_browser(app, library, monkeypatch):
    from datetime import date

    from paperreader.core.models import Paper

    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url))
    library.add_papers(
        [
            Paper(
                id="2401.00001",
                title="Zebra paper",
                arxiv_id="2401.00001",
                published=date(2020, 1, 1),
            )
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")  # no link on the sample papers: a message, nothing opened
        await settle(pilot)
        assert opened == []
        await pilot.press("slash")
        await type_text(pilot, "zebra")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert opened == ["https://arxiv.org/abs/2401.00001"]


async def test_open_picks_the_arxiv_page_among_several_urls(app, library, monkeypatch):
    from paperreader.core.models import Paper

    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url))
    glued = "http://scitation.aip.org/content/jmp/55/8/1.4892761http://arxiv.org/abs/1311.3887"
    library.add_papers(
        [Paper(id="1311.3887", title="Zebra pages", arxiv_id="1311.3887", url=glued)]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "zebra")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert opened == ["https://arxiv.org/abs/1311.3887"]
        meta = text_of(main(pilot), "#d-meta")
        assert "http://scitation.aip.org/content/jmp/55/8/1.4892761" in meta
        assert "1.4892761http" not in meta


async def test_corrupt_notes_file_is_a_notification(app, library):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        path = library.store.path_for(hit.id)
        path.write_text("id: [unclosed\n", encoding="utf-8")
        await pilot.press("b")
        await settle(pilot)
        assert path.read_text(encoding="utf-8") == "id: [unclosed\n"  # never overwritten
        assert any("Not saved" in n.title for n in app._notifications)
        await pilot.press("a")  # the editor cannot start from a file it cannot read
        await settle(pilot)
        assert app.screen is main(pilot)
        assert app.is_running


async def test_hand_edits_show_after_a_store_poll(app, library):
    from paperreader.core.library import Library

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hit = main(pilot).paper_list.current
        other = Library(library.root)
        other.set_bookmark(hit.id)
        other.close()
        main(pilot).poll_store()
        await settle(pilot)
        assert "★" in row_text(pilot, 0)


async def test_untrusted_text_is_never_markup(app, library):
    from paperreader.core.models import Paper

    title = "[bold red]Injected[/] [link=x]markup[/link] paper"
    library.add_papers(
        [Paper(id="evil-1", title=title, abstract="[blink]abs[/blink]\x1b]52;c;AAAA\x07 end")]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "injected")
        await pilot.press("enter")
        await settle(pilot)
        screen = main(pilot)
        assert "[bold red]Injected[/]" in row_text(pilot, 0)
        assert text_of(screen, "#d-title") == title
        assert "\x1b" not in text_of(screen, "#d-abstract")
        assert "[blink]abs[/blink]" in text_of(screen, "#d-abstract")


async def test_markup_in_tags_and_titles_shows_literally(app, library):
    """A tag or title that looks like markup is text everywhere: the tags dialog, the
    notification, the view picker, the command palette and the top bar."""
    from textual.command import CommandPalette
    from textual.widgets._toast import Toast

    from paperreader.core.models import Paper

    title = "[@click=app.quit] [bold]Evil[/bold] paper"
    library.add_papers([Paper(id="evil-2", title=title, abstract="nothing to see")])
    tags = ["[@click=app.quit]", "[bold]x[/bold]"]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "evil")
        await pilot.press("enter")
        await settle(pilot)
        assert main(pilot).paper_list.current.id == "evil-2"
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TagsScreen)
        assert text_of(app.screen, ".dialog-title") == f"Tags of: {title}"
        app.screen.query_one("#tags", Input).value = " ".join(tags)
        await pilot.press("enter")
        await settle(pilot)
        assert stored(library.root, "evil-2")["tags"] == tags
        saved = f"Tags saved: #{tags[0]} #{tags[1]}"
        assert [n.message for n in app._notifications if n.message.startswith("Tags")] == [saved]
        toasts = [str(t.render()) for t in app.screen.query(Toast)]
        assert any(saved in toast for toast in toasts), toasts

        await pilot.press("f")  # the view picker
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        picker = app.screen.query_one("#choices")
        shown = [picker.render_line(y).text for y in range(picker.size.height)]
        for tag in tags:
            assert any(f"#{tag} (1)" in line for line in shown), shown
        picker.highlighted = [o.id for o in picker.options].index(f"tag:{tags[0]}")
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running and app.screen is main(pilot)
        assert f"view: #{tags[0]}" in str(main(pilot).query_one("#topbar", Static).content)

        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "view")
        await settle(pilot)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        commands = palette.query_one("CommandList")
        shown = [commands.render_line(y).text for y in range(commands.size.height)]
        assert any(f"View: #{tags[1]} (1)" in line for line in shown), shown
        assert any(f"Show #{tags[1]} (1)" in line for line in shown), shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


async def test_theme_is_remembered(app, library):
    from paperreader.ui.app import create_app
    from paperreader.ui.settings import load_settings

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await pilot.pause()
    assert load_settings(library.root)["theme"] == "nord"
    again = create_app(library, poll_seconds=0)
    assert again.theme == "nord"


async def test_search_input_keeps_typing_letters(app):
    """Letters that are keys elsewhere (b, q, n) go into the search bar while it has focus."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "bqn")
        await settle(pilot)
        assert app.is_running
        assert main(pilot).query_one("#query", Input).value == "bqn"


async def test_keys_typed_ahead_act_on_the_row_they_reach(app, library):
    """`jjb` arriving in one read bookmarks the third row, not the first."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        third = main(pilot).paper_list.hit_at(2)
        for key in "jjb":
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert stored(library.root, third.id)["bookmarked"] is True


async def test_an_unexpected_error_costs_one_action_not_the_session(app, library, monkeypatch):
    real_search = library.search

    def search(query="", **kwargs):
        if "boom" in query:
            raise RuntimeError("index exploded")
        return real_search(query, **kwargs)

    monkeypatch.setattr(library, "search", search)
    monkeypatch.setattr(library, "similar", lambda *a, **k: 1 / 0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "boom")
        await pilot.press("enter")
        await settle(pilot)
        screen = main(pilot)
        assert app.is_running
        assert "index exploded" in text_of(screen, "#suggestion")
        assert any("ZeroDivisionError" in n.message for n in app._notifications)


async def test_a_fast_slash_query_goes_to_the_search_bar(app, library):
    """`/lora` arriving in one read is a search, not l (open), o, r (read state), a."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in ["slash", *"lora"]:
            app._driver.send_message(events.Key(key, "/" if key == "slash" else key))
        await settle(pilot)
        assert main(pilot).search_input.value == "lora"
        assert list(library.store.files()) == []


async def test_keys_typed_after_enter_act_on_the_new_results(app, library):
    """`/lora⏎jb` in one read bookmarks the second LoRA result, not a row of the old list."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = library.search("lora", limit=2).hits[1]
        names = {"slash": "/", "enter": "\r"}
        for key in ["slash", *"lora", "enter", "j", "b"]:
            app._driver.send_message(events.Key(key, names.get(key, key)))
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
        assert main(pilot).search_input.value == "lora"
        assert [p.stem for p in library.store.files()] == [expected.id]


async def _until(pilot, condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the screen never got there")


async def test_typing_shows_the_full_search_at_each_pause(app, library):
    word = "heterogen"  # a prefix: in a few titles and more abstracts
    full = library.search(word, partial_last=True, limit=100)
    assert full.total > 1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        plist = screen.paper_list
        await pilot.press("slash")
        await type_text(pilot, word)
        await _until(pilot, lambda: plist.total == full.total)
        assert text_of(screen, "#search-status") == f"{full.total} results"
        assert [plist.hit_at(i).id for i in range(3)] == [h.id for h in full.hits[:3]]
        assert screen.focused is screen.search_input


async def test_enter_runs_the_full_search_at_once(app, library):
    full = library.search("heterogeneous", limit=100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        await pilot.press("slash")
        await type_text(pilot, "heterogeneous\n")
        await _until(pilot, lambda: screen.paper_list.total == full.total)
        await settle(pilot)
        assert screen.paper_list.total == full.total
        assert screen.focused is screen.paper_list


async def test_once_warm_the_reader_keeps_its_objects_out_of_full_collections(app, monkeypatch):
    import gc

    from paperreader.ui.screens import main as main_module

    monkeypatch.setattr(main_module, "WARM_AFTER", 0.01)
    gc.unfreeze()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.workers.wait_for_complete()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the DOM, the index readers: not rescanned by every full pass
        assert gc.get_threshold()[0] >= 10_000  # and young passes are ~15x rarer
        await type_text(pilot, "/attention")  # searching works; what it builds is not frozen
        await settle(pilot)
        assert main(pilot).paper_list.total > 0
        assert gc.get_freeze_count() <= frozen


async def test_while_typing_the_paper_shows_first_and_its_similar_papers_after_a_pause(
    app, monkeypatch
):
    from paperreader.ui.screens import main as main_screen

    monkeypatch.setattr(main_screen, "SIMILAR_WHILE_TYPING_DELAY", 0.6)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(pilot)
        before = screen.detail.paper_id
        similar = screen.query_one("#d-similar")
        assert before and similar.option_count > 0
        await pilot.press("slash")
        await type_text(pilot, "lora")
        for _ in range(300):  # the top paper's details, after the typing pause
            await pilot.pause(0.01)
            if screen.detail.paper_id == screen.paper_list.current.id != before:
                break
        assert screen.detail.paper_id == screen.paper_list.current.id != before
        assert similar.option_count == 0  # not yet: a key typed now is not held up
        await settle(pilot)
        assert similar.option_count > 0
        assert screen.detail.paper_id == screen.paper_list.current.id
