"""The YAML store: the user's bookmarks, read state, tags and notes, one small file per paper.

Why a file per paper: a save rewrites one small file (milliseconds at any library size, where
one 10k-note file costs seconds), a hand edit or a corrupt file touches one paper only, and the
folder diffs well in git. Only papers the user touched have a file.

Every change is a read-modify-write of the file on disk under a lock shared by all processes,
so two instances (or an instance and a hand edit) never save over each other's change.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout

from paperreader.core.errors import StoreError, StoreLocked
from paperreader.core.fsutil import TEMP_MARK, atomic_write, remove_stale_temps
from paperreader.core.models import Note, ReadState, UserData
from paperreader.core.text import clean_line

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_FILE_BYTES = 16 * 1024 * 1024
LOCK_TIMEOUT = 10.0
HEADER = "# paperreader: your data for one paper. Edit freely; keep the id line.\n"
KEY_ORDER = ("id", "title", "bookmarked", "state", "tags", "position", "note")
# libyaml's composer recurses in C: 50k nested `[` crash the process (SIGSEGV), so deeper files
# are refused before loading. paperreader writes 3 levels; hand edits need no more than a few.
MAX_DEPTH = 100
KEEP_BACKUPS = 10
BACKUPS_DIR = "backups"
NOTE_BACKUPS = "notes"  # <lib>/backups/notes/<file stem>/<UTC stamp>.md: a note's old texts
KEEP_NOTE_BACKUPS = 20
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def file_name(paper_id: str) -> str:
    """A safe file name for an id (old arXiv ids hold a slash; DOIs hold anything)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", paper_id).lstrip(".")
    return (safe or "_")[:150] + ".yaml"


class _BlockDumper(_Dumper):  # type: ignore[misc, valid-type]
    """Multi-line strings (notes) as `|` blocks so the file reads like the note."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_presenter)


@dataclass
class StoreProblem:
    """A file that could not be read: reported, never overwritten."""

    path: Path
    message: str

    def __str__(self) -> str:
        return self.message


def _mark(exc: yaml.MarkedYAMLError, path: Path) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    what = exc.problem or exc.context or "invalid YAML"
    return f"{where}: {what}"


def _key_line(text: str, key: str, path: Path) -> str:
    """'file:line' of a top-level key, for messages about a bad value."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return f"{path}:{number}"
    return str(path)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError("not a date and time")


