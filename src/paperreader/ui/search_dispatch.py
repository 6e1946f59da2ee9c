"""What the search bar asks for, run in a thread: the screen says what to search, its thread
worker calls `run`, and the message `run` returns (SearchDone / SearchFailed) goes back to the
screen, which shows it only while `is_current`."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace

from textual.message import Message

from paperreader.core.errors import PaperreaderError
from paperreader.core.library import Library
from paperreader.ui.messages import SearchDone, SearchFailed
from paperreader.ui.widgets.paper_list import PAGE_SIZE, ListQuery

# While typing, a last word of one or two letters does not narrow the search yet: its prefix
# matches too many words to mean anything (and expanding it is the slowest search there is).
_SHORT_LAST_WORD = re.compile(r"(?:^|\s)[^\W\d_]{1,2}$")


def typing_text(text: str) -> str:
    found = _SHORT_LAST_WORD.search(text)
    return text[: found.start()].rstrip() if found else text


def unexpected(exc: BaseException) -> str:
    return f"Unexpected error ({type(exc).__name__}: {exc}); please report it."


class SearchDispatch:
    """One search at a time, the newest asked for; older ones are skipped or dropped."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._lock = threading.Lock()
        self.asked: ListQuery | None = None  # the query whose results the list should show

    def ask(self, state: ListQuery, *, partial: bool = False) -> ListQuery:
        """The query to run for what the bar holds now; it becomes the current one."""
        query = state
        if partial:
            query = replace(query, text=typing_text(query.text), partial=True)
        if query.sort == "relevance" and not query.text.strip():
            # What the top bar says (effective_sort): with a view and no words, the index
            # would rank the view's filter terms, an order that means nothing.
            query = replace(query, sort="newest")
        self.asked = query
        return query

    def is_current(self, query: ListQuery) -> bool:
        return query == self.asked

    def run(
        self,
        query: ListQuery,
        keep_cursor: bool,
        cancelled: Callable[[], bool],
        hint_only: bool = False,
    ) -> Message | None:
        """Search (in a worker's thread); None when a newer search made this one stale.
        A thread cannot be stopped, so stale searches are skipped here instead of running
        alongside (and slowing) the newest one."""
        with self._lock:
            if cancelled() or not self.is_current(query):
                return None
            try:
                result = self.library.search(
                    query.text,
                    limit=PAGE_SIZE,
                    sort=query.sort,
                    view=query.view,
                    partial_last=query.partial,
                )
            except PaperreaderError as exc:
                return SearchFailed(query, str(exc))
            except Exception as exc:  # a bug must cost one search, never the session
                return SearchFailed(query, unexpected(exc))
        return SearchDone(query, result, keep_cursor, hint_only)


# Query errors that typing more cannot mend: the reader shows them at once, even mid-word.
LASTING_ERRORS = ("unknown field", "unmatched")


def lasting(error: str) -> bool:
    return error.startswith(LASTING_ERRORS)
