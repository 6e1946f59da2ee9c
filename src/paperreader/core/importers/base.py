"""What every importer module provides, and the shared pieces they use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from paperreader.core.models import Paper, arxiv_links

GITHUB_URL = re.compile(r"https?://(?:www\.)?github\.com/[\w.-]+/[\w.-]+", re.I)
# Largest file we read whole; streaming formats (JSON Lines, the arXiv snapshot) have no limit.
MAX_WHOLE_FILE = 200 * 1024 * 1024


@dataclass
class Skipped:
    """A record that could not be imported: where it is and why."""

    where: str  # "file:line" or "file: key"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


Record = Paper | Skipped


class Importer(Protocol):
    """An importer module: `NAME`, `detect` and `read`."""

    NAME: str
    DESCRIPTION: str

    def detect(self, head: str, path: Path) -> bool:
        """True when `head` (the first few KB of the file, decoded) looks like this format."""

    def read(self, path: Path, **options: object) -> Iterator[Record]:
        """Yield a Paper per good record and a Skipped per bad one."""


def first_json_object(head: str) -> dict[str, object] | None:
    """The first line of a JSON Lines file as an object, or None: what JSONL formats detect on."""
    first = head.lstrip().split("\n", 1)[0]
    if not first.startswith("{"):
        return None
    try:
        record = json.loads(first)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


arxiv_urls = arxiv_links  # the abstract page and PDF of an arXiv paper (built in models)


def github_url(text: str) -> str | None:
    """The first GitHub repository URL written in `text`, without trailing punctuation."""
    m = GITHUB_URL.search(text or "")
    if not m:
        return None
    url = m.group(0).rstrip(".,;:)]}")
    return re.sub(r"\.git$", "", url)
