"""Saved searches as views, newsboat-style: `<library>/views.yaml`, plus their counts.

The file is the user's, plain YAML they may edit by hand::

    views:
    - name: diffusion
      query: diffusion model date:2024
      sort: newest
      created: '2026-11-27T10:00:00+00:00'
      last_opened: '2026-11-28T09:12:00+00:00'
    opened:            # when each built-in view was last opened (for "new since")
      unread: '2026-11-28T09:10:00+00:00'

It is read with the safe loader; a broken file is reported in one line naming the file and
line, and never written over: saving refuses until it is fixed. Writes are atomic (temp file,
fsync, rename) under a lock shared by every process using the library.

Counts (`ViewCounts`) know nothing of the search layer: the library hands it a counting
function and a version stamp, and it keeps each view's counts until the stamp changes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import yaml
from filelock import FileLock, Timeout

from paperreader.core.errors import PaperreaderError, StoreError, StoreLocked
from paperreader.core.fsutil import atomic_write
from paperreader.core.search.query import SORTS

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

FILE_NAME = "views.yaml"
HEADER = "# paperreader: your saved searches (views). Edit freely.\n"
MAX_NAME = 60
MAX_FILE_BYTES = 4 * 1024 * 1024
LOCK_TIMEOUT = 10.0
# The built-in views and their filters (as Library.VIEWS); `new` and `for-you` are not
# searches: the library lists papers added since the view was last opened, and the
# recommender's ranking (see recommend.py).
BUILTIN: dict[str, str] = {
    "all": "",
    "bookmarked": "is:bookmarked",
    "unread": "is:unread",
    "reading": "is:reading",
    "read": "is:read",
    "notes": "has:note",
    "tagged": "has:tags",
    "new": "",
    "for-you": "",
}
UNREAD_FILTER = "is:unread"


class ViewError(PaperreaderError):
    """A view name or sort that cannot be saved, or a view that does not exist."""


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class SavedView:
    name: str
    query: str
    sort: str = "relevance"
    last_opened: datetime | None = None
    created: datetime = field(default_factory=now)
    builtin: bool = False

    @property
    def since(self) -> datetime | None:
        """Papers added after this are "new" in the view: since it was last opened, or since
        it was made. A built-in view never opened has no new papers until it is."""
        return self.last_opened or (None if self.builtin else self.created)


def check_name(name: str) -> str:
    """The name, stripped, or ViewError saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise ViewError("a view needs a name")
    name = name.strip()
    if any(c in name for c in "\n\r") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ViewError("a view name is one line of text")
    if len(name) > MAX_NAME:
        raise ViewError(f"a view name is at most {MAX_NAME} characters ({len(name)} given)")
    if name.lower() in BUILTIN:
        raise ViewError(f"{name!r} is a built-in view; reserved: {', '.join(BUILTIN)}")
    if name.lower().startswith("tag:"):
        raise ViewError("names starting with 'tag:' are the tag views'")
    return name


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError("not a date and time")


@dataclass
class _Contents:
    views: list[SavedView]
    opened: dict[str, datetime]


