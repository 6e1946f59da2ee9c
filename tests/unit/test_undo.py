"""Undo history for bookmark, read state, tags and notes, applied through the library."""

from __future__ import annotations

import copy

from paperreader.core.models import ReadState, UserData
from paperreader.core.undo import UndoHistory


def _user(**kw: object) -> UserData:
    return UserData(paper_id="p", **kw)  # type: ignore[arg-type]


def test_undo_redo_order_and_limit() -> None:
    history = UndoHistory(limit=3)
    assert history.undo() is None and history.redo() is None
    states = [_user(tags=[str(n)]) for n in range(5)]
    for n in range(4):
        history.record("p", states[n], states[n + 1], f"tag {n}")
    assert len(history) == 3  # the oldest change fell off
    entry = history.undo()
    assert entry is not None and entry.label == "tag 3" and entry.before.tags == ["3"]
    assert history.redo() is entry
    assert [history.undo().label for _ in range(3)] == ["tag 3", "tag 2", "tag 1"]
    assert history.undo() is None
    history.record("p", states[0], _user(bookmarked=True), "bookmark")
    assert history.redo() is None  # a new change drops what was undone
    assert history.peek().label == "bookmark"


def test_entries_are_copies_and_no_op_changes_are_skipped() -> None:
    history = UndoHistory()
    before = _user(tags=["a"])
    after = copy.deepcopy(before)
    history.record("p", before, after, "nothing")
    assert len(history) == 0
    after.tags.append("b")
    history.record("p", before, after, "tag b")
    after.tags.append("c")  # the caller's object changes on
    assert history.undo().after.tags == ["a", "b"]


def test_undo_through_the_library(library) -> None:  # type: ignore[no-untyped-def]
    paper_id = library.search("", limit=1).hits[0].id
    history = UndoHistory()
    steps = [
        ("bookmark", lambda: library.toggle_bookmark(paper_id)),
        ("read", lambda: library.set_state(paper_id, ReadState.READ)),
        ("tag", lambda: library.add_tags(paper_id, ["llm"])),
        ("note", lambda: library.set_note(paper_id, "first words")),
        ("note", lambda: library.set_note(paper_id, "second words")),
    ]
    for label, act in steps:
        before = library.user(paper_id)
        history.record(paper_id, before, act(), label)
    assert library.user(paper_id).note.text == "second words"
    entry = history.undo()
    library.restore_user(entry.paper_id, entry.before)
    assert library.user(paper_id).note.text == "first words"
    while (entry := history.undo()) is not None:
        library.restore_user(entry.paper_id, entry.before)
    user = library.user(paper_id)
    assert (user.bookmarked, user.state, user.tags, user.note) == (
        False,
        ReadState.UNREAD,
        [],
        None,
    )
    assert library.search("is:bookmarked", limit=5).total == 0
    entry = history.redo()
    library.restore_user(entry.paper_id, entry.after)
    assert library.user(paper_id).bookmarked
    assert [h.id for h in library.search("is:bookmarked", limit=5).hits] == [paper_id]
