"""Commits to the live index (made by the lease holder): new segments written in bulk, the
older documents of their papers deleted, and the small segments folded into the commit.

Folding is how small segments merge here: the papers of the segments picked (the binary
counter rule of `small_segments`) are indexed again from the records, by the bulk writer,
into the commit's own segment, and those segments dropped. Whoosh's merge re-reads their
postings one at a time in Python (~7 ms a paper: 0.7 s of a 100-paper import into the sample
library went to merging the sample's segment); the bulk writer takes ~1 ms a paper, and the
folded papers are scored from exact lengths (Whoosh's merge sums byte-rounded ones).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from itertools import chain
from pathlib import Path

import numpy as np

from paperreader.core.models import Paper, UserData
from paperreader.core.search import bulk, workers
from paperreader.core.search.schema import document

SMALL_MERGE_DOCS = 10_000  # a commit folds in at most this many papers of older segments

Reload = Callable[[list[str]], Iterable[tuple[Paper, "UserData | None"]]]
Docs = Iterable[dict[str, object]]


def small_segments(segments: list, added: int) -> list:  # type: ignore[type-arg]
    """The segments a commit of `added` papers folds in: fully deleted ones, and the smallest
    while each is no bigger than what is folded so far (the new papers included) and at most
    SMALL_MERGE_DOCS papers move. Like a binary counter: a paper is rewritten about log2(n)
    times, and there are about log2(n) small segments.

    (Whoosh's MERGE_SMALL merges every segment up to the first whose running total is below
    a Fibonacci number of its rank: at 1,000,000 papers (20 segments of 50,000) a few
    segments left by saves passed that bound, and one bookmark's commit set out to rewrite
    the whole index: hours, with every search waiting for it.)"""
    total = max(1, added)
    moved = 0
    picked = []
    for segment in sorted(segments, key=lambda seg: seg.doc_count()):
        live = segment.doc_count()
        if live and (live > total or moved + live > SMALL_MERGE_DOCS):
            break
        picked.append(segment)
        total += live
        moved += live
    return picked


def commit(  # type: ignore[no-untyped-def]
    ix,
    write: Callable[[Docs], list],  # type: ignore[type-arg]
    deletes: Collection[str] = (),
    *,
    added: int = 0,
    reload: Reload | None = None,
) -> None:
    """One commit under the index's write lock: `write(folded_docs)` writes the commit's
    segments (holding the lock, so that no other commit's clean-up takes their files for a
    killed writer's), with the documents of the small segments folded in (see the module
    docstring; none without `reload` or `added`); `deletes` are ids whose older documents go."""
    writer = ix.writer(timeout=10.0)
    try:
        folded = small_segments(writer.segments, added) if added and reload else []
        replaced = set(deletes)
        keep = [i for i in _live_ids(writer, folded) if i not in replaced]
        extra = (document(p, u) for p, u in reload(keep)) if keep and reload else iter(())
        written = write(extra)
        for paper_id in deletes:
            writer.delete_by_term("id", paper_id)
        # (a segment whose papers all went with this commit's deletes is dropped too)
        writer.commit(
            mergetype=lambda w, old: [s for s in old if s not in folded and s.doc_count()] + written
        )
    except BaseException:
        with contextlib.suppress(Exception):
            writer.cancel()
        raise


def foldable_ids(ix, added: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The papers of the segments a commit of `added` papers would fold in: the bulk catch-up
    sends them to its workers with the new papers, so that the commit finds those segments
    emptied and only drops them (no indexing in the committing process)."""
    return _live_ids(ix, small_segments(ix._segments(), added))


def _live_ids(ix, segments: list) -> list[str]:  # type: ignore[no-untyped-def,type-arg]
    from whoosh.reading import SegmentReader

    ids = []
    for segment in segments:
        if segment.doc_count():
            reader = SegmentReader(ix.storage, ix.schema, segment)
            try:
                ids.extend(str(fields["id"]) for fields in reader.all_stored_fields())
            finally:
                reader.close()
    return ids


def _builder(ix) -> bulk.SegmentBuilder:  # type: ignore[no-untyped-def]
    return bulk.SegmentBuilder(ix.schema, ix.storage, workers.codec(), ix.indexname)