def parse_views(text: str, path: Path) -> _Contents:
    """The file's views; StoreError('path:line: what is wrong') for anything else."""
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
        data = yaml.load(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise StoreError(f"{where}: {exc.problem or exc.context or 'invalid YAML'}") from None
    except (yaml.YAMLError, RecursionError, MemoryError) as exc:
        raise StoreError(f"{path}: not readable YAML ({type(exc).__name__})") from None
    if data is None:
        return _Contents([], {})
    if not isinstance(data, dict):
        raise StoreError(
            f"{path}:1: expected `views:` and `opened:`, found a {type(data).__name__}"
        )

    def line_of(*keys: str | int) -> int:
        node = root
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                found = [v for k, v in node.value if k.value == key]
                if not found:
                    break
                node = found[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                node = node.value[key]
            else:
                break
        return node.start_mark.line + 1 if node is not None else 1

    def bad(why: str, *keys: str | int) -> StoreError:
        return StoreError(f"{path}:{line_of(*keys)}: {why}")

    raw_views = data.get("views") or []
    if not isinstance(raw_views, list):
        raise bad("views: must be a list of views", "views")
    views: list[SavedView] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw_views):
        if not isinstance(entry, dict):
            raise bad("a view must be a mapping with name and query", "views", n)
        name = entry.get("name")
        try:
            name = check_name(str(name) if isinstance(name, (int, float)) else name)
        except ViewError as exc:
            raise bad(f"view name: {exc}", "views", n) from None
        if name.lower() in seen:
            raise bad(f"a second view named {name!r}", "views", n)
        seen.add(name.lower())
        query = entry.get("query", "")
        if query is None:
            query = ""
        if not isinstance(query, (str, int, float)):
            raise bad(f"view {name!r}: query must be text", "views", n, "query")
        sort = entry.get("sort") or "relevance"
        if sort not in SORTS:
            raise bad(f"view {name!r}: sort must be one of {', '.join(SORTS)}", "views", n, "sort")
        try:
            created = _time(entry["created"]) if entry.get("created") else now()
            opened = _time(entry["last_opened"]) if entry.get("last_opened") else None
        except ValueError:
            raise bad(
                f"view {name!r}: created/last_opened must be dates and times", "views", n
            ) from None
        views.append(SavedView(name, str(query), sort, opened, created))
    raw_opened = data.get("opened") or {}
    if not isinstance(raw_opened, dict):
        raise bad("opened: must map built-in view names to times", "opened")
    opened_at: dict[str, datetime] = {}
    for key, value in raw_opened.items():
        if str(key) not in BUILTIN:
            continue  # a view no longer built in: forget it on the next save
        try:
            opened_at[str(key)] = _time(value)
        except ValueError:
            raise bad(f"opened: {key}: must be a date and time", "opened", str(key)) from None
    return _Contents(views, opened_at)


def dump_views(contents: _Contents) -> bytes:
    data: dict[str, Any] = {
        "views": [
            {
                "name": v.name,
                "query": v.query,
                "sort": v.sort,
                "created": v.created.isoformat(),
                **({"last_opened": v.last_opened.isoformat()} if v.last_opened else {}),
            }
            for v in contents.views
        ]
    }
    if contents.opened:
        data["opened"] = {k: t.isoformat() for k, t in sorted(contents.opened.items())}
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return (HEADER + text).encode("utf-8")


class ViewStore:
    """`<library>/views.yaml`: the user's saved views and when each view was last opened."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / FILE_NAME
        self._lock = FileLock(str(self.root / f".{FILE_NAME}.lock"), timeout=LOCK_TIMEOUT)

    # -- reading -----------------------------------------------------------------------------
    def _read(self) -> _Contents:
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise StoreError(f"{self.path}: {size} bytes is too large for a views file")
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return _Contents([], {})
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError(f"{self.path}: byte {exc.start} is not UTF-8") from None
        if "\x00" in text:
            raise StoreError(f"{self.path}:1: the file holds NUL bytes (corrupt?)")
        return parse_views(text, self.path)

    def list(self) -> list[SavedView]:
        """The user's saved views, in the file's order."""
        return self._read().views

    def builtins(self) -> list[SavedView]:
        """The built-in views, with when each was last opened."""
        opened = self._read().opened
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        return [
            SavedView(name, query, "relevance", opened.get(name), epoch, builtin=True)
            for name, query in BUILTIN.items()
        ]

    def all(self) -> list[SavedView]:
        """Built-in views, then the saved ones: what a view list shows."""
        return [*self.builtins(), *self.list()]

    def get(self, name: str) -> SavedView | None:
        """A saved view by name (case-insensitive), or a built-in one, or None."""
        key = name.strip().lower()
        for view in self.all():
            if view.name.lower() == key:
                return view
        return None

    # -- writing -----------------------------------------------------------------------------
    def _change(self, change: Callable[[_Contents], None]) -> None:
        try:
            with self._lock:
                contents = self._read()  # a broken file raises here: nothing is written
                change(contents)
                try:
                    atomic_write(self.path, dump_views(contents))
                except OSError as exc:
                    raise StoreError(
                        f"{self.path}: could not save ({exc.strerror or exc}); the file is unchanged"
                    ) from None
        except Timeout:
            raise StoreLocked(
                f"{self.path}: another paperreader has held its lock for over "
                f"{LOCK_TIMEOUT:.0f} s; try again"
            ) from None

    def save(self, name: str, query: str, sort: str = "relevance") -> SavedView:
        """Save a view (replacing the query and sort of one with the same name)."""
        name = check_name(name)
        if sort not in SORTS:
            raise ViewError(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")
        query = " ".join(query.split())  # one line: the file and the list show it so
        saved: list[SavedView] = []

        def change(contents: _Contents) -> None:
            for n, view in enumerate(contents.views):
                if view.name.lower() == name.lower():
                    contents.views[n] = replace(view, name=name, query=query, sort=sort)
                    saved.append(contents.views[n])
                    return
            view = SavedView(name, query, sort)
            contents.views.append(view)
            saved.append(view)

        self._change(change)
        return saved[0]

    def remove(self, name: str) -> None:
        key = name.strip().lower()
        if key in BUILTIN:
            raise ViewError(f"{name!r} is a built-in view and cannot be removed")

        def change(contents: _Contents) -> None:
            kept = [v for v in contents.views if v.name.lower() != key]
            if len(kept) == len(contents.views):
                raise ViewError(f"no saved view named {name!r}")
            contents.views = kept

        self._change(change)

    def touch(self, name: str, when: datetime | None = None) -> datetime | None:
        """Mark a view opened now; returns when it was opened before (None: never), so the
        caller can still show what was new as of that visit."""
        key = name.strip().lower()
        stamp = when or now()
        before: list[datetime | None] = []

        def change(contents: _Contents) -> None:
            if key in BUILTIN:
                before.append(contents.opened.get(key))
                contents.opened[key] = stamp
                return
            for n, view in enumerate(contents.views):
                if view.name.lower() == key:
                    before.append(view.last_opened)
                    contents.views[n] = replace(view, last_opened=stamp)
                    return
            raise ViewError(f"no view named {name!r}")

        self._change(change)
        return before[0]


# -- counts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Counts:
    unread: int
    new: int


Count = Callable[[str, str], int]  # (query, filter) -> papers matching both
CountNew = Callable[[str, float], int]  # (query, unix time) -> papers matching, added since


class ViewCounts:
    """Per view: `unread` (matching its query and unread) and `new` (matching it and added
    since it was last opened), kept by (view, version) and recomputed only when stale.

    `count(query, filter)` counts papers matching the query AND the filter: the filter is
    passed apart (the library's `filter_text`) because pasting ` AND is:unread` onto a query
    changes how its words combine. `version()` is anything that changes when the library or
    the user's data does, e.g. (records data_version, index generation, store change stamp).
    `count_new(query, since)` counts papers matching the query added after `since`; see
    `new_counter` for one built on the records and `count`.

    `refresh()` does the counting and may be slow on a large library: the UI calls it in a
    thread worker and shows `cached()` meanwhile. Thread-safe.
    """

    def __init__(self, count: Count, version: Callable[[], object], count_new: CountNew) -> None:
        self._count = count
        self._version = version
        self._count_new = count_new
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[object, ...], Counts]] = {}

    @staticmethod
    def _key(view: SavedView, version: object) -> tuple[object, ...]:
        since = view.since.timestamp() if view.since else None
        return (view.query, since, version)

    def cached(self, views: Iterable[SavedView] | None = None) -> dict[str, Counts]:
        """What was last counted (stale or not), by view name: for showing at once."""
        with self._lock:
            if views is None:
                return {name: counts for name, (_, counts) in self._cache.items()}
            return {v.name: self._cache[v.name][1] for v in views if v.name in self._cache}

    def stale(self, views: Iterable[SavedView]) -> list[SavedView]:
        version = self._version()
        with self._lock:
            return [
                v
                for v in views
                if v.name not in self._cache or self._cache[v.name][0] != self._key(v, version)
            ]

    def refresh(
        self, views: Iterable[SavedView], should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Counts]:
        """Every view's counts, counting only the stale ones. Returns name -> Counts."""
        views = list(views)
        version = self._version()
        out: dict[str, Counts] = {}
        for view in views:
            key = self._key(view, version)
            with self._lock:
                hit = self._cache.get(view.name)
            if hit is not None and hit[0] == key:
                out[view.name] = hit[1]
                continue
            if should_stop and should_stop():
                break
            counts = self._compute(view)
            with self._lock:
                self._cache[view.name] = (key, counts)
            out[view.name] = counts
        return out

    def _compute(self, view: SavedView) -> Counts:
        if view.builtin and view.name == "for-you":
            return Counts(0, 0)  # a ranking, not a search: nothing to count
        unread = (
            0
            if view.query.strip() in ("is:read", "is:reading")
            else self._count(view.query, UNREAD_FILTER)
        )
        new = self._count_new(view.query, view.since.timestamp()) if view.since else 0
        return Counts(unread, new)

    def forget(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)


class _AddedSince(Protocol):
    """What `new_counter` needs of Records (so tests can pass a stand-in)."""

    def added_since(self, ts: float, limit: int | None = None) -> list[str]: ...

    def count_added_since(self, ts: float) -> int: ...


NEW_CHUNK = 400  # ids per filter clause when counting new papers among a query's matches


def ids_filter(ids: Iterable[str]) -> str:
    """A filter query matching exactly these paper ids (the index's `ids` field)."""
    quoted = ['"' + i.lower().replace('"', "") + '"' for i in ids]
    return "ids:(" + " OR ".join(quoted) + ")" if quoted else ""


def new_counter(records: _AddedSince, count: Count) -> CountNew:
    """`count_new` from the records' `added` times: no new papers costs one index look-up;
    an empty query is a count in SQLite; else the new ids go to `count` as id filters, a
    chunk at a time (until the search layer reads `added:` itself)."""

    def count_new(query: str, since: float) -> int:
        if not records.count_added_since(since):
            return 0
        if not query.strip():
            return records.count_added_since(since)
        ids = records.added_since(since)
        return sum(
            count(query, ids_filter(ids[start : start + NEW_CHUNK]))
            for start in range(0, len(ids), NEW_CHUNK)
        )

    return count_new


def new_ids(records: _AddedSince, view: SavedView, limit: int | None = None) -> set[str]:
    """Ids of the papers added since the view was last opened (for an `is:new` filter: the
    search layer intersects these with the view's matches)."""
    if view.since is None:
        return set()
    return set(records.added_since(view.since.timestamp(), limit))
