"""The user's text editor on a temporary file: one launcher for the command line and the reader.

The command is `$VISUAL`, else `$EDITOR`, else `vi`, split like a shell would (`code --wait`,
`"/opt/My Editor/bin/ed"`) but never run through a shell. A note's file ends with a newline,
as editors expect; the text comes back without the newline added here.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from paperreader.core.errors import PaperreaderError


class EditorError(PaperreaderError):
    """The editor could not be started or failed: the text is unchanged (one line)."""


def editor_setting(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("VISUAL") or "").strip() or (env.get("EDITOR") or "").strip() or "vi"


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The editor's argv (the file name goes after it)."""
    setting = editor_setting(environ)
    try:
        argv = shlex.split(setting)
    except ValueError as exc:
        raise EditorError(f"the editor `{setting}` could not be started: {exc}") from None
    return argv or ["vi"]


def _cannot_start(setting: str, program: str) -> EditorError:
    if os.sep in program or (os.altsep and os.altsep in program):
        reason = "permission denied" if Path(program).exists() else "no such file"
    else:
        reason = "not found on PATH"
    return EditorError(
        f"the editor `{setting}` could not be started: {reason}; the note is unchanged"
    )


def edit_text(
    text: str,
    *,
    suffix: str = ".md",
    around: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> str:
    """`text` as the user left it in the editor. `around` wraps only the editor's run (the
    reader passes `app.suspend`); it is not entered at all when the editor cannot be found, and
    it is always left normally, so the reader comes back whatever the editor did."""
    setting = editor_setting()
    argv = editor_command()
    if shutil.which(argv[0]) is None:
        raise _cannot_start(setting, argv[0])
    added = bool(text) and not text.endswith("\n")  # an empty note: an empty file
    fd, name = tempfile.mkstemp(prefix="paperreader-note-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n" if added else text)
        failure: OSError | None = None
        code = 0
        with around():
            try:
                code = subprocess.call([*argv, str(path)])
            except OSError as exc:  # caught inside: `around` must end normally
                failure = exc
        if failure is not None:
            reason = failure.strerror or str(failure)
            raise EditorError(
                f"the editor `{setting}` could not be started: {reason}; the note is unchanged"
            )
        if code != 0:
            raise EditorError(
                f"the editor `{setting}` exited with status {code}; the note is unchanged"
            )
        edited = path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
    if added and edited.endswith("\n"):
        edited = edited[:-1]
    return edited
