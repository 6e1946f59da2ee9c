"""One Whoosh segment as scoring.Segment (postings, lengths, sort keys as arrays), and the caches they share."""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np

from paperreader.core import mapped
from paperreader.core.search import positions, w3format, w3values, warm_files

# -- the vectorised search path -----------------------------------------------------------------
# Whoosh reads the postings; scoring.py scores them as arrays. A segment never changes once
# written (only its deletions do), so decoded postings, lengths and sort keys are kept per
# segment id across searchers, and the words of a query typed one letter at a time are decoded
# once. Memory is bounded by POSTINGS_CACHE_BYTES.
POSTINGS_CACHE_BYTES = 128 * 1024 * 1024
RESULTS_CACHE_BYTES = 32 * 1024 * 1024
WARM_SAVE_FROM_DOCS = 5000  # segments this big keep their warm-up between runs
# Mapped index and warm-up pages kept in the process before they are let go (core/mapped.py):
# a `similar` at 1,000,000 papers maps ~75 MB of term tables, on top of what is kept.
MAPPED_LIMIT = 64 * 1024 * 1024
_EMPTY_IDS = np.empty(0, dtype=np.int32)


class ArrayCache:
    """Least recently used arrays, bounded by their total size in bytes; shared by threads."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: dict[tuple, tuple[int, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], object]) -> object:
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self._items[key] = found  # most recent last
                return found[1]
        value = make()
        nbytes = sum(a.nbytes for a in value) if isinstance(value, tuple) else value.nbytes  # type: ignore[attr-defined]
        with self._lock:
            if key not in self._items:
                self._items[key] = (nbytes, value)
                self.size += nbytes
                while self.size > self.budget and len(self._items) > 1:
                    oldest = next(iter(self._items))
                    self.size -= self._items.pop(oldest)[0]
        return value

    def peek(self, key: tuple) -> object | None:
        with self._lock:
            found = self._items.get(key)
        return None if found is None else found[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


class SharedMaps:
    """One memory map per segment file for the whole process. Each thread has its own Whoosh
    searcher (readers keep file positions), and each opened its own map of every segment: the
    pages they touched were counted once per map (the reader's worker threads took the
    resident size of a 100,000-paper session to ~550 MB). Segment files never change once
    written, so their storages share one map, closed with the last of them."""

    def __init__(self) -> None:
        self._maps: dict[tuple[int, ...], list] = {}  # file identity -> [map, users]
        self._lock = threading.Lock()
        self.total = 0  # bytes of the maps open

    def share(self, fd: int, fresh: mmap.mmap) -> tuple[mmap.mmap, Callable[[], None]]:
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with self._lock:
            entry = self._maps.get(key)
            if entry is None:
                entry = self._maps[key] = [fresh, 0]
                mapped.register(fresh)
                self.total += info.st_size
            else:
                fresh.close()
            entry[1] += 1
        return entry[0], functools.partial(self._release, key)

    def _release(self, key: tuple[int, ...]) -> None:
        with self._lock:
            entry = self._maps.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._maps[key]
                self.total -= key[2]
                with contextlib.suppress(BufferError):  # a view still held: the GC unmaps it
                    entry[0].close()


class SegmentCaches:
    """Everything kept per segment (by segment id) or per reader for the whole process:
    decoded postings and summed scores, the saved warm-ups in use, spelling hashes, term
    expansions, word statistics and the shared segment maps. One object, so that tests can
    start afresh with clear()."""

    def __init__(self) -> None:
        self.arrays = ArrayCache(POSTINGS_CACHE_BYTES)
        # Whole words' summed scores kept between keystrokes (scoring.Extend), apart from the
        # postings so that they never evict them: at 1,000,000 papers four common words' hold
        # ~12 MB, and typing needs the latest one or two.
        self.results = ArrayCache(RESULTS_CACHE_BYTES)
        # Segment id -> its saved warm-up (warm_files.py): memory-mapped, so outside the budget.
        self.saved_warm: dict[str, warm_files.Lists] = {}
        self.warm_tried: set[str] = set()  # segments whose saved warm-up a new searcher looked for
        self.saved_checked: set[tuple[str, str, bytes]] = (
            set()
        )  # saved lists whose ids were checked
        # Segment id -> its saved unions of short prefixes' expansions, mapped (see warm_files).
        self.saved_unions: dict[str, warm_files.Unions] = {}
        # Segment id -> sorted CRC-32s of its spelling words (see spelling.py).
        self.spelling: dict[str, np.ndarray] = {}
        # Segment id -> (the saved warm-up or unions it was made from, a look-up made from them).
        self.saved_lookups: dict[tuple[str, str], tuple[object, dict]] = {}  # type: ignore[type-arg]
        # Term expansions by reader (a reader's terms never change; a new reader starts afresh).
        self.expansions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.expansions_lock = threading.Lock()  # the search and the list's page workers share it
        # (field, word) -> its total frequency (-1: absent), for the segments under "segments".
        self.word_stats: dict[object, object] = {}
        # Segment id -> its positions file mapped (positions.py), None: it has none that fits.
        self.positions: dict[str, positions.PositionsFile | None] = {}
        # The segment files' memory maps: in use by open storages, so never cleared.
        self.maps = SharedMaps()

    def clear(self) -> None:
        """Forget everything kept (not the maps open storages use)."""
        self.arrays.clear()
        self.results.clear()
        self.saved_warm.clear()
        self.warm_tried.clear()
        self.saved_checked.clear()
        self.saved_unions.clear()
        self.spelling.clear()
        self.saved_lookups.clear()
        with self.expansions_lock:
            self.expansions.clear()
        self.word_stats.clear()
        self.positions.clear()


CACHES = SegmentCaches()


def _saved_lookup(key: str, kind: str, saved: object, make: Callable[[], dict]) -> dict:  # type: ignore[type-arg]
    """A look-up over a segment's saved warm-up, made once per load of it: scanning the saved
    lists for a prefix's words and the unions for an expansion's took 12 ms and 0.15 ms a
    keystroke at 1,000,000 papers."""
    entry = CACHES.saved_lookups.get((key, kind))
    if entry is None or entry[0] is not saved:
        entry = CACHES.saved_lookups[(key, kind)] = (saved, make())
    return entry[1]


def saved_words(key: str, saved: warm_files.Lists) -> dict[str, tuple[list[bytes], list[int]]]:
    """Field -> the segment's saved words in order (a prefix's are a range of them) and
    their document counts."""

    def make() -> dict[str, tuple[list[bytes], list[int]]]:
        by_field: dict[str, list[tuple[bytes, int]]] = {}
        for (field, text), (ids, _weights) in saved.items():
            by_field.setdefault(field, []).append((text, len(ids)))
        ordered = {field: sorted(words) for field, words in by_field.items()}
        return {
            field: ([text for text, _ in words], [df for _, df in words])
            for field, words in ordered.items()
        }

    return _saved_lookup(key, "words", saved, make)


def _saved_union(key: str, field: str, terms: tuple[bytes, ...]) -> np.ndarray | None:
    """The segment's saved bits of a union of these words of `field`, if it has them."""
    saved = CACHES.saved_unions.get(key)
    if not saved:
        return None
    by_terms = _saved_lookup(
        key, "unions", saved, lambda: {(f, t): b for (f, _), (t, b) in saved.items()}
    )
    return by_terms.get((field, terms))


