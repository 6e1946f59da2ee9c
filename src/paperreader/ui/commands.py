"""The command palette provider: every action of the reader, every view and sort.

Names and help texts hold tags, so they reach the palette as Content: a plain string there is
parsed as markup (a tag `[@click=app.quit]` would be a live action)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from paperreader.ui.screens.main import SORTS, MainScreen


def commands(screen: MainScreen) -> list[tuple[str, str, Callable[[], object]]]:
    """(name, help, callback) for every command the palette offers."""
    actions = [
        ("Search", "Focus the search bar  (/)", screen.action_search),
        ("Bookmark", "Bookmark or unbookmark the paper  (b)", screen.action_bookmark),
        ("Cycle read state", "Unread → reading → read  (r)", screen.action_cycle_state),
        ("Edit tags", "Set the paper's tags  (t)", screen.action_tags),
        ("Edit note", "Edit the note here  (n)", screen.action_note),
        ("Edit note in $EDITOR", "Edit the note in your editor  (e)", screen.action_edit_external),
        ("Open in browser", "Open the paper's page  (o)", screen.action_open_link),
        ("Copy link / BibTeX / id", "Copy to the clipboard  (y)", screen.action_copy),
        ("Similar papers", "Papers like this one  (m)", screen.action_similar),
        (
            "Undo",
            "Undo the last bookmark, read state, tags or note change  (u)",
            screen.action_undo,
        ),
        ("Redo", "Redo what was undone  (U)", screen.action_redo),
        ("Next unread paper", "Move to the next unread paper  (J)", screen.action_next_unread),
        (
            "Save this search under a name...",
            "Keep its query and sort as a view in the view list  (S)",
            screen.action_save_view,
        ),
        (
            "Mark all read here",
            "Mark every unread paper of this view read, after asking  (A)",
            screen.action_mark_all_read,
        ),
        (
            "Accept suggestion",
            "Search for the “Did you mean” query  (ctrl+y)",
            screen.action_accept_suggestion,
        ),
        (
            "Choose view",
            "All, bookmarked, unread, new, for you, saved views, by tag  (f)",
            screen.action_choose_view,
        ),
        ("Keys", "Show every key  (?)", screen.action_help),
        (
            "Fetch today's Hugging Face papers",
            "Add the latest Daily Papers list to the library",
            screen.action_fetch_hf,
        ),
        ("Fetch from arXiv...", "Add the papers an arXiv query finds", screen.action_fetch_arxiv),
        (
            "Import a file...",
            "Add the papers of a JSONL, BibTeX... file",
            screen.action_import_file,
        ),
    ]
    for sort in SORTS:
        actions.append(
            (f"Sort: {sort}", f"Sort the list by {sort}", partial(screen.set_sort, sort))
        )
    for key, label in screen.views():  # labels are safe: views() strips tags
        actions.append((f"View: {label}", f"Show {label.lower()}", partial(screen.set_view, key)))
    return actions


class PaperCommands(Provider):
    def _main(self) -> MainScreen | None:
        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    async def discover(self) -> Hits:
        main = self._main()
        if main is None:
            return
        for name, help_text, callback in commands(main):
            yield DiscoveryHit(Content(name), callback, text=name, help=Content(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        main = self._main()
        if main is None:
            return
        matcher = self.matcher(query)
        for name, help_text, callback in commands(main):
            score = matcher.match(name)
            if score > 0:
                shown = highlight(matcher, name)
                yield Hit(score, shown, callback, text=name, help=Content(help_text))  # type: ignore[arg-type]


def highlight(matcher: Matcher, name: str) -> Content:
    """Matcher.highlight without its markup parsing: the letters the query matched, styled."""
    content = Content(name)
    score, offsets = matcher.fuzzy_search.match(matcher.query, name)
    if score:
        for offset in offsets:
            if not name[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
