"""The library's paper records in SQLite: the source the search index is rebuilt from.

SQLite gives what a folder of JSON would not: an import is one transaction (a crash or Ctrl-C
leaves the library as it was before the batch), look-ups by arXiv id, DOI and normalised title
for merging are indexed, and nothing needs the whole library in memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from paperreader.core.models import Paper, normalise_title

SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    id TEXT PRIMARY KEY,
    arxiv_id TEXT,
    doi TEXT,
    title_key TEXT NOT NULL,
    published TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_arxiv ON papers (arxiv_id);
CREATE INDEX IF NOT EXISTS papers_doi ON papers (doi);
CREATE INDEX IF NOT EXISTS papers_title ON papers (title_key);
CREATE INDEX IF NOT EXISTS papers_published ON papers (published, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS unindexed (id TEXT PRIMARY KEY);
"""


def merge(old: Paper, new: Paper) -> Paper:
    """The richest of two records of the same paper; the old id is kept (user data hangs on it)."""
    merged = Paper(id=old.id, title=old.title or new.title)
    for f in fields(Paper):
        if f.name in ("id", "title"):
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.name in ("categories", "keywords"):
            value = list(dict.fromkeys([*a, *b]))
        elif f.name == "authors":
            value = b if len(b) > len(a) else a
        elif f.name == "upvotes":
            value = max(a or 0, b or 0) or None
        elif f.name == "source":
            value = ",".join(dict.fromkeys(s for s in [*a.split(","), *b.split(",")] if s))
        elif isinstance(a, str) and isinstance(b, str):
            value = b if len(b) > len(a) else a
        else:
            value = a if a not in (None, "", []) else b
        setattr(merged, f.name, value)
    # A title written with fewer line-wrap or LaTeX artefacts is usually the longer clean one.
    if (
        new.title
        and len(new.title) > len(merged.title)
        and normalise_title(new.title) == normalise_title(old.title)
    ):
        merged.title = new.title
    return merged


class Records:
    """Paper records by id; all writes of one import go through one `batch()` transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self.db.executescript(SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection. One per thread, so a UI worker reading while an import
        runs its transaction in another thread sees the last committed state (WAL snapshots),
        never the import's uncommitted rows."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction: all of it lands, or (on any exception, Ctrl-C included) none."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM papers").fetchone()[0]

    def get(self, paper_id: str) -> Paper | None:
        row = self.db.execute("SELECT data FROM papers WHERE id = ?", (paper_id,)).fetchone()
        return Paper.from_dict(json.loads(row[0])) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for (data,) in self.db.execute(f"SELECT data FROM papers WHERE id IN ({marks})", chunk):
                paper = Paper.from_dict(json.loads(data))
                found[paper.id] = paper
        return found

    def by_prefix(self, prefix: str) -> Paper | None:
        """The one paper whose id starts with `prefix` (None when none or several do)."""
        if len(prefix) < 3:
            return None
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute(
            "SELECT data FROM papers WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (escaped + "%",)
        ).fetchall()
        return Paper.from_dict(json.loads(rows[0][0])) if len(rows) == 1 else None

    def find_same(self, paper: Paper) -> Paper | None:
        """The stored record of the same paper: by arXiv id, then DOI, then normalised title."""
        probes = [("id", paper.id)]
        if paper.arxiv_id:
            probes.append(("arxiv_id", paper.arxiv_id))
        if paper.doi:
            probes.append(("doi", paper.doi.lower()))
        probes.append(("title_key", normalise_title(paper.title)))
        for column, value in probes:
            row = self.db.execute(
                f"SELECT data FROM papers WHERE {column} = ? LIMIT 1", (value,)
            ).fetchone()
            if row:
                found = Paper.from_dict(json.loads(row[0]))
                # A title match alone must not merge two different arXiv papers.
                if (
                    column == "title_key"
                    and found.arxiv_id
                    and paper.arxiv_id
                    and found.arxiv_id != paper.arxiv_id
                ):
                    continue
                return found
        return None

    def put(self, paper: Paper) -> None:
        data = json.dumps(paper.to_dict(), ensure_ascii=False, sort_keys=True)
        self.db.execute(
            "INSERT OR REPLACE INTO papers (id, arxiv_id, doi, title_key, published, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                paper.id,
                paper.arxiv_id,
                paper.doi.lower() if paper.doi else None,
                normalise_title(paper.title),
                paper.published.isoformat() if paper.published else None,
                data,
            ),
        )

    def newest(self, offset: int = 0, limit: int = 50, *, total: int | None = None) -> list[Paper]:
        """A page of the whole library, newest first (undated last): the list with no query.
        Walks the `published` index, so a page costs a few ms where a search index sort
        over every paper took 0.2-0.6 s at 100,000 papers. An OFFSET walks the rows it skips:
        given the `total`, a page in the older half is read from the other end instead."""
        offset, limit = max(0, offset), max(0, limit)
        if total is None or offset <= total // 2:
            rows = self.db.execute(
                "SELECT data FROM papers ORDER BY published DESC, id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        else:
            end = min(total, offset + limit)
            rows = self.db.execute(
                "SELECT data FROM papers ORDER BY published ASC, id ASC LIMIT ? OFFSET ?",
                (max(0, end - offset), total - end),
            ).fetchall()[::-1]
        return [Paper.from_dict(json.loads(data)) for (data,) in rows]

    def iter_all(self, batch: int = 1000) -> Iterator[Paper]:
        """Every paper, streamed in id order without holding the library in memory."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT id, data FROM papers WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            for _, data in rows:
                yield Paper.from_dict(json.loads(data))
            last = rows[-1][0]

    def ids(self) -> Iterable[str]:
        return (row[0] for row in self.db.execute("SELECT id FROM papers"))

    # Papers written here but not yet into the search index: marked in the same transaction
    # as the records, cleared once an index commit holds them (see Library.catch_up).
    def mark_unindexed(self, ids: Iterable[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO unindexed (id) VALUES (?)", ((i,) for i in ids))

    def mark_indexed(self, ids: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM unindexed WHERE id = ?", ((i,) for i in ids))

    def unindexed(self, limit: int) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM unindexed LIMIT ?", (limit,))]

    def unindexed_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM unindexed").fetchone()[0]

    def clear_unindexed(self) -> None:
        self.db.execute("DELETE FROM unindexed")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
