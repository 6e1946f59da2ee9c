"""Saving never loses a note: crashes, failing disks, two instances, hand edits, backups."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from paperreader.core import fsutil
from paperreader.core.errors import StoreError
from paperreader.core.library import Library
from paperreader.core.models import Note, ReadState
from paperreader.core.store import KEEP_BACKUPS, Store, now

from .conftest import child_env, temp_files

PAPER = "2401.00001"

# The child saves state i in a loop: a note of ~256 KB (so a kill often lands mid-write) whose
# every line names i, and the tag `t<i>`. A torn write shows as a note/tag mismatch or bad YAML.
SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from paperreader.core.models import Note
    from paperreader.core.store import Store, now

    root, start, paper = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    store = Store(root)
    print("ready", flush=True)

    def state(i):
        def change(user):
            stamp = now()
            user.note = Note(text=f"state {i} line\\n" * 16000, created=stamp, updated=stamp)
            user.tags = [f"t{i}"]
        return change

    i = start
    while True:
        i += 1
        store.update(paper, state(i))
    """
)


def _state_of(store: Store) -> int:
    """The state number the file holds; fails the test if the file is torn or inconsistent."""
    user = store.get(PAPER)
    if user.note is None:
        return 0
    first = user.note.text.split("\n", 1)[0]
    number = int(first.split()[1])
    assert user.note.text == f"state {number} line\n" * 16000, "a torn note"
    assert user.tags == [f"t{number}"], "note and tags from different saves"
    return number


def test_sigkill_mid_save_leaves_old_or_new_state(tmp_path: Path, long_run: bool) -> None:
    root = tmp_path / "store"
    Store(root)
    runs = 100 if long_run else 20
    rng = random.Random(6)
    last = 0
    torn_temps = 0
    for _ in range(runs):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(root), str(last), PAPER],
            stdout=subprocess.PIPE,
            env=child_env(),
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.06))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        torn_temps += bool(temp_files(root))
        state = _state_of(Store(root))  # "the next start": loads, and cleans up temp files
        assert state >= last, "a save went backwards"
        assert not temp_files(root), "temp files left after the next start"
        last = state
    assert last > 0, "the child never completed a save: the test proved nothing"
    print(f"{runs} kills, {torn_temps} left a temp file (killed mid-write), last state {last}")


# -- a save that fails ------------------------------------------------------------------------


def _enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("call", ["write", "fsync", "replace"])
def test_disk_full_leaves_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    store = Store(tmp_path / "store")
    store.update(PAPER, lambda u: setattr(u, "tags", ["kept"]))
    before = store.path_for(PAPER).read_bytes()
    monkeypatch.setattr(fsutil.os, call, _enospc)
    with pytest.raises(StoreError, match="No space left on device") as info:
        store.update(PAPER, lambda u: setattr(u, "tags", ["lost"]))
    monkeypatch.undo()
    assert str(store.path_for(PAPER)) in str(info.value)
    assert "unchanged" in str(info.value)
    assert store.path_for(PAPER).read_bytes() == before
    assert not temp_files(store.root)


def test_short_writes_still_write_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(fsutil.os, "write", short)
    store = Store(tmp_path / "store")
    stamp = now()
    store.update(PAPER, lambda u: setattr(u, "note", Note("x" * 5000, stamp, stamp)))
    monkeypatch.undo()
    assert store.get(PAPER).note.text == "x" * 5000


@pytest.mark.parametrize("text", ["lone \ud800 surrogate", "\udfff", "ok\nthen \udc80"])
def test_unencodable_note_leaves_file_unchanged(library: Library, text: str) -> None:
    paper = library.search("", limit=1).hits[0].id
    library.set_note(paper, "my note")
    path = library.store.path_for(paper)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="cannot save"):
        library.set_note(paper, text)
    assert path.read_bytes() == before
    assert library.user(paper).note.text == "my note"


def test_tiny_tmpfs_disk_full(tmp_path: Path) -> None:
    """A real full disk, where we may mount one (root on Linux)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        store = Store(mount / "store")
        store.update(PAPER, lambda u: setattr(u, "tags", ["kept"]))
        before = store.path_for(PAPER).read_bytes()
        stamp = now()
        big = Note("n" * 200_000, stamp, stamp)
        with pytest.raises(StoreError, match="unchanged"):
            store.update(PAPER, lambda u: setattr(u, "note", big))
        assert store.path_for(PAPER).read_bytes() == before
        assert not temp_files(store.root)
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# -- two instances ------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from paperreader.core.library import Library

    root, name, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    papers = sys.argv[4].split(",")
    lib = Library(root, seed=False)
    shared, own = papers[0], papers[1 if name == "a" else 2]
    for i in range(rounds):
        lib.add_tags(shared, [f"{name}{i}"])
        lib.append_note(shared, f"{name} line {i}")
        lib.add_tags(own, [f"{name}{i}"])
        if i % 5 == 0:
            lib.toggle_bookmark(own)
    lib.close()
    """
)


