"""One JSON document: a list of papers (streamed, so a large library is not held in memory)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TextIO

from paperreader.core.exporters._user import user_dict
from paperreader.core.models import Paper, UserData


def export(
    papers: Iterable[Paper], out: TextIO, user: Callable[[str], UserData | None] | None = None
) -> int:
    count = 0
    out.write("[")
    for paper in papers:
        record = paper.to_dict()
        mine = user_dict(user(paper.id)) if user else None
        if mine:
            record["user"] = mine
        out.write(
            ("\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False, indent=None)
        )
        count += 1
    out.write("\n]\n")
    return count