def _check_depth(text: str, path: Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH without building it (see MAX_DEPTH)."""
    if sum(text.count(c) for c in "[{-?:") < MAX_DEPTH:
        return  # every level needs one of these characters: this file cannot be that deep
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise StoreError(
                        f"{path}:{mark.line + 1}:{mark.column + 1}: nested more than "
                        f"{MAX_DEPTH} levels deep (not a paperreader file?)"
                    )
            elif isinstance(event, _CLOSE):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise StoreError(_mark(exc, path)) from None
    except yaml.YAMLError as exc:
        raise StoreError(f"{path}: not readable YAML ({type(exc).__name__})") from None


def parse_user_data(text: str, path: Path) -> UserData:
    """Validate one file's content; any problem raises StoreError naming the file and place."""
    return _parse(text, path)[0]


def _parse(text: str, path: Path) -> tuple[UserData, dict[str, Any]]:
    """The paper's data plus the top-level keys paperreader does not know (kept on save)."""
    _check_depth(text, path)
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # the safe loader: no python/* tags
    except yaml.MarkedYAMLError as exc:
        raise StoreError(_mark(exc, path)) from None
    except (yaml.YAMLError, RecursionError, MemoryError) as exc:
        raise StoreError(f"{path}: not readable YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise StoreError(f"{path}:1: the file is {kind}")

    def bad(key: str, why: str) -> StoreError:
        return StoreError(f"{_key_line(text, key, path)}: {key}: {why}")

    paper_id = data.get("id")
    if not isinstance(paper_id, (str, int, float)) or not str(paper_id).strip():
        raise bad("id", "missing or not text")
    if isinstance(paper_id, (int, float)):
        # A hand-typed `id: 2403.10000` loads as the float 2403.1: take the id as written.
        written = re.search(r"^id:[ \t]*([^\s#]+)", text, re.M)
        paper_id = written.group(1).strip("'\"") if written else paper_id
    bookmarked = data.get("bookmarked", False)
    if not isinstance(bookmarked, bool):
        raise bad("bookmarked", "must be true or false")
    try:
        state = ReadState(data.get("state") or "unread")
    except ValueError:
        raise bad("state", "must be unread, reading or read") from None
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, (str, int, float)) for t in tags):
        raise bad("tags", "must be a list of words")
    note = None
    raw_note = data.get("note")
    if isinstance(raw_note, str):
        raw_note = {"text": raw_note}
    if raw_note is not None:
        if not isinstance(raw_note, dict) or not isinstance(raw_note.get("text", ""), str):
            raise bad("note", "must hold a text")
        try:
            created = _parse_time(raw_note["created"]) if "created" in raw_note else now()
            updated = _parse_time(raw_note["updated"]) if "updated" in raw_note else created
        except ValueError:
            raise bad("note", "created/updated must be dates and times") from None
        note = Note(text=raw_note.get("text", ""), created=created, updated=updated)
    position = data.get("position", 0)
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise bad("position", "must be a whole number, 0 or more")
    title = data.get("title")
    user = UserData(
        paper_id=str(paper_id).strip(),
        bookmarked=bookmarked,
        state=state,
        tags=normalise_tags(str(t) for t in tags),
        note=note,
        title=title if isinstance(title, str) else "",
        position=position,
    )
    extras = {k: v for k, v in data.items() if k not in KEY_ORDER}
    return user, extras


def normalise_tags(tags: Any) -> list[str]:
    """Lower case, no spaces or commas, no duplicates, sorted: tags diff and search well."""
    out: set[str] = set()
    for tag in tags:
        # Tags are shown everywhere (list rows, view picker): no escape sequence survives.
        cleaned = re.sub(r"[\s,]+", "-", clean_line(str(tag)).lower()).strip("-")
        if cleaned:
            out.add(cleaned[:64])
    return sorted(out)


def dump_user_data(user: UserData, extras: dict[str, Any] | None = None) -> bytes:
    """The file's bytes, checked to read back as `user`: what cannot be read back is never
    written. Raises StoreError for text YAML cannot hold (e.g. lone surrogates).

    `extras` are top-level keys a hand edit added (`priority: high`): kept, never dropped."""
    data: dict[str, Any] = {"id": user.paper_id}
    if user.title:
        data["title"] = user.title
    data["bookmarked"] = user.bookmarked
    data["state"] = user.state.value
    data["tags"] = list(user.tags)
    if user.position:  # saved only once the article view has been read past the start
        data["position"] = user.position
    if user.note is not None:
        data["note"] = {
            "created": user.note.created.isoformat(),
            "updated": user.note.updated.isoformat(),
            "text": user.note.text,
        }
    for key, value in (extras or {}).items():
        if key not in data and isinstance(key, (str, int, float, bool)):
            data[key] = value
    try:
        text = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
        payload = (HEADER + text).encode("utf-8")
    except (yaml.YAMLError, UnicodeError, RecursionError) as exc:
        raise StoreError(
            f"cannot save the data of {user.paper_id}: it holds text YAML cannot store ({exc})"
        ) from None
    _verify(payload, user)
    return payload


