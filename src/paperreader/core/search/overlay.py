"""This process's saves that the index does not hold yet, laid over its search results.

A bookmark, tag or note saved here while another process holds the indexer lease (a rebuild, a
long catch-up) waits in the queue until that process applies it. Until then the searches of
the process that made the change must still show it (`is:bookmarked`, `tags:x`, a word of the
new note, the list's marks): the pending documents are indexed in a small index in memory, the
query is run there too, and the two answers are merged. Only while something is pending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage


class _InMemory(RamStorage):
    """A RamStorage whose writers keep their temporary files in memory too. RamStorage's own
    `temp_storage` is a folder named after the index in the system's temp folder
    (/tmp/MAIN.tmp), the same for every process, and each writer deletes it when done: one
    process's search failed on a file another process's search had just deleted."""

    def temp_storage(self, name: str | None = None) -> RamStorage:
        return RamStorage()


class LocalChanges:
    """Documents saved here and not yet in the index, by paper id."""

    def __init__(self, schema) -> None:  # type: ignore[no-untyped-def]
        self.schema = schema
        self.docs: dict[str, dict[str, object]] = {}
        self._versions: dict[str, int] = {}
        self.clock = 0  # bumped by each remember(): what an indexer pass has seen
        self._ram = None
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.docs)

    def remember(self, doc: dict[str, object]) -> None:
        with self._lock:
            self.clock += 1
            self.docs[str(doc["id"])] = doc
            self._versions[str(doc["id"])] = self.clock
            self._ram = None

    def forget_upto(self, clock: int) -> None:
        """Forget what was remembered up to `clock`: an index commit made since holds it."""
        with self._lock:
            gone = [k for k, v in self._versions.items() if v <= clock]
            for key in gone:
                self.docs.pop(key, None)
                self._versions.pop(key, None)
            if gone:
                self._ram = None

    def keep_only(self, ids: Iterable[str]) -> None:
        """Forget the documents the index holds now (their ids are no longer queued)."""
        keep = set(ids)
        with self._lock:
            if keep.issuperset(self.docs):
                return
            self.docs = {k: v for k, v in self.docs.items() if k in keep}
            self._versions = {k: v for k, v in self._versions.items() if k in keep}
            self._ram = None

    def _index(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._ram is None:
                ix = _InMemory().create_index(self.schema)
                with ix.writer() as writer:
                    for doc in self.docs.values():
                        writer.add_document(**doc)
                self._ram = ix
            return self._ram

    def matching(self, query: Q.Query) -> list[dict[str, object]]:
        """The stored fields of the pending documents that match `query`. Whoosh's own
        matchers recurse per nested clause: a pathological query (200 words typed one by one
        nest 200 deep) gets none, and the index's own answer stands for those papers."""
        try:
            with self._index().searcher() as searcher:
                return [dict(hit) for hit in searcher.search(query, limit=None)]
        except (RecursionError, MemoryError):
            return []

    def held_by(self, searcher, query: Q.Query) -> int:  # type: ignore[no-untyped-def]
        """How many pending papers `searcher`'s index (the committed one) matches for `query`:
        their old versions, to take out of its total."""
        ids = list(self.docs)
        if not ids:
            return 0
        only = Q.And([query, Q.Or([Q.Term("id", paper_id) for paper_id in ids])])
        try:
            return len(searcher.search(only, limit=None))
        except (RecursionError, MemoryError):
            return 0


def merge_page(
    hits: list,  # type: ignore[type-arg]
    total: int,
    local: LocalChanges,
    found: list[dict[str, object]],
    held: int,
    make_hit: Callable[[dict[str, object]], object],
    sort_key: Callable[[object], object] | None,
    offset: int,
    limit: int,
) -> tuple[list, int]:  # type: ignore[type-arg]
    """One page of the merged answer. `hits` is the committed index's answer from 0 to at
    least offset + limit + len(local) (so dropping the pending papers' old versions leaves a
    full page). Pending matches come first under relevance (the user just changed them), else
    where the sort puts them."""
    pending = set(local.docs)
    kept = [hit for hit in hits if hit.id not in pending]
    fresh = [make_hit(fields) for fields in found]
    merged = fresh + kept if sort_key is None else sorted([*kept, *fresh], key=sort_key)
    return merged[offset : offset + limit], max(0, total - held + len(fresh))