class SegmentSource:
    """One Whoosh segment as scoring.py's Segment: postings and columns as arrays."""

    def __init__(self, sub, offset: int, context) -> None:  # type: ignore[no-untyped-def]
        self.sub = sub
        self.offset = offset
        self.reader = sub.reader()
        self.context = context
        self.doc_count = self.reader.doc_count_all()
        self.key = self.reader._segment.segment_id()
        self._titles = None

    def postings(
        self, field: str, term: bytes, *, keep: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """A term's postings, from the saved warm-up or the cache, else decoded (and kept in
        the cache unless `keep` is False)."""
        saved = CACHES.saved_warm.get(self.key)
        if saved is not None and (field, term) in saved:
            found = saved[(field, term)]
            if (self.key, field, term) in CACHES.saved_checked:
                return found
            ids = found[0]
            if not len(ids) or (ids[0] >= 0 and ids[-1] < self.doc_count):
                CACHES.saved_checked.add((self.key, field, term))
                return found
            # (a damaged file: this list is decoded from the index instead)
        key = (self.key, "p", field, term)
        if not keep:
            cached = CACHES.arrays.peek(key)
            return cached if cached is not None else self._read(field, term)  # type: ignore[return-value]
        return CACHES.arrays.get(key, lambda: self._read(field, term))  # type: ignore[return-value]

    def with_positions(
        self, field: str, term: bytes
    ) -> tuple[
        np.ndarray,
        Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
        Callable[[np.ndarray], np.ndarray],
    ]:
        """A term's document numbers, how to read the positions of some of its postings, and
        how to read their weights (a phrase scores only the documents it matched): a list
        not read yet is read once for all three (its blocks kept while the phrase needs them)."""
        key = (self.key, "p", field, term)
        saved = CACHES.saved_warm.get(self.key)
        kept = CACHES.arrays.peek(key)
        if kept is None and saved is not None and (field, term) in saved:
            kept = self.postings(field, term)
        found = self._from_file(field, term)
        if found is not None:  # the segment's positions file: no block to inflate
            ids, counts, flat = found
            weights = (
                kept[1].__getitem__  # type: ignore[index]
                if kept is not None
                else lambda at: self._file_weights(field, counts[at])
            )
            return ids, positions.reader(counts, flat), weights
        if kept is not None:
            ids, weights = kept  # type: ignore[misc]
            return (
                ids,
                functools.partial(w3values.read_positions, self.reader, field, term),
                weights.__getitem__,
            )
        ids, weights, blocks = w3values.read_blocks(self.reader, field, term)
        CACHES.arrays.get(key, lambda: (ids, weights))
        return ids, blocks.positions, weights.__getitem__

    def load_warm(self, folder: Path) -> bool:
        """Use this segment's saved warm-up, if there is one that fits it."""
        if self.key not in CACHES.saved_warm:
            saved = warm_files.load(folder, self.key, self.doc_count)
            if saved is None:
                return False
            (
                CACHES.saved_warm[self.key],
                CACHES.spelling[self.key],
                CACHES.saved_unions[self.key],
            ) = saved
        return True

    def warm_bytes(self) -> int:
        saved = CACHES.saved_warm.get(self.key, {})
        return sum(ids.nbytes + weights.nbytes for ids, weights in saved.values())

    def _read(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray]:
        found = self._from_file(field, term)
        if found is None:
            return w3format.read_postings(self.reader, field, term)
        ids, counts, _flat = found
        return np.array(ids, dtype=np.int32), w3format.small_weights(
            self._file_weights(field, counts)
        )

    def _file_weights(self, field: str, counts: np.ndarray) -> np.ndarray:
        """Whoosh's Positions weights (frequency x the field's boost, stored as a 32-bit
        float) of postings with these position counts (from the positions file)."""
        boost = self.reader.schema[field].format.field_boost
        return (counts.astype(np.float64) * boost).astype(np.float32)

    def _from_file(self, field: str, term: bytes) -> tuple[np.ndarray, ...] | None:
        """The term's documents, their position counts and positions from the segment's
        positions file, if it has them."""
        if self.key not in CACHES.positions:
            CACHES.positions[self.key] = self._positions_file()
        file = CACHES.positions[self.key]
        found = file.find(field, term) if file is not None else None
        if found is None:
            return None
        ids = found[0]
        if not len(ids) or ids[0] < 0 or ids[-1] >= self.doc_count:
            return None
        return found

    def _positions_file(self) -> positions.PositionsFile | None:
        """The segment's positions file, if it has one that fits it: its id and document
        count, and the first and last words' lists as long as their document counts here
        (checked once: every word's, ~35 us each, was 7 ms of a phrase at 1,000,000 papers)."""
        folder = _folder(self.reader)
        file = positions.PositionsFile.open(folder, self.key, self.doc_count) if folder else None
        if file is None:
            return None
        for field, term in file.samples():
            found = file.find(field, term)
            if found is None or len(found[0]) != self.reader.doc_frequency(field, term):
                return None  # (not this segment's lists: its blocks serve)
        return file

    def lengths(self, field: str) -> np.ndarray:
        return CACHES.arrays.get((self.key, "l", field), lambda: self._read_lengths(field))  # type: ignore[return-value]

    def _read_lengths(self, field: str) -> np.ndarray:
        return w3format.read_lengths(self.reader, field, self.doc_count)

    def union(self, field: str, terms: tuple[bytes, ...]) -> np.ndarray:
        """The documents having any of the terms (a prefix's expansions), one bit each. As
        ids, the unions of the prefixes typed at 1,000,000 papers filled the cache and
        evicted the posting lists searches came back for; and turning bits into ids (for
        the prefix's count, then again for its matches) was a tenth of a keystroke."""

        def make() -> np.ndarray:
            seen = np.zeros(self.doc_count, dtype=bool)  # O(documents), unlike a sort
            for term in terms:  # each list is read once here: not worth a place in the cache
                seen[self.postings(field, term, keep=False)[0]] = True
            return np.packbits(seen)

        bits = _saved_union(self.key, field, terms)
        return bits if bits is not None else CACHES.arrays.get((self.key, "u", field, terms), make)  # type: ignore[return-value]

    def remember(
        self, key: tuple, make: Callable[[], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        return CACHES.results.get((self.key, *key), make)  # type: ignore[return-value]

    def opaque(self, query: object) -> tuple[np.ndarray, np.ndarray]:
        matcher = query.matcher(self.sub, self.context)  # type: ignore[attr-defined]
        ids: list[int] = []
        scores: list[float] = []
        while matcher.is_active():
            ids.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
        return np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float64)

    def deleted(self) -> np.ndarray:
        if not self.reader.has_deletions():
            return _EMPTY_IDS
        return np.fromiter(self.reader.deleted_docs_set, dtype=np.int64)

    def sort_keys(self, sort: str) -> np.ndarray:
        """Per-document keys, larger first: dates (for `oldest`, negated) or title ranks."""
        if sort == "title":
            return CACHES.arrays.get((self.key, "s", "title"), self._title_keys)  # type: ignore[return-value]
        if sort == "newest":  # (undated papers have the smallest date: last already)
            return CACHES.arrays.get((self.key, "s", "date"), self._date_keys)  # type: ignore[return-value]
        return CACHES.arrays.get((self.key, "s", "oldest"), self._oldest_keys)  # type: ignore[return-value]

    def _oldest_keys(self) -> np.ndarray:
        """Dates negated, undated papers below every date: last for `oldest` too."""
        dates = CACHES.arrays.get((self.key, "s", "date"), self._date_keys)
        keys = -dates  # type: ignore[operator]
        keys[dates == _undated_key(self.reader.schema)] = -np.inf
        return keys  # type: ignore[no-any-return]

    def _date_keys(self) -> np.ndarray:
        # Whoosh's sortable column values, in order; as floats they still tell days apart.
        column = self.reader.column_reader("date", translate=False)
        return np.fromiter(iter(column), dtype=np.float64, count=self.doc_count)

    def _title_keys(self) -> np.ndarray:
        titles = list(self.reader.column_reader("title_sort", translate=False))
        order = sorted(range(len(titles)), key=titles.__getitem__)
        ranks = np.empty(len(titles), dtype=np.float64)
        ranks[order] = -np.arange(len(titles), dtype=np.float64)  # first title, largest key
        return ranks

    def title(self, docnum: int) -> bytes:
        if self._titles is None:
            self._titles = self.reader.column_reader("title_sort", translate=False)
        return self._titles[docnum]


def _folder(reader) -> Path | None:  # type: ignore[no-untyped-def]
    """The folder of a segment's files (a compound segment's reader overlays its storage)."""
    storage = getattr(reader, "_storage", None)
    folder = getattr(getattr(storage, "b", storage), "folder", None)
    return Path(folder) if folder else None


def _undated_key(schema) -> float:  # type: ignore[no-untyped-def]
    """The date column's value of an undated paper (schema.UNDATED)."""
    from paperreader.core.search.schema import UNDATED

    return float(schema["date"].to_column_value(UNDATED))


def segment_sources(searcher) -> list[SegmentSource]:  # type: ignore[no-untyped-def]
    context = searcher.context()
    return [
        SegmentSource(sub, offset, context)
        for sub, offset in searcher.leaf_searchers()
        if hasattr(sub.reader(), "_terms")  # an empty index has no segment
    ]


def segment_readers(reader) -> list:  # type: ignore[no-untyped-def,type-arg]
    """The readers of an index's segments (one segment's reader is not a MultiReader)."""
    return getattr(reader, "readers", None) or [reader]