def test_two_processes_lose_no_change(library_path: Path, long_run: bool) -> None:
    with Library(library_path) as lib:
        papers = [h.id for h in lib.search("", limit=3).hits]
    rounds = 60 if long_run else 10
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(library_path), name, str(rounds), ",".join(papers)],
            env=child_env(),
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err.decode()
    with Library(library_path) as lib:
        shared = lib.user(papers[0])
        expected = {f"{n}{i}" for n in "ab" for i in range(rounds)}
        assert set(shared.tags) == expected
        lines = set(shared.note.text.split("\n\n"))
        assert lines == {f"{n} line {i}" for n in "ab" for i in range(rounds)}
        for name, paper in (("a", papers[1]), ("b", papers[2])):
            own = lib.user(paper)
            assert set(own.tags) == {f"{name}{i}" for i in range(rounds)}
            assert own.bookmarked == (len(range(0, rounds, 5)) % 2 == 1)
        # the index agrees with the store (both instances' updates reached it)
        for name, own in (("a", papers[1]), ("b", papers[2])):
            hits = lib.search(f'tags:"{name}{rounds - 1}"').hits
            assert {h.id for h in hits} == {papers[0], own}


def test_two_library_objects_interleaved(library_path: Path) -> None:
    one, two = Library(library_path), Library(library_path)
    try:
        paper = one.search("", limit=1).hits[0].id
        one.users(), two.users()  # both cache the (empty) state
        one.add_tags(paper, ["from-one"])
        two.set_bookmark(paper)
        two.add_tags(paper, ["from-two"])
        one.set_state(paper, ReadState.READING)
        user = one.user(paper)
        assert user.tags == ["from-one", "from-two"]
        assert user.bookmarked and user.state is ReadState.READING
    finally:
        one.close()
        two.close()


def test_note_conflict_keeps_both_texts(library_path: Path) -> None:
    one, two = Library(library_path), Library(library_path)
    try:
        paper = one.search("", limit=1).hits[0].id
        one.set_note(paper, "first draft")
        base = one.user(paper).note  # editor in instance one opens the note
        time.sleep(1.1)  # note times are kept to the second
        two.set_note(paper, "written in the other window", base=two.user(paper).note)
        one.set_note(paper, "my edit of the draft", base=base)
        text = one.user(paper).note.text
        assert "my edit of the draft" in text
        assert "written in the other window" in text
    finally:
        one.close()
        two.close()


# -- hand edits ---------------------------------------------------------------------------------


def test_hand_edit_is_never_overwritten_from_stale_state(library: Library) -> None:
    paper = library.search("", limit=1).hits[0].id
    library.set_note(paper, "written in the app")
    library.add_tags(paper, ["app"])
    library.users()  # the app's cached (soon stale) view
    path = library.store.path_for(paper)
    text = path.read_text()
    text = text.replace("written in the app", "rewritten by hand in vim")
    text = text.replace("- app", "- app\n- by-hand")
    text += "priority: high\nseen_at: [conference, reading group]\n"
    path.write_text(text)

    library.set_bookmark(paper)
    library.cycle_state(paper)
    library.add_tags(paper, ["later"])

    user = library.user(paper)
    assert user.note.text == "rewritten by hand in vim"
    assert user.tags == ["app", "by-hand", "later"]
    assert user.bookmarked and user.state is ReadState.READING
    saved = path.read_text()
    assert "priority: high" in saved, "a key added by hand was dropped"
    assert "reading group" in saved
    # the index follows the file, not the stale cache
    assert [h.id for h in library.search("vim").hits] == [paper]


def test_hand_deleted_file_is_not_resurrected(library: Library) -> None:
    paper = library.search("", limit=1).hits[0].id
    library.set_note(paper, "temporary")
    library.store.path_for(paper).unlink()
    library.add_tags(paper, ["new"])
    user = library.user(paper)
    assert user.note is None and user.tags == ["new"]


# -- backups ------------------------------------------------------------------------------------


def test_backup_and_restore(library: Library) -> None:
    papers = [h.id for h in library.search("", limit=3).hits]
    library.set_note(papers[0], "precious")
    library.set_bookmark(papers[1])
    backup = library.backup("before-import")
    assert backup.parent == library.root / "backups"
    assert backup.name.endswith("-before-import")
    assert sorted(p.name for p in backup.iterdir()) == sorted(
        library.store.path_for(p).name for p in papers[:2]
    )

    library.set_note(papers[0], "overwritten")
    library.set_bookmark(papers[1], False)
    library.set_bookmark(papers[2])

    assert library.restore_backup(backup.name) == 2
    assert library.user(papers[0]).note.text == "precious"
    assert library.user(papers[1]).bookmarked
    assert not library.user(papers[2]).bookmarked
    assert {h.id for h in library.search("", view="bookmarked").hits} == {papers[1]}
    assert [h.id for h in library.search("precious").hits] == [papers[0]]
    # the state before the restore was itself backed up
    before_restore = [n for n in library.backups() if "before-restore" in n]
    assert len(before_restore) == 1
    restored_away = library.root / "backups" / before_restore[0]
    assert len(list(restored_away.iterdir())) == 2


def test_backups_keep_the_last_ten(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.update(PAPER, lambda u: setattr(u, "bookmarked", True))
    made = [store.backup(f"step {i}") for i in range(KEEP_BACKUPS + 3)]
    assert [p.name for p in store.backups()] == [p.name for p in made[-KEEP_BACKUPS:]]


def test_unknown_backup_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    kept = store.backup("x")
    with pytest.raises(StoreError, match=kept.name):
        store.restore("no-such-backup")
    with pytest.raises(StoreError):
        store.restore("../store")


def test_half_made_backup_is_cleaned_at_start(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    partial = store.backups_root / ".20260101-000000-000000-x.tmp-partial"
    partial.mkdir(parents=True)
    (partial / "a.yaml").write_text("id: a\n")
    Store(tmp_path / "store")
    assert not partial.exists()
    assert store.backups() == []
