"""The YAML store's guarantees, on real files in temp dirs."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
import yaml

from paperreader.core.errors import StoreError
from paperreader.core.models import ReadState
from paperreader.core.store import Store


def test_round_trip_reads_like_a_person_wrote_it(tmp_path: Path) -> None:
    store = Store(tmp_path)

    def change(user):  # type: ignore[no-untyped-def]
        user.bookmarked = True
        user.state = ReadState.READING
        user.tags = ["b", "a"]

    store.update("2401.00001", change, title="A Title")
    text = store.path_for("2401.00001").read_text()
    assert (
        text.index("id:") < text.index("title:") < text.index("bookmarked:") < text.index("state:")
    )
    data = yaml.safe_load(text)
    assert data["bookmarked"] is True and data["state"] == "reading"
    again = store.get("2401.00001")
    assert again.bookmarked and again.state is ReadState.READING and again.tags == ["a", "b"]


def test_notes_are_block_text_and_survive_hand_edits(tmp_path: Path) -> None:
    store = Store(tmp_path)
    from paperreader.core.models import Note
    from paperreader.core.store import now

    store.update("x1", lambda u: setattr(u, "note", Note("line one\nline two", now(), now())))
    path = store.path_for("x1")
    assert "text: |-\n    line one\n    line two" in path.read_text()
    path.write_text(path.read_text().replace("line two", "line two, edited by hand"))
    store.update("x1", lambda u: setattr(u, "bookmarked", True))
    user = store.get("x1")
    assert user.note is not None and user.note.text.endswith("edited by hand")
    assert user.bookmarked


def test_empty_data_removes_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.update("x1", lambda u: setattr(u, "bookmarked", True))
    assert store.path_for("x1").exists()
    store.update("x1", lambda u: setattr(u, "bookmarked", False))
    assert not store.path_for("x1").exists()


def test_write_is_atomic_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.update("x1", lambda u: setattr(u, "tags", ["keep"]))
    before = store.path_for("x1").read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StoreError, match="could not save"):
        store.update("x1", lambda u: setattr(u, "tags", ["lost"]))
    monkeypatch.undo()
    assert store.path_for("x1").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_unencodable_note_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    from paperreader.core.models import Note
    from paperreader.core.store import now

    store = Store(tmp_path)
    store.update("x1", lambda u: setattr(u, "note", Note("fine", now(), now())))
    before = store.path_for("x1").read_bytes()
    with pytest.raises(StoreError, match="cannot save"):
        store.update("x1", lambda u: setattr(u, "note", Note("bad \ud800", now(), now())))
    assert store.path_for("x1").read_bytes() == before


@pytest.mark.parametrize(
    "content, where",
    [
        ("id: x1\nbookmarked: [unclosed\n", ":3:1"),
        ("id: x1\nstate: sideways\n", ":2"),
        ("- just\n- a list\n", ":1"),
        ("", ":1"),
        ("!!python/object/apply:os.system ['echo pwned']\n", ":1:1"),
    ],
)
def test_unparsable_file_is_reported_with_place_and_never_overwritten(
    tmp_path: Path, content: str, where: str
) -> None:
    store = Store(tmp_path)
    path = store.path_for("x1")
    path.write_text(content)
    with pytest.raises(StoreError) as caught:
        store.get("x1")
    assert str(path) + where in str(caught.value)
    with pytest.raises(StoreError):
        store.update("x1", lambda u: setattr(u, "bookmarked", True))
    assert path.read_text() == content
    found, problems = store.scan()
    assert found == {} and len(problems) == 1


def test_one_bad_file_hides_nothing_else(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.update("good", lambda u: setattr(u, "bookmarked", True))
    store.path_for("bad").write_text("id: bad\ntags: {oops\n")
    found, problems = store.scan()
    assert list(found) == ["good"]
    assert "bad.yaml" in str(problems[0])


def _writer(root: str, worker: int, count: int) -> None:
    store = Store(Path(root))
    for i in range(count):
        tag = f"w{worker}-{i}"
        store.update("shared", lambda u, t=tag: setattr(u, "tags", [*u.tags, t]))


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    tags = Store(tmp_path).get("shared").tags
    assert len(tags) == 75
    assert {f"w{w}-{i}" for w in range(3) for i in range(25)} == set(tags)


def test_a_notes_previous_text_is_kept_in_backups(tmp_path: Path) -> None:
    from paperreader.core.models import Note
    from paperreader.core.store import KEEP_NOTE_BACKUPS, now

    store = Store(tmp_path / "store")

    def note(text: str):  # type: ignore[no-untyped-def]
        return lambda u: setattr(u, "note", Note(text=text, created=now(), updated=now()))

    store.update("2403.01234", note("first"))
    assert store.note_backups("2403.01234") == []  # nothing was there before
    store.update("2403.01234", note("second"))
    store.update("2403.01234", lambda u: setattr(u, "bookmarked", True))  # the note unchanged
    backups = store.note_backups("2403.01234")
    assert [p.read_text() for p in backups] == ["first"]
    assert backups[0].parent == tmp_path / "backups" / "notes" / "2403.01234"
    store.update("2403.01234", lambda u: setattr(u, "note", None))  # dropped: kept too
    assert [p.read_text() for p in store.note_backups("2403.01234")] == ["first", "second"]
    for n in range(KEEP_NOTE_BACKUPS + 5):
        store.update("2403.01234", note(f"v{n}"))
    texts = [p.read_text() for p in store.note_backups("2403.01234")]
    assert len(texts) == KEEP_NOTE_BACKUPS and texts[-1] == f"v{KEEP_NOTE_BACKUPS + 3}"
    assert store.backups() == []  # the notes folder is not a store backup
    assert not any(".tmp" in p.name for p in (tmp_path / "backups" / "notes").rglob("*"))
