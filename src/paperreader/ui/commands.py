"""The command palette provider: every action of the reader, every view and sort."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

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
            "Accept suggestion",
            "Search for the “Did you mean” query  (ctrl+y)",
            screen.action_accept_suggestion,
        ),
        (
            "Choose view",
            "All, bookmarked, unread, has a note, by tag  (f)",
            screen.action_choose_view,
        ),
        ("Keys", "Show every key  (?)", screen.action_help),
    ]
    for sort in SORTS:
        actions.append(
            (f"Sort: {sort}", f"Sort the list by {sort}", partial(screen.set_sort, sort))
        )
    for key, label in screen.views():
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
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        main = self._main()
        if main is None:
            return
        matcher = self.matcher(query)
        for name, help_text, callback in commands(main):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
