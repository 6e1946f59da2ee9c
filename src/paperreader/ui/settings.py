"""The reader's settings (the theme) in `<library>/settings.json`, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperreader.core.fsutil import atomic_write

FILE_NAME = "settings.json"


def load_settings(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or hand-broken: defaults (rewritten on the next change)
    return data if isinstance(data, dict) else {}


def save_setting(root: Path, key: str, value: Any) -> None:
    data = load_settings(root)
    data[key] = value
    payload = json.dumps(data, indent=2, sort_keys=True) + "\n"
    atomic_write(root / FILE_NAME, payload.encode("utf-8"))
