"""One module per input format; each yields Papers (and Skipped records for bad input).

Adding a format is adding a module here and its name to `_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

from paperreader.core.errors import ImportFailure
from paperreader.core.importers.base import Importer, Record, Skipped

__all__ = ["Record", "Skipped", "formats", "get_importer", "guess_format", "read_records"]

# Order matters for guessing: the most specific detectors first.
# jsonl (our own export) before the arXiv snapshot (both JSON Lines); the HF API before CSL-JSON
# (both JSON); hfpage last, as it looks for a few words anywhere in the text.
_MODULES = ["jsonl", "arxiv_snapshot", "hf_api", "csljson", "arxiv_atom", "bibtex", "hfpage"]
_OPTIONAL_MODULES: list[str] = []  # formats added in later modules register here

HEAD_BYTES = 64 * 1024


def formats() -> dict[str, Importer]:
    found: dict[str, Importer] = {}
    for name in _MODULES + _OPTIONAL_MODULES:
        module = importlib.import_module(f"paperreader.core.importers.{name}")
        found[module.NAME] = module  # type: ignore[assignment]
    return found


def get_importer(name: str) -> Importer:
    table = formats()
    if name not in table:
        raise ImportFailure(f"unknown format {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def read_head(path: Path) -> str:
    """The file's first bytes as text; refuses directories, unreadable and binary files."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except IsADirectoryError:
        raise ImportFailure(f"{path}: is a directory") from None
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot read ({exc.strerror or exc})") from None
    if b"\x00" in head:
        raise ImportFailure(f"{path}: looks like a binary file, not papers")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def guess_format(path: Path) -> str:
    head = read_head(path)
    if not head.strip():
        raise ImportFailure(f"{path}: the file is empty")
    for name, module in formats().items():
        if module.detect(head, path):
            return name
    raise ImportFailure(f"{path}: cannot tell the format; give one with --format")


def read_records(path: Path, fmt: str | None = None, **options: object) -> Iterator[Record]:
    path = Path(path)
    read_head(path)  # refuse unreadable and binary files quickly, whatever the format
    name = fmt or guess_format(path)
    return get_importer(name).read(path, **options)
