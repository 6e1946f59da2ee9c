"""Undo for the user's changes while the reader runs: bookmark, read state, tags, note.

The history only remembers: each entry holds a paper's data before and after one change. The
caller applies `entry.before` (undo) or `entry.after` (redo) through the library
(`Library.restore_user`), which saves it like any other change. Nothing here touches disk.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from dataclasses import dataclass

from paperreader.core.models import UserData


@dataclass(frozen=True)
class UndoEntry:
    paper_id: str
    before: UserData
    after: UserData
    label: str  # what the change was, for "undid: bookmark 2403.01234"


class UndoHistory:
    """The last `limit` changes, newest last; a new change after an undo drops the redos."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = max(1, limit)
        self._done: deque[UndoEntry] = deque(maxlen=self.limit)
        self._undone: list[UndoEntry] = []
        self._lock = threading.Lock()

    def record(self, paper_id: str, before: UserData, after: UserData, label: str) -> None:
        """Remember one change (copies are kept: the caller may go on changing its objects).
        A change that changed nothing is not recorded."""
        if _same(before, after):
            return
        entry = UndoEntry(paper_id, copy.deepcopy(before), copy.deepcopy(after), label)
        with self._lock:
            self._done.append(entry)
            self._undone.clear()

    def undo(self) -> UndoEntry | None:
        """The newest change, to be undone by applying its `before`; None when none is left."""
        with self._lock:
            if not self._done:
                return None
            entry = self._done.pop()
            self._undone.append(entry)
            return entry

    def redo(self) -> UndoEntry | None:
        """The last undone change, to be done again by applying its `after`."""
        with self._lock:
            if not self._undone:
                return None
            entry = self._undone.pop()
            self._done.append(entry)
            return entry

    def peek(self) -> UndoEntry | None:
        with self._lock:
            return self._done[-1] if self._done else None

    def can_undo(self) -> bool:
        return bool(self._done)

    def can_redo(self) -> bool:
        return bool(self._undone)

    def clear(self) -> None:
        with self._lock:
            self._done.clear()
            self._undone.clear()

    def __len__(self) -> int:
        return len(self._done)


def _same(a: UserData, b: UserData) -> bool:
    note_a = a.note.text if a.note else None
    note_b = b.note.text if b.note else None
    return (a.bookmarked, a.state, list(a.tags), note_a) == (
        b.bookmarked,
        b.state,
        list(b.tags),
        note_b,
    )
