"""paperreader's own JSON Lines export: one Paper.to_dict() a line (plus optional user data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from paperreader.core.importers.base import Record, Skipped, first_json_object
from paperreader.core.models import Paper
from paperreader.core.text import clean_line, clean_text

NAME = "jsonl"
DESCRIPTION = "paperreader JSON Lines export"


def detect(head: str, path: Path) -> bool:
    record = first_json_object(head)
    return record is not None and {"id", "title", "source"} <= record.keys()


def read(path: Path, **_: object) -> Iterator[Record]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                paper = Paper.from_dict(data)
            except (ValueError, TypeError) as exc:
                yield Skipped(where, str(exc).split("\n")[0][:200])
                continue
            paper.title = clean_line(paper.title)
            paper.abstract = clean_text(paper.abstract)
            paper.authors = [clean_line(a) for a in paper.authors if clean_line(a)]
            yield paper
