"""The real terminal: hostile paper text never reaches it, nothing in it runs as an action, and
SIGTERM/SIGHUP leave the terminal as they found it. Runs `python -m paperreader` in a pty."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from paperreader.core.library import Library
from paperreader.core.models import Paper

from .conftest import child_env
from .hostile import HOSTILE, MARKUP, hostile_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

# Bytes that must never be written to the terminal, whatever the papers hold.
FORBIDDEN_BYTES = {
    "OSC 52 (clipboard)": b"\x1b]52",
    "OSC 0 (title)": b"\x1b]0;",
    "OSC 8 link to the payload": b"evil.example",
    "RIS (reset)": b"\x1bc",
    "clipboard payload": b"cm0gLXJmIH4K",
    "title payload": b"pwned title",
    "DCS": b"\x1bP1$r",
    **{f"U+{ord(c):04X}": c.encode() for c in "\u202e\u202c\u2066\u2069\u200f\u200e\u061c"},
    **{f"U+{ord(c):04X}": c.encode() for c in "\u200b\u200c\u200d\u2060\ufeff"},
    **{f"C1 {c:#x}": chr(c).encode() for c in (0x80, 0x85, 0x8D, 0x90, 0x9B, 0x9C, 0x9D)},
    "tag characters": "\U000e0041".encode(),
}
ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_ON, MOUSE_OFF = b"\x1b[?1000h", b"\x1b[?1000l"


@pytest.fixture
def hostile_library(library_path: Path) -> Path:
    """Papers whose text goes in raw through add_papers (no importer cleaned it): the display
    must strip it. They are dated in the future so they head the list."""
    with Library(library_path) as lib:
        papers = [
            Paper(
                id=f"hostile-{i}",
                title=f"{MARKUP} {hostile_text(f'title{i}')}",
                authors=[hostile_text("author"), f"{HOSTILE['osc52-clipboard']}Eve"],
                abstract=f"{MARKUP}\n{hostile_text('abstract')}\n{HOSTILE['unclosed-osc']}",
                published=date(2099, 1, 1 + i),
                venue=hostile_text("venue"),
                categories=[HOSTILE["reset"] + "cs.CL"],
                url="https://example.org/\x1b]52;c;cm0gLXJmIH4K\x07",
            )
            for i in range(3)
        ]
        lib.add_papers(papers)
        lib.set_note("hostile-0", f"pasted from the web: {hostile_text('note')}")
        lib.add_tags("hostile-1", ["x\x1b]52;c;cm0gLXJmIH4K\x07y"])
    return library_path


class Terminal:
    """`python -m paperreader --library ROOT` on a pseudo-terminal; keeps every byte it writes."""

    def __init__(self, root: Path, rows: int = 40, cols: int = 120) -> None:
        self.output = b""
        pid, fd = os.forkpty()
        if pid == 0:  # the child: become the app
            env = child_env()
            env.update(TERM="xterm-256color", COLORTERM="truecolor")
            env.pop("NO_COLOR", None)
            # pytest-xdist workers set COLUMNS=80 LINES=24, which win over the pty's size.
            env.pop("COLUMNS", None)
            env.pop("LINES", None)
            try:
                os.execvpe(
                    sys.executable,
                    [sys.executable, "-m", "paperreader", "--library", str(root)],
                    env,
                )
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.status: int | None = None
        self.resize(rows, cols)

    def resize(self, rows: int, cols: int) -> None:
        # The kernel sends SIGWINCH to the app, as a real terminal window would.
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read(self, seconds: float) -> bytes:
        got = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the app closed the terminal
                break
            if not chunk:
                break
            got += chunk
        self.output += got
        return got

    def wait_for(self, needle: bytes, seconds: float = 20) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if needle in self.output:
                return True
            self.read(0.1)
            if not self.alive():
                break
        return needle in self.output

    def press(self, *keys: str | bytes, pause: float = 0.15) -> None:
        for key in keys:
            os.write(self.fd, key.encode() if isinstance(key, str) else key)
            self.read(pause)

    def click(self, x: int, y: int) -> None:
        self.press(f"\x1b[<0;{x};{y}M", f"\x1b[<0;{x};{y}m", pause=0.05)

    def alive(self) -> bool:
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = status
        return False

    def finish(self, seconds: float = 10) -> int | None:
        """Read until the app exits; returns its exit status (None if it did not exit)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.alive():
            self.read(0.1)
        self.read(0.2)
        return self.status

    def close(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal_factory() -> Iterator:  # type: ignore[type-arg]
    opened: list[Terminal] = []

    def start(root: Path, rows: int = 40, cols: int = 120) -> Terminal:
        term = Terminal(root, rows, cols)
        opened.append(term)
        if not term.wait_for(b"palette", 30):
            pytest.fail(f"the app did not start: {term.output[-2000:]!r}")
        term.read(0.5)
        return term

    yield start
    for term in opened:
        term.close()


def _assert_clean(output: bytes) -> None:
    leaks = {
        name: output[max(0, output.find(seq) - 80) : output.find(seq) + 80]
        for name, seq in FORBIDDEN_BYTES.items()
        if seq in output
    }
    assert not leaks, f"reached the terminal: {leaks}"
    assert b"Traceback" not in output and b"MarkupError" not in output


def _assert_restored(output: bytes) -> None:
    assert output.rfind(ALT_SCREEN_OFF) > output.rfind(ALT_SCREEN_ON) >= 0, "still alt screen"
    assert output.rfind(MOUSE_OFF) > output.rfind(MOUSE_ON) >= 0, "mouse reporting left on"


def _exited_cleanly(status: int | None) -> bool:
    return status is not None and os.WIFEXITED(status)


def test_hostile_text_never_reaches_the_terminal(hostile_library: Path, terminal_factory) -> None:  # type: ignore[no-untyped-def]
    term = terminal_factory(hostile_library)
    # The list, the detail pane of each hostile paper, the help, search and the views.
    term.press("g", "\r", "j", "\r", "j", "\r", "\t", "\t", "\x1b", "g")
    term.press("m", "\x1b", "?", "\x1b", "/", *"title0", "\r", "\x1b", "f", "\x1b")
    for y in range(2, 6):  # click where titles are drawn: a parsed @click would quit
        for x in range(2, 60, 12):
            term.click(x, y)
    for rows, cols in [(24, 80), (1, 1), (5, 20), (100, 300), (12, 40), (40, 120)]:
        term.resize(rows, cols)
        term.press("j", "k", pause=0.1)
    term.read(1.0)
    assert term.alive(), "the app quit or crashed"
    output = term.output
    _assert_clean(output)
    assert b"title0-osc52-clipboard:" in output, "the hostile titles were not shown"
    assert b"abstract-reset:" in output, "the hostile abstract was not shown"
    assert b"[@click=app.quit]" in output, "markup-like text was not shown literally"
    assert b"[bold]bold?[/bold]" in output

    os.kill(term.pid, signal.SIGTERM)
    status = term.finish()
    assert _exited_cleanly(status), f"SIGTERM killed the app (status {status})"
    _assert_clean(term.output)
    _assert_restored(term.output)


def test_sighup_restores_the_terminal(library_path: Path, terminal_factory) -> None:  # type: ignore[no-untyped-def]
    term = terminal_factory(library_path)
    term.press("j", "j", "\r")
    os.kill(term.pid, signal.SIGHUP)
    status = term.finish()
    assert _exited_cleanly(status), f"SIGHUP killed the app (status {status})"
    _assert_restored(term.output)


def test_pending_note_is_saved_on_sigterm(library_path: Path, terminal_factory) -> None:  # type: ignore[no-untyped-def]
    with Library(library_path) as lib:
        first = lib.search("", limit=1).hits[0].id
    term = terminal_factory(library_path)
    term.press("g", "a", pause=0.5)  # a: the note
    term.press(*"typed just before the kill", pause=0.05)
    term.read(0.5)
    os.kill(term.pid, signal.SIGTERM)
    status = term.finish()
    assert _exited_cleanly(status)
    _assert_restored(term.output)
    with Library(library_path) as lib:
        note = lib.user(first).note
        assert note is not None and "typed just before the kill" in note.text
