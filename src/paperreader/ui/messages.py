"""Typed messages from the reader's thread workers to its screen.

A worker posts one (`post_message` is thread-safe); the screen handles it in its own turn.
Stale results are dropped in two ways, neither a sequence counter: a message still queued
is replaced by a newer one of its kind (`can_replace`, as toolong does), and a result whose
query is no longer the one asked for is ignored (SearchDispatch.is_current).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from paperreader.core.models import SearchResult, UserData
from paperreader.core.views import Counts
from paperreader.ui.widgets.detail import PaperView
from paperreader.ui.widgets.paper_list import ListQuery


@dataclass
class SearchDone(Message):
    """A search's first page."""

    query: ListQuery
    result: SearchResult
    keep_cursor: bool = False
    hint_only: bool = False  # a typing pause's search: nothing found stays as shown

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, (SearchDone, SearchFailed))


@dataclass
class SearchFailed(Message):
    """A search that could not run: `error` is one line saying why."""

    query: ListQuery
    error: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, (SearchDone, SearchFailed))


@dataclass
class DetailReady(Message):
    """What the detail pane shows for one paper."""

    view: PaperView

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DetailReady)


@dataclass
class UserSaved(Message):
    """A change to a paper's data is saved: `note` is what to tell the user (may be empty)."""

    user: UserData
    note: str = ""


@dataclass
class Notice(Message):
    """A line for the user from a worker."""

    text: str
    severity: str = "information"
    title: str = ""


@dataclass
class CountsReady(Message):
    """Every view's unread and new counts, by view name."""

    counts: dict[str, Counts]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CountsReady)
