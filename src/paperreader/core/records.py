"""The library's paper records in SQLite: the source the search index is rebuilt from.

SQLite gives what a folder of JSON would not: an import is one transaction (a crash or Ctrl-C
leaves the library as it was before the batch), look-ups by arXiv id, DOI and normalised title
for merging are indexed, and nothing needs the whole library in memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import quote

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
CREATE TABLE IF NOT EXISTS store_seen (id TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER);
CREATE TABLE IF NOT EXISTS index_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'record'
);
"""

# Every MARK_EVERY-th paper's sort key in the newest-first listing (see Records.mark_newest).
MARK_EVERY = 1000


@dataclass(frozen=True)
class NewestMarks:
    """Where the newest-first listing stands every MARK_EVERY papers, so a page at any depth
    skips at most MARK_EVERY index entries: an OFFSET walks every entry it skips, up to
    ~40 ms in the middle of 1,000,000 papers, and several times that when the pages are cold."""

    writes: int  # Records._writes when built: any later write here makes them stale
    total: int
    dated: int  # papers with a date; the undated come after them
    keys: list[tuple[str | None, str]]  # (published, id) of papers 0, MARK_EVERY, 2 * MARK_EVERY…


def merge(old: Paper, new: Paper) -> Paper:
    """The richest of two records of the same paper; the old id is kept (user data hangs on it)."""
    merged = Paper(id=old.id, title=old.title or new.title)
    for f in fields(Paper):
        if f.name in ("id", "title"):
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.name in ("other_urls", "categories", "keywords"):
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

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """`create=False`: the records of a library that must exist (an indexing worker's),
        never made, nor their folder, if they are gone."""
        self.path = Path(path)
        self._create = create
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writes = 0
        self._marks: NewestMarks | None = None
        self._counted: tuple[tuple[int, int, int], int] | None = None
        self._marking = threading.Lock()  # held by the one background mark_newest
        if not create:
            return
        self.db.executescript(SCHEMA)
        # Libraries from before the queue kept import marks in `unindexed`: carry them over.
        if self.db.execute("SELECT 1 FROM unindexed LIMIT 1").fetchone():
            with self.batch():
                self.db.execute("INSERT OR IGNORE INTO index_queue (id) SELECT id FROM unindexed")
                self.db.execute("DELETE FROM unindexed")
        self._add_added_column()

    def _add_added_column(self) -> None:
        """`added` (unix time a paper first came into this library, for "new since last
        opened"); libraries made before it have NULL there: not new to anyone."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(papers)")}
        if "added" not in columns:
            try:
                self.db.execute("ALTER TABLE papers ADD COLUMN added REAL")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise
        self.db.execute("CREATE INDEX IF NOT EXISTS papers_added ON papers (added)")

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection. One per thread, so a UI worker reading while an import
        runs its transaction in another thread sees the last committed state (WAL snapshots),
        never the import's uncommitted rows."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            where = self.path if self._create else f"file:{quote(str(self.path))}?mode=rw"
            conn = sqlite3.connect(
                where, check_same_thread=False, isolation_level=None, uri=not self._create
            )
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
        self._counted = None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction: all of it lands, or (on any exception, Ctrl-C included) none."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._writes += 1  # what was counted or marked inside the batch is gone
            raise
        self.db.execute("COMMIT")

    def count(self) -> int:
        """Papers stored. A count walks an index (~40 ms at 1,000,000 papers), so it is kept
        while this connection's `data_version` (bumped by other connections' commits) and
        this process's writes stay the same."""
        db = self.db
        key = (id(db), db.execute("PRAGMA data_version").fetchone()[0], self._writes)
        counted = self._counted
        if counted is not None and counted[0] == key:
            return counted[1]
        total = db.execute("SELECT count(*) FROM papers").fetchone()[0]
        self._counted = (key, total)
        return total

    def get(self, paper_id: str) -> Paper | None:
        row = self.db.execute("SELECT data FROM papers WHERE id = ?", (paper_id,)).fetchone()
        return Paper.from_dict(json.loads(row[0])) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        for (data,) in self._rows_of("data", ids):
            paper = Paper.from_dict(json.loads(data))
            found[paper.id] = paper
        return found

    def present(self, ids: list[str]) -> set[str]:
        """Which of `ids` are papers here (their records not read)."""
        return {paper_id for (paper_id,) in self._rows_of("id", ids)}

    def _rows_of(self, column: str, ids: list[str]) -> Iterator[tuple[str]]:
        """`column` of the papers among `ids`, 500 ids a query (SQLite's bound on parameters)."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(f"SELECT {column} FROM papers WHERE id IN ({marks})", chunk)

    def by_prefix(self, prefix: str) -> Paper | None:
        """The one paper whose id starts with `prefix` (None when none or several do)."""
        if len(prefix) < 3:
            return None
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute(
            "SELECT data FROM papers WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (escaped + "%",)
        ).fetchall()
        return Paper.from_dict(json.loads(rows[0][0])) if len(rows) == 1 else None

    def prefix_matches(self, prefix: str, limit: int) -> tuple[int, list[str]]:
        """How many ids start with `prefix`, and the first `limit` of them in order."""
        if len(prefix) < 3:
            return 0, []
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where = "FROM papers WHERE id LIKE ? ESCAPE '\\'"
        pattern = (escaped + "%",)
        total = self.db.execute(f"SELECT count(*) {where}", pattern).fetchone()[0]
        ids = [
            r[0]
            for r in self.db.execute(f"SELECT id {where} ORDER BY id LIMIT ?", (*pattern, limit))
        ]
        return total, ids

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

    def put(self, paper: Paper, *, added: float | None = None) -> None:
        """Store a paper; a new one is stamped `added` (now unless given), a stored one keeps
        the time it was first added."""
        self._writes += 1
        data = json.dumps(paper.to_dict(), ensure_ascii=False, sort_keys=True)
        self.db.execute(
            "INSERT OR REPLACE INTO papers (id, arxiv_id, doi, title_key, published, data, added) "
            "VALUES (?, ?, ?, ?, ?, ?, COALESCE((SELECT added FROM papers WHERE id = ?), ?))",
            (
                paper.id,
                paper.arxiv_id,
                paper.doi.lower() if paper.doi else None,
                normalise_title(paper.title),
                paper.published.isoformat() if paper.published else None,
                data,
                paper.id,
                time.time() if added is None else added,
            ),
        )

    def newest(self, offset: int = 0, limit: int = 50, *, total: int | None = None) -> list[Paper]:
        """A page of the whole library, newest first (undated last): the list with no query.
        Walks the `published` index, so a page costs a few ms where a search index sort
        over every paper took 0.2-0.6 s at 100,000 papers. An OFFSET walks the rows it skips:
        a deep page starts from the nearest mark (see mark_newest) when the marks are current,
        else, given the `total`, a page in the older half is read from the other end."""
        offset, limit = max(0, offset), max(0, limit)
        marks = self._marks
        current = marks is not None and marks.writes == self._writes and marks.total == total
        if offset >= MARK_EVERY and not current and total is not None:
            self._mark_soon()  # for the next deep pages
        if offset >= MARK_EVERY and current:
            assert marks is not None
            rows = self._newest_from_mark(marks, offset, limit)
        elif total is None or offset <= total // 2:
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

    def _newest_from_mark(self, marks: NewestMarks, offset: int, limit: int) -> list[tuple]:
        at = min(offset // MARK_EVERY, len(marks.keys) - 1)
        published, paper_id = marks.keys[at]
        skip = offset - at * MARK_EVERY
        if published is None:  # among the undated, listed by id
            return self.db.execute(
                "SELECT data FROM papers WHERE published IS NULL AND id <= ? "
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                (paper_id, limit, skip),
            ).fetchall()
        rows = self.db.execute(
            "SELECT data FROM papers WHERE (published, id) <= (?, ?) "
            "ORDER BY published DESC, id DESC LIMIT ? OFFSET ?",
            (published, paper_id, limit, skip),
        ).fetchall()
        if len(rows) < limit:  # the page runs on into the undated
            rows += self.db.execute(
                "SELECT data FROM papers WHERE published IS NULL ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit - len(rows), max(0, offset - marks.dated)),
            ).fetchall()
        return rows

    def _mark_soon(self) -> None:
        if self._marking.acquire(blocking=False):
            threading.Thread(target=self._mark_in_background, daemon=True).start()

    def _mark_in_background(self) -> None:
        try:
            self.mark_newest()
        except sqlite3.Error:
            pass  # closed under it (the app quit): the marks are only a shortcut
        finally:
            self._marking.release()

    def mark_newest(self) -> NewestMarks:
        """(Re)build the newest-first listing's marks unless they are current: one pass over
        the `published` index, ~0.5 s at 1,000,000 papers, for a background thread."""
        marks = self._marks
        writes = self._writes
        if marks is not None and marks.writes == writes and marks.total == self.count():
            return marks
        keys: list[tuple[str | None, str]] = []
        dated = total = 0
        for total, (published, paper_id) in enumerate(
            self.db.execute("SELECT published, id FROM papers ORDER BY published DESC, id DESC"),
            start=1,
        ):
            if (total - 1) % MARK_EVERY == 0:
                keys.append((published, paper_id))
            if published is not None:
                dated = total
        marks = NewestMarks(writes=writes, total=total, dated=dated, keys=keys)
        self._marks = marks  # stale at once if a write came meanwhile: `writes` tells
        return marks

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

    # The queue of pending index updates: papers whose record (kind "record": an import) or
    # user data (kind "user": a bookmark, tag, note...) changed and which the search index does
    # not hold yet. A mark is written in the same transaction as the record (or right after
    # the YAML save), and cleared by whichever process holds the indexer lease once an index
    # commit holds the paper. Marking a paper again gives it a new `seq`, so an indexer that
    # read the old mark clears only that one (`mark_indexed` compares seq).
    def mark_unindexed(self, ids: Iterable[str], kind: str = "record") -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO index_queue (id, kind) VALUES (?, ?)",
            ((i, kind) for i in ids),
        )

    def mark_indexed(self, marks: Iterable[tuple[int, str]]) -> None:
        """Clear marks `(seq, id)` that an index commit now holds (newer marks stay)."""
        self.db.executemany(
            "DELETE FROM index_queue WHERE id = ? AND seq <= ?", ((i, s) for s, i in marks)
        )

    def pending(self, limit: int, kind: str | None = None) -> list[tuple[int, str]]:
        """Up to `limit` marks `(seq, id)`, oldest first (user changes before imports)."""
        if kind is None:
            rows = self.db.execute(
                "SELECT seq, id FROM index_queue ORDER BY kind = 'record', seq LIMIT ?", (limit,)
            )
        else:
            rows = self.db.execute(
                "SELECT seq, id FROM index_queue WHERE kind = ? ORDER BY seq LIMIT ?",
                (kind, limit),
            )
        return [(r[0], r[1]) for r in rows]

    def pending_after(self, seq: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` marks `(seq, id)` after `seq`, in order, the user's changes left out
        (the bulk catch-up's cursor over an import being written)."""
        rows = self.db.execute(
            "SELECT seq, id FROM index_queue WHERE seq > ? AND kind != 'user' ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [(r[0], r[1]) for r in rows]

    # The store files paperreader itself wrote last (mtime, size): the store scan at open
    # then tells them from hand edits, which it must queue for the index.
    def saw_store_file(self, paper_id: str, mtime_ns: int, size: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO store_seen (id, mtime_ns, size) VALUES (?, ?, ?)",
            (paper_id, mtime_ns, size),
        )

    def store_file_seen(self, paper_id: str, mtime_ns: int, size: int) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM store_seen WHERE id = ? AND mtime_ns = ? AND size = ?",
            (paper_id, mtime_ns, size),
        ).fetchone()
        return row is not None

    def queued(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` still wait in the queue."""
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.db.execute(f"SELECT id FROM index_queue WHERE id IN ({marks})", chunk)
            )
        return found

    def queue_seq(self) -> int:
        """The newest mark's seq (0 when none was ever made): a rebuild's starting point."""
        row = self.db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'index_queue'"
        ).fetchone()
        return int(row[0]) if row else 0

    def unindexed_count(self, kind: str | None = None, *, but: str | None = None) -> int:
        """Marks waiting: all, of one `kind`, or all `but` those of one kind."""
        if kind is None and but is None:
            return self.db.execute("SELECT count(*) FROM index_queue").fetchone()[0]
        if kind is not None:
            query, value = "SELECT count(*) FROM index_queue WHERE kind = ?", kind
        else:
            query, value = "SELECT count(*) FROM index_queue WHERE kind != ?", but
        return self.db.execute(query, (value,)).fetchone()[0]

    def all_queued(self) -> bool:
        """Whether every paper has a mark waiting (a new library: none was ever indexed)."""
        unqueued = self.db.execute(
            "SELECT 1 FROM papers WHERE id NOT IN (SELECT id FROM index_queue) LIMIT 1"
        ).fetchone()
        return unqueued is None

    def clear_unindexed(self, upto_seq: int | None = None) -> None:
        """Clear the marks up to `upto_seq` (all when None): a rebuild read those papers."""
        if upto_seq is None:
            self.db.execute("DELETE FROM index_queue")
        else:
            self.db.execute("DELETE FROM index_queue WHERE seq <= ?", (upto_seq,))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- when papers came in (for "new since last opened") ------------------------------------
    def added_since(self, ts: float, limit: int | None = None) -> list[str]:
        """Ids of the papers first added after unix time `ts`, newest first."""
        return [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM papers WHERE added > ? ORDER BY added DESC LIMIT ?",
                (ts, -1 if limit is None else limit),
            )
        ]

    def added_before(self, ts: float) -> list[str]:
        """Ids of the papers added at or before unix time `ts` (or before `added` was kept)."""
        return [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM papers WHERE added IS NULL OR added <= ?", (ts,)
            )
        ]

    def count_added_since(self, ts: float) -> int:
        return self.db.execute("SELECT count(*) FROM papers WHERE added > ?", (ts,)).fetchone()[0]

    def iter_texts(self, batch: int = 2000) -> Iterator[tuple[str, str, str]]:
        """(id, title, abstract) of every paper in id order, streamed: what a text model
        reads, without building a Paper per record."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT id, json_extract(data, '$.title'), json_extract(data, '$.abstract') "
                "FROM papers WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for paper_id, title, abstract in rows:
                yield paper_id, title or "", abstract or ""
            last = rows[-1][0]

    def change_stamp(self) -> tuple[int, int]:
        """(papers, highest rowid): changes with any added or rewritten paper (a rewrite is a
        delete and an insert), kept on disk, so a cache built from the records can tell it is
        stale in a later process. (Rewriting the paper that holds the highest rowid keeps it:
        a cache misses that one paper's new text until the next change.)"""
        top = self.db.execute("SELECT max(rowid) FROM papers").fetchone()[0]
        return self.count(), top or 0
