"""Whatever is in the store folder, paperreader reports it clearly and never writes over it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paperreader.core.errors import StoreError
from paperreader.core.library import Library
from paperreader.core.store import Store

from .conftest import child_env

BOMB = (
    "id: x\n"
    + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
        for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
    )
    + "tags: *i\nnote: {text: *i}\n"
)

# name -> (bytes, a fragment the message must hold besides the file name)
CORRUPT: dict[str, tuple[bytes, str]] = {
    "empty": (b"", ":1: the file is empty"),
    "truncated": (b"id: x\nnote:\n  text: 'half a no", ":3:"),
    "all-nul": (b"\x00" * 4096, "NUL"),
    "syntax": (b"id: x\ntags: [a, b\nstate: read\n", ":3:"),
    "not-a-mapping": (b"- id: x\n- tags: [a]\n", "not a mapping"),
    "python-tag": (b"id: !!python/object/apply:os.system ['echo pwned']\n", "python/object"),
    "alias-bomb": (BOMB.encode(), "tags"),
    # 100k `[` crashes an unguarded libyaml (SIGSEGV): tested in a child process below
    "deep-flow": (b"id: x\ntags: " + b"[" * 500, "nested more than"),
    "deep-block": (b"id: x\ntags:\n" + b"- " * 500 + b"x\n", ":3:199: nested more than"),
    "bad-utf8": (b"id: x\nnote: caf\xe9\n", "not UTF-8"),
    "bad-state": (b"id: x\nstate: finished\n", ":2: state"),
    "bad-note": (b"id: x\nnote: [1, 2]\n", ":2: note"),
}


def _write_corrupt(store_dir: Path, name: str) -> Path:
    path = store_dir / f"{name}.yaml"
    path.write_bytes(CORRUPT[name][0])
    return path


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_file_is_reported_and_never_written(tmp_path: Path, name: str) -> None:
    store = Store(tmp_path / "store")
    store.update("good", lambda u: setattr(u, "bookmarked", True))
    path = _write_corrupt(store.root, name)
    before = path.read_bytes()

    found, problems = store.scan()
    assert list(found) == ["good"], "one bad file hid the others"
    assert len(problems) == 1
    message = str(problems[0])
    assert str(path) in message and CORRUPT[name][1] in message, message
    assert "\n" not in message and len(message) < 400

    with pytest.raises(StoreError) as info:
        store.update(name, lambda u: setattr(u, "bookmarked", True))
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_deep_nesting_never_crashes_the_process(tmp_path: Path) -> None:
    """libyaml recurses in C: unguarded, this file kills the interpreter with SIGSEGV, so it is
    read in a child process where a crash fails the test instead of the whole run."""
    path = tmp_path / "store" / "deep.yaml"
    path.parent.mkdir()
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from paperreader.core.store import Store
        root = Path(sys.argv[1])
        deep = ("[" * 100_000, "[" * 60_000 + "]" * 60_000, "{a: " * 60_000, "\\n" + "- " * 60_000)
        for text in deep:
            (root / "deep.yaml").write_text("id: x\\ntags: " + text)
            found, problems = Store(root).scan()
            assert not found and len(problems) == 1, problems
            print(problems[0])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path.parent)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]}"
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    # Our depth guard, or PyYAML's own limit (6.0.4 and later): either way one clean line.
    assert all("deep.yaml:" in line for line in lines)
    assert all("nested more than" in line or "maximum nesting" in line for line in lines)


def test_a_deep_but_harmless_note_still_reads(tmp_path: Path) -> None:
    """The depth guard counts structure, not characters: brackets inside a note are fine."""
    store = Store(tmp_path / "store")
    (store.root / "p.yaml").write_text("id: p\nnote:\n  text: |\n    " + "[{-?:" * 5000 + "\n")
    assert store.get("p").note.text.startswith("[{-?:")


def test_library_opens_with_corrupt_files_and_stays_searchable(library_path: Path) -> None:
    with Library(library_path) as lib:
        papers = [h.id for h in lib.search("", limit=2).hits]
        lib.set_note(papers[0], "findable note")
    store_dir = library_path / "store"
    bad = [_write_corrupt(store_dir, name) for name in sorted(CORRUPT)]
    before = {p: p.read_bytes() for p in bad}
    messages: list[str] = []
    with Library(library_path, on_message=messages.append) as lib:
        assert [h.id for h in lib.search("findable").hits] == [papers[0]]
        assert lib.search("diffusion").total > 0
        lib.users()
        assert len(lib.store_problems) == len(CORRUPT)
        problems = lib.check()
        for path in bad:
            assert any(str(path) in line for line in problems), path
        lib.set_bookmark(papers[1])
        assert lib.user(papers[1]).bookmarked
        lib.sync_store()
    assert {p: p.read_bytes() for p in bad} == before


def test_numeric_id_typed_by_hand_keeps_its_digits(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    (store.root / "2403.10000.yaml").write_text("id: 2403.10000\nbookmarked: true\n")
    found, problems = store.scan()
    assert not problems and list(found) == ["2403.10000"]


def test_a_writer_bug_never_replaces_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every save is read back before it replaces the file: simulate a YAML writer bug."""
    import paperreader.core.store as store_module

    store = Store(tmp_path / "store")
    store.update("p", lambda u: setattr(u, "tags", ["kept"]))
    before = store.path_for("p").read_bytes()
    for broken in ("id: p\ntags: [unclosed\n", "id: p\nbookmarked: false\n", "id: other\n"):
        monkeypatch.setattr(store_module.yaml, "dump", lambda *a, broken=broken, **k: broken)
        with pytest.raises(StoreError, match="cannot save"):
            store.update("p", lambda u: setattr(u, "bookmarked", True))
        assert store.path_for("p").read_bytes() == before