def _verify(payload: bytes, user: UserData) -> None:
    """Read the bytes back before they replace anything: a writer bug must not cost a note."""
    try:
        back = parse_user_data(payload.decode("utf-8"), Path(file_name(user.paper_id)))
    except StoreError as exc:
        raise StoreError(f"cannot save the data of {user.paper_id}: {exc}") from None
    note = user.note.text if user.note else None
    back_note = back.note.text if back.note else None
    if (back.paper_id, back.bookmarked, back.state, back.tags, back_note, back.position) != (
        user.paper_id.strip(),
        user.bookmarked,
        user.state,
        normalise_tags(user.tags),
        note,
        user.position,
    ):
        raise StoreError(
            f"cannot save the data of {user.paper_id}: it would not read back the same"
        )


class Store:
    """The folder of per-paper YAML files, with a lock shared by every process that writes it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / ".lock"), timeout=LOCK_TIMEOUT)
        with self.locked():
            remove_stale_temps(self.root)
            if self.backups_root.is_dir():  # a backup cut short by a crash
                for entry in os.scandir(self.backups_root):
                    if entry.name.startswith(".") and TEMP_MARK in entry.name:
                        shutil.rmtree(entry.path, ignore_errors=True)

    def path_for(self, paper_id: str) -> Path:
        return self.root / file_name(paper_id)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except Timeout:
            raise StoreLocked(
                f"{self.root}: another paperreader has held the store lock for over "
                f"{LOCK_TIMEOUT:.0f} s; try again"
            ) from None

    def read_file(self, path: Path) -> UserData | None:
        found = self._read_full(path)
        return found[0] if found else None

    def _read_full(self, path: Path) -> tuple[UserData, dict[str, Any]] | None:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise StoreError(f"{path}: {size} bytes is too large for one paper's data")
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if b"\x00" in raw:
            raise StoreError(f"{path}:1: the file holds NUL bytes (corrupt?)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError(f"{path}: byte {exc.start} is not UTF-8") from None
        return _parse(text, path)

    def get(self, paper_id: str) -> UserData:
        """The paper's data as on disk now (empty data when it has no file)."""
        found = self.read_file(self.path_for(paper_id))
        return found if found is not None else UserData(paper_id=paper_id)

    def update(
        self, paper_id: str, change: Callable[[UserData], None], *, title: str = ""
    ) -> UserData:
        """Apply `change` to the data on disk and save it atomically, all under the lock.

        A file that does not parse is never written: StoreError tells where it is broken.
        """
        path = self.path_for(paper_id)
        with self.locked():
            found = self._read_full(path)
            user, extras = found if found else (UserData(paper_id=paper_id), {})
            old_note = user.note.text if user.note else ""
            change(user)
            if old_note.strip() and old_note != (user.note.text if user.note else ""):
                self._backup_note(path, old_note)
            if title:
                user.title = title
            if user.is_empty and not user.position and not extras:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                payload = dump_user_data(user, extras)
                try:
                    atomic_write(path, payload)
                except OSError as exc:
                    raise StoreError(
                        f"{path}: could not save ({exc.strerror or exc}); the file is unchanged"
                    ) from None
        return user

    def scan(self) -> tuple[dict[str, UserData], list[StoreProblem]]:
        """Every paper's data, plus the files that could not be read (they hide nothing else)."""
        found: dict[str, UserData] = {}
        problems: list[StoreProblem] = []
        for path in self.files():
            try:
                user = self.read_file(path)
            except StoreError as exc:
                problems.append(StoreProblem(path, str(exc)))
                continue
            if user is not None:
                found[user.paper_id] = user
        return found, problems

    def files(self) -> list[Path]:
        return sorted(
            Path(e.path)
            for e in os.scandir(self.root)
            if e.name.endswith(".yaml") and not e.name.startswith(".") and e.is_file()
        )

    # -- backups -------------------------------------------------------------------------------
    @property
    def backups_root(self) -> Path:
        return self.root.parent / BACKUPS_DIR

    def backup(self, reason: str) -> Path:
        """Copy every store file to `<lib>/backups/<timestamp>-<reason>/` before something
        destructive; the last KEEP_BACKUPS copies are kept. Returns the copy's folder."""
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", reason).strip("-")[:40] or "backup"
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        target = self.backups_root / f"{stamp}-{slug}"
        partial = self.backups_root / f".{target.name}{TEMP_MARK}partial"
        with self.locked():
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            try:
                for path in self.files():
                    shutil.copy2(path, partial / path.name)
                partial.rename(target)  # a half-made copy never looks like a backup
            except OSError as exc:
                shutil.rmtree(partial, ignore_errors=True)
                raise StoreError(
                    f"{target}: could not back up the store ({exc.strerror or exc})"
                ) from None
        for old in self.backups()[:-KEEP_BACKUPS]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def note_backups(self, paper_id: str) -> list[Path]:
        """The saved earlier texts of a paper's note, oldest first."""
        folder = self.backups_root / NOTE_BACKUPS / Path(file_name(paper_id)).stem
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix == ".md" and TEMP_MARK not in p.name)

    def _backup_note(self, path: Path, text: str) -> None:
        """Keep a note's text before a write changes or drops it (called under the lock): the
        last KEEP_NOTE_BACKUPS texts per paper. A backup that cannot be written stops the
        save: the note is never changed without its old text kept."""
        folder = self.backups_root / NOTE_BACKUPS / path.stem
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{stamp}.md"
        n = 1
        while target.exists():  # two saves in one microsecond (a coarse clock)
            target = folder / f"{stamp}-{n}.md"
            n += 1
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(target, text.encode("utf-8"))
        except OSError as exc:
            raise StoreError(
                f"{target}: could not keep the note's previous text ({exc.strerror or exc}); "
                "the note is unchanged"
            ) from None
        kept = sorted(p for p in folder.iterdir() if p.suffix == ".md" and TEMP_MARK not in p.name)
        for old in kept[:-KEEP_NOTE_BACKUPS]:
            with contextlib.suppress(OSError):
                old.unlink()

    def backups(self) -> list[Path]:
        """The backup folders, oldest first."""
        if not self.backups_root.is_dir():
            return []
        return sorted(
            Path(e.path)
            for e in os.scandir(self.backups_root)
            if e.is_dir() and not e.name.startswith(".") and e.name != NOTE_BACKUPS
        )

    def restore(self, name: str) -> int:
        """Make the store what backup `name` holds (the current state is backed up first).

        Returns how many files the backup held."""
        source = self.backups_root / Path(name).name
        if not Path(name).name or not source.is_dir():
            known = ", ".join(p.name for p in self.backups()) or "none"
            raise StoreError(f"no backup named {name!r} in {self.backups_root}; known: {known}")
        wanted = sorted(p for p in source.iterdir() if p.suffix == ".yaml" and p.is_file())
        self.backup(f"before-restore-{source.name}")
        with self.locked():
            names = {p.name for p in wanted}
            for path in wanted:
                try:
                    atomic_write(self.root / path.name, path.read_bytes())
                except OSError as exc:
                    raise StoreError(
                        f"{path}: could not restore ({exc.strerror or exc}); "
                        "the store was backed up first"
                    ) from None
            for path in self.files():
                if path.name not in names:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        return len(wanted)

    def changed_since(self, stamp: float) -> list[Path]:
        """Files modified after `stamp` (a hand edit, or another instance's save)."""
        return [p for p in self.files() if _mtime(p) > stamp]

    def ids_of(self, paths: list[Path]) -> list[str]:
        """The paper ids the files hold (a broken or vanished file is skipped: the scan
        reports it)."""
        ids = []
        for path in paths:
            with contextlib.suppress(StoreError, OSError):
                if data := self.read_file(path):
                    ids.append(data.paper_id)
        return ids

    def latest_change(self) -> float:
        stamps = [_mtime(p) for p in self.files()]
        return max([_mtime(self.root), *stamps]) if stamps else _mtime(self.root)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
