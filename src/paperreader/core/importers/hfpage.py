"""The text dump of a Hugging Face Daily Papers page: header lines, then title / abstract pairs.

The page shows a date without a year ("Mar 11"); it is taken as the latest such day that is not
after the file's own modification date, so a fresh dump gets this year's date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from paperreader.core.importers.base import Record, Skipped, github_url
from paperreader.core.models import Paper, paper_id_for
from paperreader.core.text import clean_line, clean_text

NAME = "hfpage"
DESCRIPTION = "Hugging Face Daily Papers page dump (text)"

_DATE_LINE = re.compile(r"^(?:[A-Z][a-z]{2}) \d{1,2}(?:, \d{4})?$")
_HEADER_WORDS = ("Get trending papers", "byAK and the research community", "Subscribe")


def detect(head: str, path: Path) -> bool:
    return any(word in head for word in _HEADER_WORDS)


def _page_date(line: str, reference: date) -> date | None:
    for fmt in ("%b %d, %Y", "%b %d"):
        try:
            parsed = datetime.strptime(line, fmt).date()
        except ValueError:
            continue
        if fmt == "%b %d":
            parsed = parsed.replace(year=reference.year)
            if parsed > reference:
                parsed = parsed.replace(year=reference.year - 1)
        return parsed
    return None


def read(path: Path, *, reference: date | None = None, **_: object) -> Iterator[Record]:
    reference = reference or date.fromtimestamp(path.stat().st_mtime)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    listed: date | None = None
    body_start = 0
    for number, line in enumerate(lines[:20]):
        if _DATE_LINE.match(line.strip()):
            listed = _page_date(line.strip(), reference)
            body_start = number + 1
            break
    # Titles and abstracts alternate, separated by blank lines; remember line numbers.
    blocks = [(n + 1, line.strip()) for n, line in enumerate(lines) if n >= body_start]
    blocks = [(n, line) for n, line in blocks if line]
    for i in range(0, len(blocks), 2):
        title_line, raw_title = blocks[i]
        if i + 1 >= len(blocks):
            yield Skipped(f"{path}:{title_line}", "a title with no abstract after it")
            break
        title = clean_line(raw_title)
        abstract = clean_text(blocks[i + 1][1])
        if not title:
            yield Skipped(f"{path}:{title_line}", "empty title")
            continue
        yield Paper(
            id=paper_id_for(None, None, title),
            title=title,
            abstract=abstract,
            published=listed,
            code_url=github_url(abstract),
            source="hf-daily-page",
        )
