"""JSON Lines: one paper a line, the format `paperreader import` reads back."""

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
    for paper in papers:
        record = paper.to_dict()
        mine = user_dict(user(paper.id)) if user else None
        if mine:
            record["user"] = mine
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
