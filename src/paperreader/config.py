"""Where the library lives: --library DIR, else $PAPERREADER_HOME, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "PAPERREADER_HOME"


def library_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("paperreader", appauthor=False))
