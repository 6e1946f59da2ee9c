"""Keeping the index in step: the indexer's work (queued papers, rebuilds), the user's hand
edits brought in, backups of the store and `check`; a part of `Library` (it inherits this),
kept apart from the facade's papers, search and import code. Every index write goes through
`self.indexer` (core/search/indexer.py): opening a library never writes the index."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[int, int | None], None]
OVERLAY_AT_MOST = 200  # hand edits found at open that searches here show before they are indexed


class LibraryIndexing:
    """Mixed into Library: needs its root, records, store, index, indexer and users."""

    def unindexed_count(self) -> int:
        """Papers in the library that searches do not find yet (see run_indexer)."""
        return self.records.unindexed_count()

    def index_status(self) -> str | None:
        """One line while papers are not searchable yet (a rebuild or catch-up runs), else None."""
        with contextlib.suppress(sqlite3.Error):
            return self.indexer.status_line()
        return None

    def run_indexer(
        self,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        wait: bool = True,
        on_wait: Callable[[object], None] | None = None,
        rebuild: bool = False,
    ) -> int:
        """Be the library's indexer (see Indexer.run): rebuild if needed, index what is queued.
        With `wait`, a running indexer (here or in another process) is waited for instead."""
        return self.indexer.run(
            progress, wait=wait, should_stop=should_stop, on_wait=on_wait, force_rebuild=rebuild
        )

    def catch_up(
        self,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        wait: bool = False,
    ) -> int:
        """Index what is queued; without `wait`, returns 0 at once when another indexer runs."""
        return self.run_indexer(progress, should_stop, wait=wait)

    def needs_indexing(self) -> bool:
        """Whether the index waits for work: queued papers, or a rebuild (missing, damaged)."""
        try:
            return bool(self.records.unindexed_count() or self.indexer.rebuild_reason())
        except sqlite3.Error:
            return False

    def start_indexer(self) -> bool:
        """Start a background indexer process if work waits and none runs (never a second)."""
        return self.needs_indexing() and self.indexer.start_background()

    # -- maintenance -----------------------------------------------------------------------------
    def reindex(
        self, progress: Progress | None = None, on_wait: Callable[[object], None] | None = None
    ) -> int:
        """Rebuild the search index from the records and the store, as the one indexer. If
        another process is rebuilding already, wait for its rebuild instead of doing a second."""
        holder = self.indexer.holder()
        again = holder is None or holder.job != "rebuild"
        self.run_indexer(progress, rebuild=again, on_wait=on_wait)
        return self.index.doc_count()

    def sync_store(self) -> int:
        """Bring hand edits of the YAML (or another instance's saves) into this library's view
        of the user's data, and queue their index updates (the indexer applies them)."""
        stamp = float(self.records.get_meta("store_synced") or 0)
        changed = self.store.changed_since(stamp)
        if not changed and stamp:
            return 0
        found, problems = self.store.scan()
        with self._users_lock:
            previous = self._users or {}
            self._users = found
            self.store_problems = [str(p) for p in problems]
        if previous:  # this process knew the data: what differs, files gone included
            stale = set(found) ^ set(previous)
            stale |= {uid for uid, u in found.items() if previous.get(uid) != u}
        elif stamp:  # the files changed since the last sync
            stale = set(self.store.ids_of(changed))
        else:  # never synced: every paper with data
            stale = set(found)
        known = self.records.get_many(sorted(stale))
        # paperreader's own saves (here or in another process) queued themselves; the rest
        # are hand edits, which the index learns of here
        edited = [p for p in known.values() if not self._saved_by_us(p.id)]
        if len(edited) <= OVERLAY_AT_MOST:  # searches here show them before the indexer runs
            for paper in edited:
                self.index.remember(paper, found.get(paper.id))
        with self.records.batch():
            self.records.mark_unindexed([p.id for p in edited], "user")
            self.records.set_meta("store_synced", str(self.store.latest_change()))
        if known:
            self._user_version += 1
        return len(known)

    def _saved_by_us(self, paper_id: str) -> bool:
        try:
            stat = self.store.path_for(paper_id).stat()
        except OSError:
            return False  # the file was removed: by hand
        return self.records.store_file_seen(paper_id, stat.st_mtime_ns, stat.st_size)

    def backup(self, reason: str) -> Path:
        """Copy the store to `<lib>/backups/` before a destructive step (last 10 kept)."""
        return self.store.backup(reason)

    def backups(self) -> list[str]:
        """Names of the store backups, oldest first (for `paperreader check --restore NAME`)."""
        return [p.name for p in self.store.backups()]

    def restore_backup(self, name: str) -> int:
        """Put the store back as backup `name` holds it (the current state is backed up first)
        and bring the index in step. Returns how many papers' files were restored."""
        self.users()  # know the papers that had data, so the ones the restore drops re-index
        restored = self.store.restore(name)
        self.records.set_meta("store_synced", "")
        if self.sync_store():
            self.indexer.save_soon()  # the user's own change: applied like a save
        return restored

    def check(self) -> list[str]:
        """Problems with the store and the index, one line each (empty when all is well)."""
        problems = []
        _, bad = self.store.scan()
        problems.extend(str(p) for p in bad)
        records = self.records.count()
        indexed = self.index.doc_count()
        waiting = self.records.unindexed_count()
        if waiting:  # an import's papers still being indexed: not damage, but say so
            problems.append(
                f"{self.index.path}: {waiting} imported papers are not searchable yet; "
                "`paperreader index` indexes them"
            )
        elif indexed != records:
            problems.append(
                f"{self.index.path}: indexes {indexed} papers, the library has {records}"
            )
        users, _ = self.store.scan()
        for paper_id in users:
            if self.records.get(paper_id) is None:
                problems.append(
                    f"{self.store.path_for(paper_id)}: notes for {paper_id!r}, "
                    "which is not in the library (kept; import the paper to see them)"
                )
        return problems
