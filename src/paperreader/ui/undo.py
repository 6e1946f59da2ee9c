"""Undo and redo of the reader's changes (bookmark, read state, tags, note): the history of
core/undo.py, applied through the library. A plain class: the screen calls it from a worker.

Only the fields an entry changed are put back, so a later change to another field (made
here or elsewhere) is kept. A note is put back only while the note on disk is still the one
the change left (`after`): else it was edited since, and undoing would lose that edit.
"""

from __future__ import annotations

import copy

from paperreader.core.library import Library
from paperreader.core.models import UserData
from paperreader.core.undo import UndoEntry, UndoHistory


def _note(user: UserData) -> str:
    return user.note.text if user.note else ""


def changed_fields(entry: UndoEntry) -> list[str]:
    a, b = entry.before, entry.after
    fields = []
    if a.bookmarked != b.bookmarked:
        fields.append("bookmarked")
    if a.state != b.state:
        fields.append("state")
    if list(a.tags) != list(b.tags):
        fields.append("tags")
    if _note(a) != _note(b):
        fields.append("note")
    return fields


class Undoer:
    def __init__(self, library: Library, limit: int = 100) -> None:
        self.library = library
        self.history = UndoHistory(limit)

    def record(self, paper_id: str, before: UserData, after: UserData, label: str) -> None:
        self.history.record(paper_id, before, after, label)

    def undo(self) -> tuple[UserData | None, str]:
        """Undo the newest change: (the paper's data now, what to tell the user)."""
        entry = self.history.undo()
        if entry is None:
            return None, "Nothing to undo."
        return self._apply(entry, entry.before, entry.after, "Undid", redo=False)

    def redo(self) -> tuple[UserData | None, str]:
        entry = self.history.redo()
        if entry is None:
            return None, "Nothing to redo."
        return self._apply(entry, entry.after, entry.before, "Redid", redo=True)

    def _apply(
        self, entry: UndoEntry, target: UserData, expected: UserData, verb: str, *, redo: bool
    ) -> tuple[UserData | None, str]:
        fields = changed_fields(entry)
        current = self.library.user(entry.paper_id)
        if "note" in fields and _note(current) != _note(expected):
            return None, (
                f"Not {'redone' if redo else 'undone'}: the note on {entry.paper_id} was changed since "
                "(here or elsewhere); its earlier texts are in backups/notes/"
            )
        wanted = copy.deepcopy(current)
        for name in fields:
            value = getattr(target, name)
            setattr(wanted, name, copy.deepcopy(value))
        user = self.library.restore_user(entry.paper_id, wanted)
        return user, f"{verb}: {entry.label} ({entry.paper_id})"