def upsert(  # type: ignore[no-untyped-def]
    ix,
    lock: threading.Lock,
    items: Iterable[tuple[Paper, UserData | None]],
    reload: Reload | None = None,
) -> int:
    """Add or replace documents in one commit: the old documents of these ids deleted, the
    new ones written as a segment in bulk (bulk.py), small segments folded in. (Without the
    folding every bookmark or tag edit left one more segment, and searches slowed with each
    edit: 60 edits, 2 ms -> 40 ms on the sample.)"""
    docs: dict[str, dict[str, object]] = {}
    for paper, user in items:
        doc = document(paper, user)
        docs[str(doc["id"])] = doc  # (a paper twice in one batch: the last one)
    if not docs:
        return 0

    def write(folded: Docs) -> list:  # type: ignore[type-arg]
        builder = _builder(ix)
        for doc in chain(folded, docs.values()):
            builder.add(doc)
        return [builder.write()]

    with lock:
        commit(ix, write, deletes=docs, added=len(docs), reload=reload)
    return len(docs)


def add_segments(  # type: ignore[no-untyped-def]
    ix,
    lock: threading.Lock,
    folder: Path,
    written: list[workers.Written],
    maybe_indexed: Callable[[list[str]], list[str]] | None = None,
) -> int:
    """Commit segments written in `folder` (a bulk catch-up's workers, see stream.py): their
    files moved into the index's folder under the write lock, the older documents of their
    papers deleted (looked for among `maybe_indexed(ids)` if given, else among all). Nothing
    is folded here: the catch-up sends the papers of the small segments to its workers
    instead (indexing 7,500 folded papers here took 10 s, with the workers waiting for their
    next papers). Returns the papers added."""
    ids = [paper_id for w in written for paper_id in w.ids]
    if not written:
        return 0
    with lock:
        candidates = ids if maybe_indexed is None else maybe_indexed(ids)
        older: list[str] = []
        if candidates:
            with ix.reader() as reader:
                older = [paper_id for paper_id in candidates if ("id", paper_id) in reader]

        def move(_folded: Docs) -> list:  # type: ignore[type-arg]
            names = os.listdir(folder)
            for w in written:
                prefix = w.segment.segment_id()
                for name in names:
                    if name.startswith(prefix):
                        os.replace(folder / name, Path(ix.storage.folder) / name)
            return [w.segment for w in written]

        commit(ix, move, deletes=older)
    return len(ids)


def index_ids(ix) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Every id with a document in the index (and some whose documents were deleted)."""
    from whoosh.reading import SegmentReader

    for segment in ix._segments():
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            yield from (term.decode("utf-8") for term in reader.lexicon("id"))
        finally:
            reader.close()


class IndexedIds:
    """The ids that may have a document in the index, as hashes (of this process: a
    superset, never one missed), for a bulk catch-up's commits to look only those up in the
    index's id tables. Looking up every paper took 5 s a commit of 30,000 at 1,000,000
    papers (36 segments), and mapped ~9 MB of term tables a segment into the indexer; an
    import's new papers are in no segment. The hashes stay in the sorted runs they came in
    (one a commit): merging them made ever larger temporary arrays, and the indexer's heap
    grew in steps with each merge (46 -> 95 MB over 1,000,000 papers)."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._runs: list[np.ndarray] = []
        self.add(ids)

    def add(self, ids: Iterable[str]) -> None:
        hashes = _hashes(ids)
        if not hashes.size:
            return
        hashes.sort()
        self._runs.append(hashes)

    def maybe(self, ids: list[str]) -> list[str]:
        """Those of `ids` that may be in the index."""
        if not ids or not self._runs:
            return []
        hashes = _hashes(ids)
        seen = np.zeros(len(ids), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, hashes), run.size - 1)
            seen |= run[at] == hashes
        return [paper_id for paper_id, hit in zip(ids, seen.tolist(), strict=True) if hit]


def _hashes(ids: Iterable[str]) -> np.ndarray:
    return np.fromiter((hash(paper_id) for paper_id in ids), dtype=np.int64)
