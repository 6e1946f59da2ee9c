"""A rebuild's journal: the segments it finished, so that a rebuild cut short is resumed.

`index.new/paperreader-rebuild.json` lists each finished segment (Whoosh's segment object,
pickled as its TOC would keep it) with the ranges of paper ids it holds, in the order the
rebuild reads the records (by id). The next rebuild commits those segments to the fresh
index's TOC (which also cleans away the files of segments that were not finished) and feeds
only the papers outside those ranges. The journal also keeps the queue mark the first rebuild
started from (`upto`): marks made since stay for the catch-up after the swap.
"""

from __future__ import annotations

import base64
import bisect
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL = "paperreader-rebuild.json"


class Ranges:
    """Ranges of ids (first, last) as papers arrive in id order; `cut` ends the open one."""

    def __init__(self) -> None:
        self.ranges: list[list[str]] = []
        self._open = False

    def add(self, paper_id: str) -> None:
        if self._open:
            self.ranges[-1][1] = paper_id
        else:
            self.ranges.append([paper_id, paper_id])
            self._open = True

    def cut(self) -> None:
        self._open = False

    def take(self) -> list[list[str]]:
        taken, self.ranges, self._open = self.ranges, [], False
        return taken


@dataclass
class Journal:
    """What a rebuild in `folder` has finished (see the module docstring)."""

    folder: Path
    version: str
    upto: int
    segments: list = field(default_factory=list)  # type: ignore[type-arg]
    ranges: list[list[str]] = field(default_factory=list)
    count: int = 0  # papers in the segments found when the journal was loaded
    _firsts: list[str] = field(default_factory=list)

    def holds(self, paper_id: str) -> bool:
        """Whether a finished segment already holds this paper (its id is in a range)."""
        at = bisect.bisect_right(self._firsts, paper_id) - 1
        return at >= 0 and paper_id <= self._sorted[at][1]

    def finished(self, segment, ranges: list[list[str]]):  # type: ignore[no-untyped-def]
        """Note a segment whose files are written; returns it."""
        self.segments.append(segment)
        self.ranges.extend(ranges)
        self._save()
        return segment

    def _index(self) -> None:
        self._sorted = sorted(self.ranges)
        self._firsts = [first for first, _ in self._sorted]

    def _save(self) -> None:
        data = {
            "version": self.version,
            "upto": self.upto,
            "segments": [base64.b64encode(pickle.dumps(s, 2)).decode() for s in self.segments],
            "ranges": self.ranges,
        }
        path = self.folder / JOURNAL
        temp = path.with_name(JOURNAL + ".tmp")
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)


def start(folder: Path, version: str, upto: int) -> Journal:
    journal = Journal(Path(folder), version, upto)
    journal._index()
    journal._save()
    return journal


def load(folder: Path, version: str) -> Journal | None:
    """The journal of a rebuild cut short in `folder`, or None (none, unreadable, another
    version, or a segment's file missing: then the rebuild starts afresh)."""
    try:
        data = json.loads((Path(folder) / JOURNAL).read_text(encoding="utf-8"))
        if data.get("version") != version:
            return None
        segments = [pickle.loads(base64.b64decode(s)) for s in data["segments"]]  # noqa: S301
        ranges = [[str(a), str(b)] for a, b in data["ranges"]]
        upto = int(data["upto"])
    except Exception:  # noqa: BLE001 - a journal that cannot be read: start afresh
        return None
    names = set(os.listdir(folder))
    for segment in segments:
        if not any(name.startswith(segment.segment_id()) for name in names):
            return None
    journal = Journal(Path(folder), version, upto, segments, ranges)
    journal.count = sum(s.doc_count() for s in segments)
    journal._index()
    return journal


def exists(folder: Path) -> bool:
    return (Path(folder) / JOURNAL).is_file()


def remove(folder: Path) -> None:
    for name in (JOURNAL, JOURNAL + ".tmp"):
        (Path(folder) / name).unlink(missing_ok=True)


def upto_of(folder: Path) -> int | None:
    """The queue mark a cut-short rebuild in `folder` started from (None without one)."""
    try:
        return int(json.loads((Path(folder) / JOURNAL).read_text(encoding="utf-8"))["upto"])
    except Exception:  # noqa: BLE001
        return None
