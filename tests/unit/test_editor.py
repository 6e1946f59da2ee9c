"""The one editor launcher ($VISUAL / $EDITOR) shared by the command line and the reader."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

from paperreader.cli import main
from paperreader.editor import EditorError, edit_text, editor_command


def fake_editor(tmp_path: Path, body: str) -> str:
    """A command running a tiny Python editor; the file it was given is `path` in `body`."""
    script = tmp_path / "fake editor.py"  # a space: the command is split, never given a shell
    script.write_text("import sys, shutil\npath = sys.argv[1]\n" + body, encoding="utf-8")
    return f'{sys.executable} "{script}"'


def test_the_file_ends_with_a_newline_and_the_text_comes_back_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen.txt"
    monkeypatch.setenv("VISUAL", fake_editor(tmp_path, f"shutil.copy(path, {str(seen)!r})\n"))
    assert edit_text("line one\nline two") == "line one\nline two"  # untouched: unchanged
    assert seen.read_bytes() == b"line one\nline two\n"
    assert edit_text("") == ""
    assert seen.read_bytes() == b""  # no note yet: an empty file, not an empty line
    assert edit_text("ends well\n") == "ends well\n"  # no second newline
    assert seen.read_bytes() == b"ends well\n"


def test_visual_before_editor_and_the_command_is_split_like_a_shell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDITOR", "nano")
    monkeypatch.setenv("VISUAL", "code --wait")
    assert editor_command() == ["code", "--wait"]
    monkeypatch.setenv("VISUAL", "")
    assert editor_command() == ["nano"]
    monkeypatch.setenv("EDITOR", "'/opt/My Editor/ed' -x")
    assert editor_command() == ["/opt/My Editor/ed", "-x"]


def test_a_missing_editor_is_one_line_and_never_enters_the_suspend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "/nonexistent/vim")
    entered: list[bool] = []

    @contextlib.contextmanager
    def around():  # type: ignore[no-untyped-def]
        entered.append(True)
        yield

    with pytest.raises(EditorError) as caught:
        edit_text("x", around=around)
    assert str(caught.value).startswith("the editor `/nonexistent/vim` could not be started: ")
    assert "\n" not in str(caught.value) and entered == []


def test_cli_note_edit(
    library_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    lib = ["--library", str(library_path)]
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", fake_editor(tmp_path, "open(path, 'a').write('mine\\n')\n"))
    assert main(["note", "gptq", "--set", "first", *lib]) == 0
    assert main(["note", "gptq", "--edit", *lib]) == 0
    capsys.readouterr()
    assert main(["note", "gptq", *lib]) == 0
    assert capsys.readouterr().out == "first\nmine\n"
    monkeypatch.setenv("EDITOR", "/nonexistent/vim")
    assert main(["note", "gptq", "--edit", *lib]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("paperreader: the editor `/nonexistent/vim` could not be started")
    main(["note", "gptq", *lib])
    assert capsys.readouterr().out == "first\nmine\n"
