"""Everything Whoosh: schema, open/rebuild, search, suggestions, highlights, similar papers.

No other module imports whoosh. The index is a cache of the paper records plus the user's
tags, notes and flags; it can be thrown away and rebuilt at any time.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import heapq
import io
import math
import mmap
import os
import pickle
import re
import shutil
import threading
import time
import weakref
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from struct import Struct

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import (
    CharsetFilter,
    IntraWordFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.classify import Bo1Model, Expander
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3LeafMatcher,
    W3PerDocReader,
    _lenfield,
)
from whoosh.collectors import TopCollector
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.matching import ListMatcher, ReadTooFar
from whoosh.qparser import (
    FieldAliasPlugin,
    FuzzyTermPlugin,
    GtLtPlugin,
    MultifieldParser,
    OrGroup,
)
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.reading import MultiReader, TermNotFound
from whoosh.support.charset import accent_map
from whoosh.util.numeric import byte_to_length

from paperreader.core import mapped, scoring, warm_files
from paperreader.core.errors import PaperreaderError, QueryError
from paperreader.core.models import Hit, Paper, ReadState, SearchResult, UserData, normalise_title

SCHEMA_VERSION = "4"
DEFAULT_FIELDS = ["title", "abstract", "authors", "tags", "note", "ids"]
FIELD_ALIASES = {
    "authors": ["author", "by"],
    "tags": ["tag"],
    "note": ["notes"],
    "date": ["year", "published"],
    "ids": ["id", "arxiv", "doi"],
}
SORTS = ("relevance", "newest", "oldest", "title")
UNDATED = datetime(1900, 1, 1)
# Prefix and fuzzy queries expand to at most this many index terms (the most frequent ones):
# an unbounded `trans*` ORs hundreds of terms and takes seconds on a large library.
MAX_EXPANSIONS = 64
MAX_SCANNED_TERMS = 4000
# A prefix of two or three letters stands for hundreds of words, most of them common: its
# most frequent few are as good a guess, and decoding 64 of them at 100,000 papers took 0.4 s.
SHORT_PREFIX_EXPANSIONS = {1: 4, 2: 8, 3: 24}
PARTIAL_MIN = 2  # a partial last word this long is also searched as a prefix
PARTIAL_EXPANSIONS = 24  # ... and expands to this many words past 3 letters
# `word~5` builds a Levenshtein automaton that took 47 s on 98 papers: 2 edits is plenty.
MAX_FUZZY_DISTANCE = 2
WRITER_ARGS: dict[str, object] = {"limitmb": 128}
COMMIT_COALESCE = 0.5  # seconds a background commit waits for more saves (see _WriteQueue)
# A rebuild of at least this many papers runs in parallel processes (see rebuild()).
PARALLEL_REBUILD_FROM = 5000
MAX_REBUILD_PROCS = 2
# A rebuild commits a segment set every REBUILD_CHUNK papers. Whoosh's final postings write
# grows faster than the papers: 100,000 papers build in ~5 min, but one writer for 1,000,000
# spent 43 min adding and over an hour in the final write (36 GB of temporary runs).
# Chunks keep the rebuild linear and its temporary files small.
REBUILD_CHUNK = 100_000
SMALL_MERGE_DOCS = 10_000  # a commit merges at most this many papers' older segments


def _cached_length_reader(self, fieldname, column):  # type: ignore[no-untyped-def]
    """Whoosh caches a segment's field-length reader only when the field has lengths, so for
    every posting of the other fields (spelling, ids, flags) it stats a file again: a fifth of
    all indexing time. Remember the misses too (the segment's files no longer change)."""
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


W3PerDocReader._cached_reader = _cached_length_reader


def _multi_terms_within(self, fieldname, text, maxdist, prefix=0):  # type: ignore[no-untyped-def]
    """Fuzzy term look-up over several segments: each segment's own automaton, not Whoosh's
    fallback for a multi-segment reader, which computes an edit distance in Python for every
    term of the field (`attenton~2`: 11.5 s at 10,000 papers once the index had 2 segments)."""
    seen: set[str] = set()
    for reader in self.readers:
        for word in reader.terms_within(fieldname, text, maxdist, prefix=prefix):
            if word not in seen:
                seen.add(word)
                yield word
        # Its walk maps much of the segment's term table: `transformer~1` mapped 280 MB over
        # the 20 segments of 1,000,000 papers, when trimmed only after the search.
        mapped.trim(MAPPED_LIMIT)


MultiReader.terms_within = _multi_terms_within


class _ViewIO:
    """A read-only file over a memoryview: what BufferFile wraps in a BytesIO, which copies."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        data = bytes(self._view[self._pos : end])
        self._pos += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        rest = self._view[self._pos :]
        newline = bytes(rest[:4096]).find(b"\n")  # pickled headers are short
        end = newline + 1 if newline >= 0 else len(rest)
        if size is not None and size >= 0:
            end = min(end, size)
        return self.read(end)

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = base + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()


class _ViewFile(BufferFile):
    """A file inside a memory-mapped compound segment, read in place. Whoosh's BufferFile
    copies the whole sub-file into a BytesIO, so every reader opened (start-up, each search
    after a change, each save's writer) copied most of the index into the heap: 2.6 GB peak
    and 0.75 s to open at 100,000 papers."""

    def __init__(self, view: memoryview, name: str | None = None) -> None:
        StructFile.__init__(self, _ViewIO(view), name=name)
        self._buf = view
        self.pread_at: tuple[int, int] | None = None

    def get(self, position: int, length: int) -> bytes:
        # Whoosh's look-ups (term tables, column headers) read a few bytes at scattered
        # places. In an index too big to keep mapped, each page touched stayed resident
        # (with up to 15 neighbours the kernel maps along) until a trim, then came back as
        # a fault: at 1,000,000 papers a look-up's read cost ~80 us, and a session's peak
        # was 490 MB (275 with pread). A smaller index keeps its pages: a read from the map
        # is cheaper than a system call (typing at 100,000 papers: p95 12 ms, 26 with pread).
        if self.pread_at is not None and _MAPS.total > PREAD_FROM_BYTES:
            fd, base = self.pread_at
            return os.pread(fd, length, base + position)
        return bytes(self._buf[position : position + length])


def _compound_open_file(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
    if self._source is None or self.is_closed:
        return _whoosh_compound_open_file(self, name, *args, **kwargs)
    offset, length = self.range(name)
    view = _ViewFile(memoryview(self._source)[offset : offset + length], name=name)
    if self._pread_fd is not None:
        view.pread_at = (self._pread_fd, offset)  # see _SegmentSource._read
    return view


class _SharedMaps:
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


_MAPS = _SharedMaps()


def _compound_init(self, dbfile, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Keep a descriptor of the segment file (Whoosh closes its own once mapped) for reading
    posting lists with pread, and map the file once per process (_SharedMaps). Both are
    released with the storage, or when it is collected."""
    fd = None
    with contextlib.suppress(Exception):
        fd = os.dup(dbfile.fileno())
    _whoosh_compound_init(self, dbfile, *args, **kwargs)
    self._pread_fd = fd
    release_map = None
    if fd is not None and self._source is not None:
        self._source, release_map = _MAPS.share(fd, self._source)
    self._pread_closer = (
        weakref.finalize(self, _close_segment_file, fd, release_map) if fd is not None else None
    )


def _close_segment_file(fd: int, release_map: Callable[[], None] | None) -> None:
    os.close(fd)
    if release_map is not None:
        release_map()


def _compound_close(self):  # type: ignore[no-untyped-def]
    closer = getattr(self, "_pread_closer", None)
    if closer is not None:
        self._source = None  # the shared map is not this storage's to close: closer releases it
    try:
        return _whoosh_compound_close(self)
    finally:
        if closer is not None:
            closer()


_whoosh_compound_open_file = CompoundStorage.open_file
_whoosh_compound_init = CompoundStorage.__init__
_whoosh_compound_close = CompoundStorage.close
CompoundStorage.open_file = _compound_open_file
CompoundStorage.__init__ = _compound_init
CompoundStorage.close = _compound_close

_WORD = r"\w+(?:[-'.]\w+)*"
TEXT_ANALYZER = (
    RegexTokenizer(_WORD)
    | IntraWordFilter(mergewords=True, mergenums=True)
    | LowercaseFilter()
    | CharsetFilter(accent_map)
    | StopFilter(minsize=1)
    | StemFilter(cachesize=50000)
)
NAME_ANALYZER = RegexTokenizer(r"\w+") | LowercaseFilter() | CharsetFilter(accent_map)


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        ids=KEYWORD(lowercase=True, commas=True),
        title=TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=3.0, spelling=True),
        title_sort=ID(sortable=True),
        authors=TEXT(analyzer=NAME_ANALYZER, field_boost=1.5),
        first_author=STORED,
        abstract=TEXT(analyzer=TEXT_ANALYZER, spelling=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True, field_boost=2.0),
        note=TEXT(analyzer=TEXT_ANALYZER, field_boost=2.0),  # the user's own words
        flags=KEYWORD(stored=True, lowercase=True),
        state=ID(stored=True),
        date=DATETIME(stored=True, sortable=True),
    )


def flags_for(paper: Paper, user: UserData | None) -> list[str]:
    flags = []
    if user and user.bookmarked:
        flags.append("bookmarked")
    if user and user.note and user.note.text.strip():
        flags.append("note")
    if user and user.tags:
        flags.append("tagged")
    if paper.code_url:
        flags.append("code")
    if paper.arxiv_id:
        flags.append("arxiv")
    return flags


def document(paper: Paper, user: UserData | None) -> dict[str, object]:
    ids = [paper.id, paper.arxiv_id or "", paper.doi or ""]
    doc: dict[str, object] = {
        "id": paper.id,
        "ids": ",".join(i.lower() for i in ids if i),
        "title": paper.title,
        "title_sort": normalise_title(paper.title)[:200] or "~",
        "authors": " ; ".join(paper.authors),
        "first_author": paper.first_author,
        "abstract": paper.abstract,
        "tags": ",".join(user.tags) if user else "",
        "note": user.note.text if user and user.note else "",
        "flags": " ".join(flags_for(paper, user)),
        "state": (user.state if user else ReadState.UNREAD).value,
    }
    when = paper.published
    # Undated papers get a sentinel, so "newest" lists them last, as the SQLite list does
    # (Whoosh sorted missing dates first when reversed).
    doc["date"] = datetime(when.year, when.month, when.day) if when else UNDATED
    return doc


# Term expansions by reader (a reader's terms never change; a new reader starts afresh).
_EXPANSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EXPANSIONS_LOCK = threading.Lock()  # the search and the list's page workers share it


class _Bounded:
    """Mixin: expand to the most frequent matching terms only, ORed with a preloading matcher."""

    def _btexts(self, ixreader):  # type: ignore[no-untyped-def]
        # Asked for by the plan, the matcher and the highlights, and again at each keystroke
        # for the words already typed: expand once per reader and query term.
        with _EXPANSIONS_LOCK:
            cache = _EXPANSIONS.setdefault(ixreader, {})
        key = self._cache_key()
        if key not in cache:
            cache[key] = self._expand(ixreader)
        return cache[key]

    def _cache_key(self) -> tuple:
        q = self  # a Prefix or a FuzzyTerm
        return (type(q), q.field(), q.text, getattr(q, "maxdist", 0), getattr(q, "prefixlength", 0))  # type: ignore[attr-defined]

    def _expand(self, ixreader):  # type: ignore[no-untyped-def]
        scanned = islice(super()._btexts(ixreader), MAX_SCANNED_TERMS)  # type: ignore[misc]
        field = self.field()  # type: ignore[attr-defined]
        ranked = sorted(scanned, key=lambda t: -ixreader.doc_frequency(field, t))
        return ranked[:MAX_EXPANSIONS]

    def matcher(self, searcher, context=None):  # type: ignore[no-untyped-def]
        from whoosh import matching

        terms = [Q.Term(self.field(), t) for t in self._btexts(searcher.reader()) if t]  # type: ignore[attr-defined]
        if not terms:
            return matching.NullMatcher()
        if len(terms) == 1:
            return terms[0].matcher(searcher, context)
        union = Q.Or(terms, boost=self.boost)  # type: ignore[attr-defined]
        union.matcher_type = Q.Or.ARRAY_MATCHER
        return union.matcher(searcher, context)


class BoundedPrefix(_Bounded, Q.Prefix):
    """A prefix scored as one word (constant score: the BM25 weight of a one-occurrence word
    as rare as all its expansions together), as Lucene does. Scoring every posting of up to
    64 expansions in Python was most of an as-you-type search (`la` at 100,000 papers), and
    a constant lets top-N pruning skip the prefix's postings once it cannot matter."""

    partial = False  # a word still being typed (PartialPrefix), not a written `word*`

    def _expand(self, ixreader):  # type: ignore[no-untyped-def]
        # Each segment's term table gives its words' document counts as it is walked (a
        # multi-segment reader looks every word up again in every segment: 0.2 s for `de`).
        field = self.field()
        wanted = _wanted(len(self.text), partial=self.partial)
        readers = _segment_readers(ixreader)
        saved = _saved_expansions(readers, field, self.text, wanted)
        if saved is not None:
            return saved
        counts: dict[bytes, int] = {}
        for reader in readers:
            for text, info in islice(reader.iter_prefix(field, self.text), MAX_SCANNED_TERMS):
                counts[text] = counts.get(text, 0) + info.doc_frequency()
        return _most_common(counts, wanted)

    def matcher(self, searcher, context=None):  # type: ignore[no-untyped-def]
        from whoosh import matching

        reader = searcher.reader()
        field = self.field()
        ids: set[int] = set()
        for text in self._btexts(reader):
            ids.update(_posting_ids(reader, field, text))
        deleted = reader.deleted_docs_set if hasattr(reader, "deleted_docs_set") else None
        if deleted:
            ids -= deleted
        if not ids:
            return matching.NullMatcher()
        return _ConstantMatcher(sorted(ids), self.boost * _one_hit_score(searcher, field, len(ids)))


class PartialPrefix(BoundedPrefix):
    """The last word of a query being typed, as a prefix: fewer expansions past 3 letters
    than a written `word*` (each costs a list read in every segment: `quant` with 64 took
    ~200 ms at 1,000,000 papers), since the next letters narrow it anyway."""

    partial = True


def _wanted(length: int, *, partial: bool) -> int:
    """How many of a prefix's most common words it expands to."""
    if length in SHORT_PREFIX_EXPANSIONS:
        return SHORT_PREFIX_EXPANSIONS[length]
    return PARTIAL_EXPANSIONS if partial else MAX_EXPANSIONS


def _segment_readers(reader) -> list:  # type: ignore[no-untyped-def,type-arg]
    """The readers of an index's segments (one segment's reader is not a MultiReader)."""
    return getattr(reader, "readers", None) or [reader]


def _saved_expansions(readers: list, field: str, prefix: str, wanted: int) -> list[bytes] | None:  # type: ignore[type-arg]
    """A prefix's `wanted` most common words, from the saved warm-ups when every big segment
    has one: they hold the library's most common words, and any word left out is rarer than
    those kept, so `wanted` of them with the prefix are its most common. At 1,000,000 papers
    walking the term tables for `re` took 0.5 s (and decoding its words' lists 0.4 s more:
    these are mapped). None when the saved words cannot answer."""
    big = [
        r for r in readers if r.doc_count_all() >= WARM_SAVE_FROM_DOCS and hasattr(r, "_segment")
    ]
    # A common prefix's expansions were saved with its union, counted over the big segments.
    unions = [_SAVED_UNIONS.get(r._segment.segment_id(), {}).get((field, prefix)) for r in big]
    if (
        wanted == _wanted(len(prefix), partial=True)
        and big
        and all(unions)
        and len({u[0] for u in unions if u}) == 1
    ):
        return list(unions[0][0])  # type: ignore[index]
    start = prefix.encode()
    counts: dict[bytes, int] = {}
    for reader in big:
        key = reader._segment.segment_id()
        saved = _SAVED_WARM.get(key)
        if saved is None:
            return None
        texts, dfs = _saved_words(key, saved).get(field, ([], []))
        # (UTF-8 has no 0xFF byte: every word with the prefix sorts below prefix + 0xFF)
        for at in range(bisect_left(texts, start), bisect_left(texts, start + b"\xff")):
            counts[texts[at]] = counts.get(texts[at], 0) + dfs[at]
    if len(counts) < wanted:
        return None
    return _most_common(counts, wanted)


def _most_common(counts: dict[bytes, int], wanted: int) -> list[bytes]:
    """The `wanted` words with the largest counts, largest first."""
    return [text for _, text in heapq.nlargest(wanted, ((df, t) for t, df in counts.items()))]


def _keep_top(top: list[tuple[int, bytes]], size: int, item: tuple[int, bytes]) -> None:
    """Add `item` to the heap `top` of the `size` largest seen so far."""
    if len(top) < size:
        heapq.heappush(top, item)
    elif item > top[0]:
        heapq.heapreplace(top, item)


def _one_hit_score(searcher, field: str, df: int) -> float:  # type: ignore[no-untyped-def]
    """BM25F (Whoosh's defaults) of a word occurring once in a field of average length."""
    idf = math.log(searcher.doc_count_all() / (df + 1)) + 1.0
    tf = getattr(searcher.schema[field].format, "field_boost", 1.0)  # postings' weights carry it
    k1 = 1.2
    return idf * tf * (k1 + 1) / (tf + k1)


class _ConstantMatcher(ListMatcher):
    """Sorted document numbers, every one with the same score, skippable by that score."""

    def __init__(self, ids: list[int], score: float, position: int = 0) -> None:
        super().__init__(ids, all_weights=score, position=position)
        self._const = score

    def copy(self):  # type: ignore[no-untyped-def]
        return _ConstantMatcher(self._ids, self._const, self._i)

    def supports(self, astype):  # type: ignore[no-untyped-def]
        return False

    def supports_block_quality(self) -> bool:
        return True

    def max_quality(self) -> float:
        return self._const

    def block_quality(self) -> float:
        return self._const

    def block_max_id(self) -> int:
        return self._ids[-1]

    def score(self) -> float:
        return self._const

    def skip_to(self, id: int) -> None:  # noqa: A002 (Whoosh's name)
        if not self.is_active():
            raise ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def skip_to_quality(self, minquality: float) -> int:
        if self._const <= minquality and self.is_active():
            self._i = len(self._ids)
            return 1
        return 0


class BoundedFuzzy(_Bounded, Q.FuzzyTerm):
    """`word~`: the words within the edit distance of the word as written, searched by their
    stems. The parser hands over the stem ("transformer~" arrives as "transform"), but in a
    field with spelling words Whoosh compares with those unstemmed words, and "transform"
    is no title word; so the word as written is kept (`word`) and compared instead."""

    def __init__(self, *args, word: str | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.word = word or self.text

    def _cache_key(self) -> tuple:
        return (*super()._cache_key(), self.word)

    def _expand(self, ixreader):  # type: ignore[no-untyped-def]
        field = self.field()
        if not getattr(ixreader.schema[field], "spelling", False):  # names, tags, ids, notes
            return super()._expand(ixreader)
        words = ixreader.terms_within(field, self.word, self.maxdist, prefix=self.prefixlength)
        found = {
            t.text.encode("utf-8")
            for w in islice(words, MAX_SCANNED_TERMS)
            for t in TEXT_ANALYZER(w)
        }
        return sorted(found, key=lambda t: -ixreader.doc_frequency(field, t))[:MAX_EXPANSIONS]


_FILTER_WORDS = {
    "is:bookmarked": "flags:bookmarked",
    "is:starred": "flags:bookmarked",
    "is:unread": "state:unread",
    "is:reading": "state:reading",
    "is:read": "state:read",
    "has:note": "flags:note",
    "has:notes": "flags:note",
    "has:tag": "flags:tagged",
    "has:tags": "flags:tagged",
    "has:code": "flags:code",
}
_FILTER_RE = re.compile(r"(?<![\w:])(?:is|has):\w+", re.I)
_PLAIN_WORD = re.compile(r"""(?<![\w:"*~'-])([^\W\d_][\w'-]*)(?![\w:*~])""")
_OPERATORS = {"and", "or", "not", "to"}
_PLAIN_TOKEN = re.compile(r"[^\W\d_][\w'-]*")  # a word _PLAIN_WORD finds, alone
_FUZZY_WORD = re.compile(r"(\w+)~")
_FIELDED = re.compile(r'(?<![^\s(])\w+:(?:"[^"]*"|\[[^\]]*\]|\{[^}]*\}|[^\s()]+)')
_SORT_FACETS = {"newest": ("date", True), "oldest": ("date", False), "title": ("title_sort", False)}


_LONG_FIELDS = ("title", "abstract")


def _typed_prefixes(word: str) -> list[Q.Query]:
    """The word being typed, last in the query, also as a prefix of the long fields' words."""
    last = word.lower()
    if len(last) < PARTIAL_MIN:
        return []
    return [PartialPrefix(f, last, boost=0.9) for f in _LONG_FIELDS]


class _Typing(Q.Or):
    """Or([the words before, the parts of the word after them]): to Whoosh, an Or; to the
    search, a union whose first part it keeps between keystrokes (scoring.Extend)."""


def rewrite_filters(text: str) -> str:
    """`is:bookmarked`, `has:note` and friends become terms of the index's flag fields."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        if word not in _FILTER_WORDS:
            raise QueryError(
                f"unknown filter {m.group(0)!r}; known: " + ", ".join(sorted(_FILTER_WORDS))
            )
        return _FILTER_WORDS[word]

    return _FILTER_RE.sub(swap, text)


class IndexDamaged(PaperreaderError):
    """The index could not be read or written. It is a cache: the library rebuilds it."""


def _guarded(method):  # type: ignore[no-untyped-def]
    """Whoosh failures (a TOC or segment damaged after open, a writer lock held too long)
    become one clear IndexDamaged line instead of a raw traceback in the UI."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(self, *args, **kwargs)
        except PaperreaderError:
            raise
        except Exception as exc:
            raise IndexDamaged(
                f"{self.path}: the search index failed ({type(exc).__name__}: "
                f"{str(exc)[:120]}); it is rebuilt when paperreader next starts"
            ) from exc

    return run


def merge_small_segments(writer, segments: list) -> list:  # type: ignore[no-untyped-def,type-arg]
    """A commit's merge policy: fully deleted segments are dropped, and the smallest ones
    merged into the new segment while each is no bigger than what is merged so far (the new
    papers included) and at most SMALL_MERGE_DOCS papers are moved. Like a binary counter: a
    paper is rewritten about log2(n) times, and there are about log2(n) small segments.

    Whoosh's MERGE_SMALL merges every segment up to the first whose running total is below
    a Fibonacci number of its rank: at 1,000,000 papers (20 segments of 50,000) a few
    segments left by saves passed that bound, and one bookmark's commit set out to rewrite
    the whole index (hours, with every search waiting for it)."""
    from whoosh.reading import SegmentReader

    total = max(1, writer.docnum - writer.docbase)  # the commit's own papers
    moved = 0
    merged: list = []  # type: ignore[type-arg]
    for segment in sorted(segments, key=lambda seg: seg.doc_count()):
        live = segment.doc_count()
        if live and (live > total or moved + live > SMALL_MERGE_DOCS):
            break
        if live:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        merged.append(segment)
        total += live
        moved += live
    return [seg for seg in segments if seg not in merged]


class _WriteQueue:
    """Documents waiting for a background commit to one index folder, by paper id.

    One queue per folder per process, so that every SearchIndex of that folder (a second
    Library instance, a CLI command run in-process) sees the writes in order."""

    _all: dict[str, _WriteQueue] = {}
    _all_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.docs: dict[str, dict[str, object]] = {}
        self.cv = threading.Condition()
        self.thread: threading.Thread | None = None
        self.busy = False
        self.waiting = 0  # readers in flush(): commit at once
        self.error: BaseException | None = None
        self.on_error: Callable[[BaseException], None] | None = None

    @classmethod
    def for_path(cls, path: Path) -> _WriteQueue:
        key = str(Path(path).resolve())
        with cls._all_lock:
            if key not in cls._all:
                cls._all[key] = cls(Path(key))
            return cls._all[key]

    def put(
        self, docs: list[dict[str, object]], on_error: Callable[[BaseException], None] | None
    ) -> None:
        with self.cv:
            if on_error is not None:
                self.on_error = on_error
            for doc in docs:
                self.docs[str(doc["id"])] = doc  # a newer save of a paper replaces the older
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="paperreader-index-writer", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        while True:
            with self.cv:
                # Saves in a burst (tagging papers one after another) wait for each other, so
                # that a commit's segment write does not land between them: on ext4 a save's
                # fsync then waited for the segment's data too (50-150 ms instead of 3 ms).
                # A read (flush) does not wait.
                deadline = time.monotonic() + COMMIT_COALESCE
                while self.docs and not self.waiting and time.monotonic() < deadline:
                    self.cv.wait(max(0.0, deadline - time.monotonic()))
                if not self.docs:
                    self.thread = None
                    self.cv.notify_all()
                    return
                docs = list(self.docs.values())
                self.docs.clear()
                self.busy = True
            try:
                self._commit(docs)
            except BaseException as exc:  # kept for the next flush() to raise
                self.error = IndexDamaged(
                    f"{self.path}: the search index failed ({type(exc).__name__}: "
                    f"{str(exc)[:120]}); it is rebuilt when paperreader next starts"
                )
                if self.on_error is not None:
                    with contextlib.suppress(Exception):
                        self.on_error(exc)
            with self.cv:
                self.busy = False
                self.cv.notify_all()

    def _commit(self, docs: list[dict[str, object]]) -> None:
        ix = whoosh_index.open_dir(str(self.path))  # the folder's current index (rebuilds swap it)
        try:
            writer = ix.writer(timeout=10.0, **WRITER_ARGS)
            try:
                for doc in docs:
                    writer.update_document(**doc)
                writer.commit(mergetype=merge_small_segments)
            except BaseException:
                writer.cancel()
                raise
        finally:
            ix.close()

    def flush(self) -> None:
        if not (self.docs or self.busy or self.error):
            return
        with self.cv:
            self.waiting += 1
            self.cv.notify_all()  # the writer commits now instead of waiting for more
            try:
                while self.docs or self.busy:
                    self.cv.wait()
            finally:
                self.waiting -= 1
            error, self.error = self.error, None
        if error is not None:
            raise error

    @classmethod
    def flush_all(cls) -> None:
        for queue in list(cls._all.values()):
            with contextlib.suppress(Exception):
                queue.flush()


atexit.register(_WriteQueue.flush_all)


class SearchIndex:
    """A Whoosh index in a folder; one long-lived searcher per thread, refreshed after writes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = make_schema()
        self._ix: whoosh_index.Index | None = None
        self._local = threading.local()
        self._generation = 0
        self._write_lock = threading.Lock()
        self._writes = _WriteQueue.for_path(self.path)
        self._parser = self._make_parser()

    # -- opening -----------------------------------------------------------------------------
    def open(self) -> str | None:
        """Open the index; returns why it must be rebuilt (missing, unreadable, old), or None."""
        version_file = self.path / "paperreader-schema"
        try:
            if not whoosh_index.exists_in(str(self.path)):  # reads the TOC: may raise too
                return "the search index is missing"
            if version_file.read_text().strip() != SCHEMA_VERSION:
                return "the search index is from an older paperreader"
            self._ix = whoosh_index.open_dir(str(self.path))
            with self._ix.searcher() as s:
                s.doc_count()
        except Exception as exc:  # any corruption: the index is only a cache
            self._ix = None
            return f"the search index is unreadable ({type(exc).__name__})"
        return None

    @property
    def ix(self) -> whoosh_index.Index:
        if self._ix is None:
            raise RuntimeError("index not open")
        return self._ix

    def rebuild(
        self,
        items: Iterable[tuple[Paper, UserData | None]],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Build a fresh index beside the old one, then swap it in."""
        with contextlib.suppress(Exception):  # queued writes are in the items anyway
            self.flush()
        fresh = self.path.with_name(self.path.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        ix = whoosh_index.create_in(str(fresh), self.schema)
        count = 0
        items = iter(items)
        head = list(islice(items, PARALLEL_REBUILD_FROM))
        writer_args = self._rebuild_writer_args(len(head))
        writer = ix.writer(**writer_args)
        try:
            for paper, user in chain(head, items):
                writer.add_document(**document(paper, user))
                count += 1
                if progress and count % 1000 == 0:
                    progress(count)
                if count % REBUILD_CHUNK == 0:
                    writer.commit(merge=False)  # merging would redo the work chunks avoid
                    writer = None
                    writer = ix.writer(**writer_args)
            writer.commit(merge=False)
        except BaseException:
            # Committed chunks stay in the .new folder: the next rebuild clears it.
            if writer is not None:
                writer.cancel()
            raise
        (fresh / "paperreader-schema").write_text(SCHEMA_VERSION)
        self.close()
        old = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.path.exists():
            self.path.rename(old)
        fresh.rename(self.path)
        shutil.rmtree(old, ignore_errors=True)
        self._ix = whoosh_index.open_dir(str(self.path))
        self._generation += 1
        if progress:
            progress(count)
        return count

    @staticmethod
    def _rebuild_writer_args(head: int) -> dict[str, object]:
        """A large rebuild indexes in one process per core (about 2x on 2 cores) and keeps
        their segments as they are (merging them would cost what the second core saved).
        Only from a single-threaded process: forking beside the UI's threads is not safe."""
        procs = min(MAX_REBUILD_PROCS, os.cpu_count() or 1)
        if head < PARALLEL_REBUILD_FROM or procs < 2 or threading.active_count() > 1:
            return {**WRITER_ARGS, "limitmb": 256}
        return {**WRITER_ARGS, "procs": procs, "multisegment": True, "batchsize": 256}

    def close(self) -> None:
        try:  # a failed background commit already called its on_error (the next start rebuilds)
            with contextlib.suppress(IndexDamaged):
                self.flush()
        finally:
            # A damaged index may fail even to close: it is a cache, let it go.
            searcher = getattr(self._local, "searcher", None)
            self._local.searcher = None
            if searcher is not None:
                with contextlib.suppress(Exception):
                    searcher.close()
            if self._ix is not None:
                with contextlib.suppress(Exception):
                    self._ix.close()
                self._ix = None

    # -- writing -----------------------------------------------------------------------------
    @_guarded
    def upsert(self, items: Iterable[tuple[Paper, UserData | None]]) -> int:
        """Add or replace documents in one commit."""
        self.flush()  # a queued older version of a paper must not land after this one
        count = 0
        with self._write_lock:
            writer = self.ix.writer(timeout=10.0, **WRITER_ARGS)
            try:
                for paper, user in items:
                    writer.update_document(**document(paper, user))
                    count += 1
                # Merge small segments: without it every bookmark or tag edit left one more
                # segment and searches slowed with each edit (60 edits: 2 ms -> 40 ms on
                # the sample).
                writer.commit(mergetype=merge_small_segments)
            except BaseException:
                writer.cancel()
                raise
        # No generation bump needed: each thread's searcher sees the new TOC and reopens.
        return count

    @_guarded
    def upsert_soon(
        self,
        items: Iterable[tuple[Paper, UserData | None]],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Queue documents for a background commit and return at once.

        A commit costs 50-100 ms (Whoosh writes a segment per commit), which a bookmark or a
        note save should not wait for. Nothing reads the index out of date: every read
        (`searcher()`), every other write and close() first wait for the queue (`flush()`),
        as does the interpreter's exit; if the process is killed first, the YAML store
        already holds the change and the next start brings it into the index. A failed
        commit calls `on_error` (in the writer thread) and is raised by the next flush()."""
        if self._writes.error is not None:
            self.flush()  # raises the error of the failed earlier commit
        self.ix._read_toc()  # an index already unreadable fails here, before anything is queued
        self._writes.put([document(paper, user) for paper, user in items], on_error)

    def flush(self) -> None:
        """Wait for the queued background writes; raise the error of one that failed."""
        self._writes.flush()

    def optimize(self) -> None:
        self.flush()
        with self._write_lock:
            self.ix.writer(**WRITER_ARGS).commit(optimize=True)
            self._generation += 1

    # -- reading -----------------------------------------------------------------------------
    def searcher(self):  # type: ignore[no-untyped-def]
        """This thread's searcher, refreshed when the index changed (here or in another process)."""
        self.flush()
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is None or local.generation != self._generation or searcher.ixreader is None:
            if searcher is not None:
                local.searcher = None
                searcher.close()
            searcher = self._open_searcher()
            local.searcher, local.generation = searcher, self._generation
        elif not searcher.up_to_date():
            # Never Searcher.refresh(): Whoosh's reader reuse keeps the segments a merge
            # removed, so merged papers showed twice (and an empty index cannot refresh).
            local.searcher = None  # closed: never left behind if reopening fails
            searcher.close()
            searcher = self._open_searcher()
            local.searcher = searcher
        return searcher

    def _warm_folder(self) -> Path:
        return self.path.with_name(self.path.name + "-warm")

    def _open_searcher(self):  # type: ignore[no-untyped-def]
        """A new searcher, with the saved warm-up of its big segments in use from the first
        search (a few ms: the files are mapped, not read; each segment is tried once)."""
        searcher = self.ix.searcher()
        with contextlib.suppress(Exception):  # only a cache
            folder = self._warm_folder()
            for src in _sources(searcher):
                if src.doc_count >= WARM_SAVE_FROM_DOCS and src.key not in _WARM_TRIED:
                    _WARM_TRIED.add(src.key)
                    src.load_warm(folder)
        return searcher

    @_guarded
    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def has(self, paper_id: str) -> bool:
        return self.searcher().document_number(id=paper_id) is not None

    def all_ids(self) -> Iterable[str]:
        return (fields["id"] for fields in self.searcher().all_stored_fields())

    @_guarded
    def tag_counts(self) -> dict[str, int]:
        reader = self.searcher().reader()
        return {
            t.decode(): reader.doc_frequency("tags", t)
            for t in reader.lexicon("tags")
            if reader.doc_frequency("tags", t)
        }

    # -- warming -----------------------------------------------------------------------------
    @_guarded
    def warm(self, budget: int | None = None, should_stop: Callable[[], bool] | None = None) -> int:
        """Decode the postings of the most common title and abstract words, most common
        first, until `budget` bytes: those are the words whose first search would cost tens
        of milliseconds (rare words decode in well under one). A big segment's lists are
        streamed to its saved warm-up (core/warm_files.py) and mapped, and the next start
        finds them there; a small segment's go into the search cache. Meant for a background
        thread once the reader shows its first screen; returns the bytes."""
        searcher = self.searcher()
        reader = searcher.reader()
        if budget is None:  # a bigger library's common words have longer lists
            budget = max(WARM_BYTES, WARM_BYTES_PER_DOC * reader.doc_count_all())
        sources = _sources(searcher)
        folder = self._warm_folder()
        big = [src for src in sources if src.doc_count >= WARM_SAVE_FROM_DOCS]
        unsaved = [src for src in big if not src.load_warm(folder)]
        if big and not unsaved:  # saved by an earlier run: memory-mapped, nothing to decode
            return sum(src.warm_bytes() for src in big)
        common: list[tuple[int, str, bytes]] = []
        segments = _segment_readers(reader)
        big_keys = {src.key for src in big}
        prefixes: list[tuple[int, str, str, tuple[bytes, ...]]] = []
        for field in ("title", "abstract"):
            if field not in reader.schema or not reader.field_length(field):
                continue
            # Each segment's term table walked in order (a multi-segment reader looks every
            # word up in every segment: the whole table's pages, 350 MB of them at 100k);
            # each segment's most common words, counted over all segments.
            words: set[bytes] = set()
            in_big: dict[bytes, int] = {}  # every word's count in the big segments
            for segment in segments:
                is_big = (
                    getattr(segment, "_segment", None) is not None
                    and segment._segment.segment_id() in big_keys
                )
                words.update(_walk_counts(segment, field, in_big if is_big else None))
                mapped.trim(MAPPED_LIMIT)  # this segment's term table: 20-30 MB at 1M
            for n, text in enumerate(words):  # each looked up in every segment's table
                common.append((reader.doc_frequency(field, text), field, text))
                if n % 32 == 31:
                    mapped.trim(MAPPED_LIMIT)  # each look-up maps ~64 KB a segment: 400 MB at 1M
            prefixes.extend(_common_prefixes(field, in_big, reader.doc_count_all()))
        common.sort(reverse=True)
        # The costliest short prefixes' unions first (up to a fifth; the bits of every
        # document, per prefix), then the lists.
        prefixes.sort(reverse=True)
        per_union = sum(warm_files.packed_size(src.doc_count) for src in big)
        chosen_prefixes = [
            p[1:] for p in prefixes[: budget // UNION_BUDGET_SHARE // max(1, per_union)]
        ]
        chosen: list[tuple[str, bytes]] = []
        # Up to a quarter for titles, down to rarer words: their lists are ~10x shorter, and
        # short prefixes expand from the saved words when they hold enough (_saved_expansions).
        left = budget - per_union * len(chosen_prefixes)
        for field, quarter, min_df in (
            ("title", True, WARM_MIN_DF // 10),
            ("abstract", False, WARM_MIN_DF),
        ):
            share = left // 4 if quarter else left
            planned = 0
            for df, word_field, text in common:
                if word_field != field:
                    continue
                if planned >= share or df < min_df:
                    break
                chosen.append((field, text))
                planned += 6 * df  # an int32 document number and a 16-bit weight a posting
            left -= planned
        stop = should_stop or (lambda: False)
        used = 0
        for src in unsaved:  # streamed to the segment's files, then mapped: never all in memory
            try:
                words_hashes = _spelling_hashes(src.reader, self.schema, build=True)
                lists = _warm_lists(src, chosen, stop)
                unions = _warm_unions(src, chosen_prefixes, stop)
                warm_files.save(folder, src.key, src.doc_count, lists, words_hashes, unions)  # type: ignore[arg-type]
            except _WarmStopped:
                return used  # a partial file is never left: the next run starts over
            except OSError:
                continue  # (a read-only library: warmed into the cache below)
            if src.load_warm(folder):
                used += src.warm_bytes()
            mapped.trim(MAPPED_LIMIT)  # the term table its lists were looked up in
        # The rest (small segments, or files that could not be written): the cache.
        cached = 0
        for field, text in chosen:
            if cached >= WARM_BYTES or stop():
                break
            for src in sources:
                if src.key not in _SAVED_WARM:
                    ids, weights = src.postings(field, text)
                    cached += ids.nbytes + weights.nbytes
            _let_others_in()
        with contextlib.suppress(OSError):
            warm_files.prune(folder, {src.key for src in sources})
        mapped.trim(MAPPED_LIMIT)  # the term tables it walked
        return used + cached

    # -- searching ---------------------------------------------------------------------------
    def _make_parser(self, fields: list[str] = DEFAULT_FIELDS) -> MultifieldParser:
        parser = MultifieldParser(fields, self.schema, group=OrGroup)
        parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
        parser.add_plugin(FuzzyTermPlugin())
        parser.add_plugin(GtLtPlugin())
        parser.add_plugin(DateParserPlugin(free=False))
        return parser

    def parse(self, text: str, *, partial_last: bool = False) -> Q.Query:
        """Parse the query language. Plain words are ORed with a bonus for matching more of
        them; a clause aimed at one field (`date:2024`, `author:smith`, `is:bookmarked`) must
        hold, unless the user wrote their own AND / OR / NOT structure."""
        text = rewrite_filters(text)
        clauses: list[str] = []
        if not _has_operators(text):
            clauses = [m.group(0) for m in _FIELDED.finditer(text)]
            text = _FIELDED.sub(" ", text)
        parts = [self._parse_free(text, partial_last=partial_last)] if text.strip() else []
        parts += [self._parse_text(clause) for clause in clauses]
        if not parts:
            return Q.Every()
        return parts[0] if len(parts) == 1 else Q.And(parts)

    def _parse_text(self, text: str) -> Q.Query:
        try:
            query = self._parser.parse(text)
        except Exception as exc:
            raise QueryError(f"cannot read the query {text!r}: {exc}") from None
        if query is Q.NullQuery or isinstance(query, type(Q.NullQuery)):
            return Q.Every()
        # The words written before `~`, by their analysed form (see BoundedFuzzy).
        written = {}
        for m in _FUZZY_WORD.finditer(text):
            for stem in self._analyse(m.group(1)):
                written[stem] = m.group(1).lower()
        bound = functools.partial(self._bound_expansions, written=written)
        return query.accept(bound).accept(_not_excludes)

    def _parse_free(self, text: str, *, partial_last: bool) -> Q.Query:
        tokens = text.split()
        if (
            partial_last
            and len(tokens) > 1
            and text == text.rstrip()
            and all(_PLAIN_TOKEN.fullmatch(t) and t.lower() not in _OPERATORS for t in tokens)
        ):
            return self._parse_typed(tokens)
        query = self._parse_text(text)
        extras: list[Q.Query] = []
        words = [w for w in _PLAIN_WORD.findall(text) if w.lower() not in _OPERATORS]
        for a, b in zip(words, words[1:], strict=False):
            extras.extend(self._joined(a, b))
        stripped = text.rstrip()
        if partial_last and words and stripped == text and stripped.endswith(words[-1]):
            extras.extend(_typed_prefixes(words[-1]))
        if extras and not _has_operators(text):
            query = Q.Or([query, *extras])
        return query

    def _parse_typed(self, words: list[str]) -> Q.Query:
        """Plain words being typed, as _parse_free reads them (each word in every field, each
        pair joined, the last one also as a prefix), built a word at a time: each word's
        parts in a _Typing after those of the words before it, so the search can keep the
        words before between keystrokes."""
        query = self._parse_text(words[0])
        for n in range(1, len(words)):
            parts = [query, self._parse_text(words[n]), *self._joined(words[n - 1], words[n])]
            if n == len(words) - 1:
                parts.extend(_typed_prefixes(words[n]))
            query = _Typing(parts)
        return query

    def _joined(self, a: str, b: str) -> list[Q.Query]:
        """Two neighbouring words written as one: "flash attention" also finds
        "FlashAttention"."""
        joined = self._analyse(a + b)
        return [Q.Term(f, joined[0]) for f in _LONG_FIELDS] if joined else []

    def _bound_expansions(self, q: Q.Query, written: dict[str, str]) -> Q.Query:
        if type(q) is Q.Prefix:
            return BoundedPrefix(q.fieldname, q.text, boost=q.boost)
        if type(q) is Q.FuzzyTerm:
            return BoundedFuzzy(
                q.fieldname,
                q.text,
                boost=q.boost,
                maxdist=min(q.maxdist, MAX_FUZZY_DISTANCE),
                prefixlength=q.prefixlength,
                word=written.get(q.text),
            )
        return q

    def _analyse(self, word: str) -> list[str]:
        return [t.text for t in TEXT_ANALYZER(word)]

    @_guarded
    def search(
        self,
        text: str,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "relevance",
        filter_text: str = "",
        partial_last: bool = False,
        correct: bool = True,
    ) -> SearchResult:
        started = time.perf_counter()
        searcher = self.searcher()
        text = text.strip()
        query = self.parse(text, partial_last=partial_last) if text else Q.Every()
        suggestion = None
        corrected = False
        if correct and text:
            suggestion = self.correction(text, skip_last=partial_last)
            if suggestion:
                query = self.parse(suggestion, partial_last=partial_last)
                corrected = True
        if filter_text.strip():
            query = Q.And([query, self.parse(filter_text)])
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")
        if sort == "relevance" and isinstance(query, Q.Every):
            sort = "newest"  # nothing to rank by: newest first
        try:
            ranked, total = _fast_search(searcher, query, offset + limit, sort)
        except QueryError:
            raise
        except Exception as exc:
            raise QueryError(f"the query {text!r} failed: {exc}") from None
        hits = [self._hit(searcher.stored_fields(d), score) for d, score in ranked[offset:]]
        # Highlights use the query's own (bounded) term expansion: cheap, and unlike Whoosh's
        # matched-term tracking it also covers prefix and fuzzy expansions.
        terms = _text_terms(_query_terms(query, searcher.reader()))
        mapped.trim(MAPPED_LIMIT)
        return SearchResult(
            query=text,
            total=total,
            hits=hits,
            offset=offset,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            suggestion=suggestion,
            corrected=corrected,
            terms=terms,
        )

    @staticmethod
    def _hit(fields: dict[str, object], score: float) -> Hit:
        when = fields.get("date")
        flags = fields.get("flags", "").split()
        return Hit(
            id=fields["id"],
            title=fields.get("title", ""),
            first_author=fields.get("first_author", "") or "",
            published=when.date() if isinstance(when, datetime) and when != UNDATED else None,
            score=score,
            bookmarked="bookmarked" in flags,
            has_note="note" in flags,
            state=ReadState(fields.get("state") or "unread"),
            tags=[t for t in (fields.get("tags") or "").split(",") if t],
        )

    # -- spelling ----------------------------------------------------------------------------
    def correction(self, text: str, *, skip_last: bool = False) -> str | None:
        """The query with unknown words replaced by the closest indexed words, or None.

        `skip_last` leaves a word still being typed alone (it is searched as a prefix)."""
        reader = self.searcher().reader()
        replaced = text
        changed = False
        fielded = [m.span() for m in _FIELDED.finditer(text)]
        words = [
            m for m in _PLAIN_WORD.finditer(text) if not any(a <= m.start() < b for a, b in fielded)
        ]
        if skip_last and words and words[-1].end() == len(text):
            words.pop()
        for m in reversed(words):
            word = m.group(1)
            # No real word is over 40 letters, and a Levenshtein automaton for a pasted
            # 1,000-letter "word" costs a third of a second.
            if word.lower() in _OPERATORS or not 3 <= len(word) <= 40:
                continue
            if self._known(reader, word):
                continue
            better = self._suggest(reader, word.lower())
            if better and better != word.lower():
                replaced = replaced[: m.start(1)] + better + replaced[m.end(1) :]
                changed = True
        return replaced if changed else None

    def _known(self, reader, word: str) -> bool:  # type: ignore[no-untyped-def]
        stems = self._analyse(word)
        if not stems:
            return True  # a stop word or punctuation: nothing to correct
        for field in ("title", "abstract", "note"):
            if all(reader.doc_frequency(field, s) for s in stems):
                return True
        names = [t.text for t in NAME_ANALYZER(word)]
        return any(reader.doc_frequency(f, n) for n in names for f in ("authors", "tags", "ids"))

    def _suggest(self, reader, word: str) -> str | None:  # type: ignore[no-untyped-def]
        """The closest indexed word (fewest edits, then most papers), remembered per reader.

        One edit first, counting a swap of neighbours as one ("langauge"): its few hundred
        candidates are looked up directly, ~100x cheaper than walking the 100,000-paper word
        list with an automaton. Then two edits with the automaton, keeping the first two
        letters of words of 6+ letters (typos rarely hit them; it costs 3-5x less)."""
        cached = getattr(self, "_suggested", None)
        if cached is None or cached[0] is not reader:
            cached = self._suggested = (reader, {})
        memo = cached[1]
        if word not in memo:
            memo[word] = self._one_edit(reader, word) or self._closest(
                reader, word, 2, 2 if len(word) >= 6 else 1
            )
        return memo[word]

    def _one_edit(self, reader, word: str) -> str | None:  # type: ignore[no-untyped-def]
        best: tuple[int, str] | None = None
        for candidate in self._maybe_known(reader, sorted(_edits1(word))):
            for field in ("title", "abstract"):
                if (self.schema[field].spelling_fieldname(field), candidate) in reader:
                    stems = self._analyse(candidate)
                    key = (-reader.doc_frequency(field, stems[0]) if stems else 0, candidate)
                    if best is None or key < best:
                        best = key
                    break
        return best[1] if best else None

    def _maybe_known(self, reader, candidates: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
        """The candidates that may be indexed words, by their CRC-32 in each segment's list
        of word hashes: the few left are then looked up for real. A term-table look-up costs
        ~10 us, and a 10-letter word has ~560 one-edit variants, each missing one looked up
        in every segment (20 at 1,000,000 papers). A big segment's list comes with its saved
        warm-up; without one, every candidate is looked up."""
        hashes = np.fromiter(
            (zlib.crc32(c.encode()) for c in candidates), dtype=np.uint32, count=len(candidates)
        )
        maybe = np.zeros(len(candidates), dtype=bool)
        for segment in _segment_readers(reader):
            small = segment.doc_count_all() < WARM_SAVE_FROM_DOCS  # a quick list to make
            known = _spelling_hashes(segment, self.schema, build=small)
            if known is None:
                return candidates
            if len(known):
                at = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
                maybe |= known[at] == hashes
        return [c for c, found in zip(candidates, maybe, strict=True) if found]

    def _closest(self, reader, word: str, maxdist: int, prefix: int) -> str | None:  # type: ignore[no-untyped-def]
        best: tuple[int, int, str] | None = None
        for field in ("title", "abstract"):
            spelling = self.schema[field].spelling_fieldname(field)
            found = reader.terms_within(spelling, word, maxdist, prefix=prefix)
            for candidate in islice(found, MAX_SCANNED_TERMS):
                if candidate == word:
                    continue
                stems = self._analyse(candidate)
                freq = reader.doc_frequency(field, stems[0]) if stems else 0
                key = (_edit_distance(word, candidate), -freq, candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    # -- highlights and similar papers ----------------------------------------------------------
    @staticmethod
    def spans(text: str, field: str, terms: set[tuple[str, str]]) -> list[tuple[int, int]]:
        """Character spans of `text` whose indexed form is one of the matched terms of `field`."""
        wanted = {t for f, t in terms if f == field}
        if not wanted or not text:
            return []
        tokens = _short_tokens(text, field) if len(text) <= 300 else _tokens(text, field)
        found = [(start, end) for word, start, end in tokens if word in wanted]
        return _merge_spans(found)

    @_guarded
    def similar(self, paper: Paper, limit: int = 10) -> list[Hit]:
        searcher = self.searcher()
        docnum = searcher.document_number(id=paper.id)
        if docnum is None:
            return []
        text = f"{paper.title}\n{paper.title}\n{paper.abstract}"
        mapped.trim(MAPPED_LIMIT)  # before the look-ups below add theirs
        # Whoosh's more_like: the text's key words, weighted, ORed; scored here as arrays.
        expander = Expander(_WordStats(searcher.reader()), "abstract", model=Bo1Model)
        expander.add_text(text)  # (Searcher.key_terms_from_text, with the reader below)
        keys = expander.expanded_terms(12, normalize=True)
        query = Q.Or([Q.Term("abstract", word, boost=weight) for word, weight in keys])
        ranked, _ = _fast_search(searcher, query, limit + 1, "relevance")
        found = [(d, score) for d, score in ranked if d != docnum][:limit]
        mapped.trim(MAPPED_LIMIT)  # the key words' look-ups touched every segment's term table
        return [self._hit(searcher.stored_fields(d), score) for d, score in found]


class _WordStats:
    """A reader for Whoosh's Expander (`similar`'s key words) whose words' statistics are
    kept while the index's segments stay the same. The Expander asks of each word of the
    paper whether the index has it and how often it occurs: ~180 words, each looked up in
    every segment's term table, 100-360 ms at 1,000,000 papers in the detail pane's thread,
    which held up the keys typed meanwhile. Papers share most of their words. Uncached
    look-ups let go of mapped pages every 48 words (~240 MB for one paper at 1M, mapped)."""

    def __init__(self, reader) -> None:  # type: ignore[no-untyped-def]
        self._reader = reader
        segments = tuple(
            r._segment.segment_id() for r in _segment_readers(reader) if hasattr(r, "_segment")
        )
        if _WORD_STATS.get("segments") != segments or len(_WORD_STATS) > WORD_STATS_MAX:
            _WORD_STATS.clear()
            _WORD_STATS["segments"] = segments
        self._looked_up = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._reader, name)

    def _frequency(self, term: tuple[str, bytes]) -> float:
        """The word's total frequency, -1 if the index does not have it."""
        found = _WORD_STATS.get(term)
        if found is None:
            self._looked_up += 1
            if self._looked_up % 48 == 0:
                mapped.trim(MAPPED_LIMIT)
            found = self._reader.frequency(*term) if term in self._reader else -1.0
            _WORD_STATS[term] = found
        return found  # type: ignore[return-value]

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self._frequency(term) >= 0

    def frequency(self, fieldname: str, text: bytes) -> float:
        return max(0.0, self._frequency((fieldname, text)))


# (field, word) -> its total frequency (-1: absent), for the segments under "segments".
_WORD_STATS: dict[object, object] = {}
WORD_STATS_MAX = 200_000


def _tokens(text: str, field: str) -> tuple[tuple[str, int, int], ...]:
    """The indexed words of `text` with their places."""
    analyzer = NAME_ANALYZER if field == "authors" else TEXT_ANALYZER
    return tuple(
        (token.text, token.startchar, token.endchar)
        for token in analyzer(text, chars=True, removestops=False, mode="index")
    )


# Titles and names: the reader highlights the same visible titles again at every keystroke,
# and analysing one costs ~0.1-0.3 ms (abstracts are not kept: ~20 KB of tuples each).
_short_tokens = functools.lru_cache(maxsize=4096)(_tokens)


def _not_excludes(query: Q.Query) -> Q.Query:
    """`a b NOT c` means a or b, excluding c (Whoosh's OR grouping would OR in "not c")."""
    if not isinstance(query, Q.Or):
        return query
    negatives = [s.query for s in query.subqueries if isinstance(s, Q.Not)]
    if not negatives:
        return query
    positives = [s for s in query.subqueries if not isinstance(s, Q.Not)]
    base = Q.Or(positives, boost=query.boost, scale=query.scale) if positives else Q.Every()
    return Q.AndNot(base, Q.Or(negatives))


def _positive_leaves(query: Q.Query) -> Iterable[Q.Query]:
    """Leaf queries outside any NOT: excluded words are never highlighted."""
    if isinstance(query, Q.AndNot):
        yield from _positive_leaves(query.a)
    elif isinstance(query, Q.Not):
        return
    elif query.is_leaf():
        yield query
    else:
        for child in query.children():
            yield from _positive_leaves(child)


def _query_terms(query: Q.Query, reader) -> Iterable[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Every (field, term) the query can match, with prefix/fuzzy expansions resolved."""
    for leaf in _positive_leaves(query):
        if isinstance(leaf, _Bounded):
            field = leaf.field()  # type: ignore[attr-defined]
            yield from ((field, t) for t in leaf._btexts(reader))
        else:
            yield from leaf.iter_all_terms()


def _posting_ids(reader, field: str, text: object) -> list[int]:  # type: ignore[no-untyped-def]
    """All document numbers of one term's postings, decoded a block at a time."""
    if field not in reader.schema or not hasattr(reader, "_terms"):
        return []  # an empty index has no term table (EmptyReader)
    try:
        text = reader.schema[field].to_bytes(text) if isinstance(text, str) else text
        matcher = reader._terms.matcher(field, text, reader.schema[field].format)
    except TermNotFound:
        return []
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    ids: list[int] = []
    while matcher.is_active():
        matcher._read_ids()
        ids.extend(matcher._ids)
        matcher._next_block()
    return ids


def _text_terms(pairs: Iterable[tuple[str, object]]) -> set[tuple[str, str]]:
    """Matched terms of the text fields, decoded (date and flag terms are not highlighted)."""
    out = set()
    for field, term in pairs:
        if field in ("title", "abstract", "authors", "note", "tags"):
            text = term.decode("utf-8", errors="replace") if isinstance(term, bytes) else term
            out.add((field, str(text)))
    return out


def _has_operators(text: str) -> bool:
    return bool(re.search(r"\b(AND|OR|NOT)\b|[\"()]", text))


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


_EDIT_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


_last_pause = [0.0]


def _let_others_in(every: float = 0.002) -> None:
    """Between the warm-up's words: give the reader's own threads the interpreter, at most
    every `every` seconds. A sleep(0) costs 60-90 us (the kernel's timer slack): one a word
    was 0.6 s of each 1,000,000-paper segment's 3.4 s of prefix unions."""
    now = time.perf_counter()
    if now - _last_pause[0] >= every:
        time.sleep(0)
        _last_pause[0] = time.perf_counter()


class _WarmStopped(Exception):
    """The warm-up was asked to stop (the reader is closing)."""


def _walk_counts(segment, field: str, counts: dict[bytes, int] | None) -> list[bytes]:  # type: ignore[no-untyped-def]
    """A segment's WARM_TERMS most common words of `field`, adding every word's document
    count into `counts` on the way (one pass over its term table, nothing kept per word)."""
    top: list[tuple[int, bytes]] = []
    for text, df in _field_doc_counts(segment, field):
        if counts is not None:
            counts[text] = counts.get(text, 0) + df
        _keep_top(top, WARM_TERMS, (df, text))
    return [text for _, text in top]


_RECORD_HEAD = Struct("!ii")  # an ordered hash file's record: key length, value length
_TERM_DF = Struct("!I")  # a W3 term info's document count, after its flags and weight
_TERM_DF_AT = 5
_FIELD_NUM = Struct("!H")  # a term table key starts with its field's number
_WALK_CHUNK = 1 << 20


def _field_doc_counts(segment, field: str) -> Iterator[tuple[bytes, int]]:  # type: ignore[no-untyped-def]
    """(word, document count) of every word of `field` in one segment, in order. Read from
    the term table's records with pread, a megabyte at a time: Whoosh's iter_field decodes a
    whole term info for each (50 s for the 3.8 million words of 1,000,000 papers, against
    ~5 s here) through the memory map, whose pages then stay resident."""
    terms = getattr(segment, "_terms", None)
    table = getattr(terms, "_tindex", None)
    where = getattr(getattr(table, "dbfile", None), "pread_at", None)
    fields = getattr(terms, "_fieldmap", None)
    if where is None or fields is None or not hasattr(table, "closest_key_pos"):
        for text, info in segment.iter_field(field):  # not a layout read here: Whoosh's way
            yield text, info.doc_frequency()
        return
    fieldnum = fields.get(field)
    if fieldnum is None:
        return  # no word of this field in the segment
    start = table.closest_key_pos(_FIELD_NUM.pack(fieldnum))
    if start is None:
        return
    end = table.closest_key_pos(_FIELD_NUM.pack(fieldnum + 1))
    end = table.endofdata if end is None else end
    fd, base = where
    head = _RECORD_HEAD
    buf = b""
    pos = 0
    at = start  # the file position of buf[0]
    while at + pos < end:
        need = head.size
        if len(buf) - pos >= need:
            keylen, datalen = head.unpack_from(buf, pos)
            need += keylen + datalen
        if len(buf) - pos < need:  # the record runs past what was read: read on
            buf, at, pos = buf[pos:], at + pos, 0
            size = min(max(_WALK_CHUNK, need), end - at - len(buf))
            more = os.pread(fd, size, base + at + len(buf)) if size > 0 else b""
            if not more:
                return  # (a truncated table)
            buf += more
            continue
        key = pos + head.size
        yield buf[key + 2 : key + keylen], _TERM_DF.unpack_from(buf, key + keylen + _TERM_DF_AT)[0]
        pos += need


def _warm_lists(
    src: _SegmentSource, chosen: list[tuple[str, bytes]], stop: Callable[[], bool]
) -> Iterator[tuple[tuple[str, bytes], tuple[np.ndarray, np.ndarray]]]:
    for field, text in chosen:
        if stop():
            raise _WarmStopped
        yield (field, text), src.postings(field, text, keep=False)
        _let_others_in()


def _warm_unions(
    src: _SegmentSource,
    prefixes: list[tuple[str, str, tuple[bytes, ...]]],
    stop: Callable[[], bool],
) -> Iterator[tuple[tuple[str, str, tuple[bytes, ...]], np.ndarray]]:
    """Each prefix's union as packed bits, every word's list read once for all its prefixes."""
    packed = [np.zeros(warm_files.packed_size(src.doc_count), dtype=np.uint8) for _ in prefixes]
    users: dict[tuple[str, bytes], list[int]] = {}
    for n, (field, _, terms) in enumerate(prefixes):
        for term in terms:
            users.setdefault((field, term), []).append(n)
    for (field, term), which in users.items():
        if stop():
            raise _WarmStopped
        seen = np.zeros(src.doc_count, dtype=bool)
        seen[src.postings(field, term, keep=False)[0]] = True
        bits = np.packbits(seen)
        for n in which:
            packed[n] |= bits
        _let_others_in()
    yield from zip(prefixes, packed, strict=True)


def _common_prefixes(
    field: str, counts: dict[bytes, int], docs: int
) -> Iterator[tuple[int, str, str, tuple[bytes, ...]]]:
    """(postings, field, prefix, expansions) of the short prefixes typed as partial words
    whose expansions (as PartialPrefix makes them) have at least UNION_MIN_SHARE postings a
    document: those whose first union is slow to make."""
    tops: dict[str, list[tuple[int, bytes]]] = {}
    for text, df in counts.items():
        try:
            word = text.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for length in range(PARTIAL_MIN, UNION_MAX_PREFIX + 1):
            if len(word) < length:
                break
            _keep_top(tops.setdefault(word[:length], []), _wanted(length, partial=True), (df, text))
    for prefix, top in tops.items():
        postings = sum(df for df, _ in top)
        if postings >= UNION_MIN_SHARE * docs:
            ranked = tuple(text for _, text in sorted(top, reverse=True))
            yield postings, field, prefix, ranked


def _spelling_hashes(segment, schema, *, build: bool) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """Sorted CRC-32s of a segment's spelling words (title and abstract): from its saved
    warm-up, or made here from its term table when `build` (~0.3 s a 50,000-paper segment)."""
    if not hasattr(segment, "_segment"):
        return None  # not a segment reader (an empty index)
    key = segment._segment.segment_id()
    found = _SPELLING.get(key)
    if found is None and build:
        fields = [schema[f].spelling_fieldname(f) for f in ("title", "abstract")]
        words = (
            zlib.crc32(w) for f in fields if f in schema for w, _ in _field_doc_counts(segment, f)
        )
        found = _SPELLING[key] = np.unique(np.fromiter(words, dtype=np.uint32))
    return found


def _edits1(word: str) -> set[str]:
    """Every word one deletion, swap of neighbours, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = set(_EDIT_LETTERS) | set(word)
    found = {a + b[1:] for a, b in splits if b}
    found |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    found |= {a + c + b[1:] for a, b in splits if b for c in letters}
    found |= {a + c + b for a, b in splits for c in letters}
    found.discard(word)
    return found


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# -- the vectorised search path -----------------------------------------------------------------
# Whoosh reads the postings; core/scoring.py scores them as arrays. A segment never changes once
# written (only its deletions do), so decoded postings, lengths and sort keys are kept per
# segment id across searchers, and the words of a query typed one letter at a time are decoded
# once. Memory is bounded by POSTINGS_CACHE_BYTES.
POSTINGS_CACHE_BYTES = 128 * 1024 * 1024
RESULTS_CACHE_BYTES = 32 * 1024 * 1024
# warm(): the most common words, while they cost more than a millisecond to decode.
WARM_BYTES = 64 * 1024 * 1024
WARM_TERMS = 2000
WARM_MIN_DF = 2000
WARM_SAVE_FROM_DOCS = 5000  # segments this big keep their warm-up between runs
WARM_BYTES_PER_DOC = 320  # saved warm-ups grow with the library: 320 MB at 1,000,000 papers
# Mapped index and warm-up pages kept in the process before they are let go (core/mapped.py):
# a `similar` at 1,000,000 papers maps ~75 MB of term tables, on top of what is kept.
MAPPED_LIMIT = 64 * 1024 * 1024
PREAD_FROM_BYTES = 1 << 30  # an index this big is read with pread, not its maps (_ViewFile)
UNION_MIN_SHARE = 0.02  # a prefix's union is saved if its words have this many postings a doc
UNION_MAX_PREFIX = 4  # letters: longer prefixes have fewer, rarer words
UNION_BUDGET_SHARE = 5  # unions take up to a fifth of the saved warm-up
_LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY_IDS = np.empty(0, dtype=np.int32)
_INT = Struct("!i")
_DOUBLE = Struct(">d")  # a pickled BINFLOAT
_EMPTY_WEIGHTS = np.empty(0, dtype=np.float32)


class _ArrayCache:
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


_ARRAYS = _ArrayCache(POSTINGS_CACHE_BYTES)
# Whole words' summed scores kept between keystrokes (scoring.Extend), apart from the
# postings so that they never evict them: at 1,000,000 papers four common words' hold
# ~12 MB, and typing needs the latest one or two.
_RESULTS = _ArrayCache(RESULTS_CACHE_BYTES)
# Segment id -> its saved warm-up (core/warm_files.py): memory-mapped, so outside the budget.
_SAVED_WARM: dict[str, warm_files.Lists] = {}
_WARM_TRIED: set[str] = set()  # segments whose saved warm-up a new searcher looked for
_SAVED_CHECKED: set[tuple[str, str, bytes]] = set()  # saved lists whose ids were checked
# Segment id -> its saved unions of short prefixes' expansions, mapped (see warm_files).
_SAVED_UNIONS: dict[str, warm_files.Unions] = {}
# Segment id -> sorted CRC-32s of its spelling words (see _one_edit).
_SPELLING: dict[str, np.ndarray] = {}
# Segment id -> (the saved warm-up or unions it was made from, a look-up made from them).
_SAVED_LOOKUPS: dict[tuple[str, str], tuple[object, dict]] = {}  # type: ignore[type-arg]


def _saved_lookup(key: str, kind: str, saved: object, make: Callable[[], dict]) -> dict:  # type: ignore[type-arg]
    """A look-up over a segment's saved warm-up, made once per load of it: scanning the saved
    lists for a prefix's words and the unions for an expansion's took 12 ms and 0.15 ms a
    keystroke at 1,000,000 papers."""
    entry = _SAVED_LOOKUPS.get((key, kind))
    if entry is None or entry[0] is not saved:
        entry = _SAVED_LOOKUPS[(key, kind)] = (saved, make())
    return entry[1]


def _saved_words(key: str, saved: warm_files.Lists) -> dict[str, tuple[list[bytes], list[int]]]:
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
    saved = _SAVED_UNIONS.get(key)
    if not saved:
        return None
    by_terms = _saved_lookup(
        key, "unions", saved, lambda: {(f, t): b for (f, _), (t, b) in saved.items()}
    )
    return by_terms.get((field, terms))


class _SegmentSource:
    """One Whoosh segment as core/scoring.py's Segment: postings and columns as arrays."""

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
        saved = _SAVED_WARM.get(self.key)
        if saved is not None and (field, term) in saved:
            found = saved[(field, term)]
            if (self.key, field, term) in _SAVED_CHECKED:
                return found
            ids = found[0]
            if not len(ids) or (ids[0] >= 0 and ids[-1] < self.doc_count):
                _SAVED_CHECKED.add((self.key, field, term))
                return found
            # (a damaged file: this list is decoded from the index instead)
        key = (self.key, "p", field, term)
        if not keep:
            cached = _ARRAYS.peek(key)
            return cached if cached is not None else self._read(field, term)  # type: ignore[return-value]
        return _ARRAYS.get(key, lambda: self._read(field, term))  # type: ignore[return-value]

    def load_warm(self, folder: Path) -> bool:
        """Use this segment's saved warm-up, if there is one that fits it."""
        if self.key not in _SAVED_WARM:
            saved = warm_files.load(folder, self.key, self.doc_count)
            if saved is None:
                return False
            _SAVED_WARM[self.key], _SPELLING[self.key], _SAVED_UNIONS[self.key] = saved
        return True

    def warm_bytes(self) -> int:
        saved = _SAVED_WARM.get(self.key, {})
        return sum(ids.nbytes + weights.nbytes for ids, weights in saved.values())

    def _read(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray]:
        terms = self.reader._terms
        try:
            info = terms.term_info(field, term)
        except (TermNotFound, KeyError):
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        if info.is_inlined():  # a rare word's few postings, kept in the term table
            inlined_ids, inlined_weights, _ = info.inlined_postings()
            ids = np.array(inlined_ids, dtype=np.int32)
            exact = np.array(inlined_weights, dtype=np.float32)
        else:
            offset, length = info.extent()
            if isinstance(length, tuple):  # how whoosh-reloaded's term info returns it
                (length,) = length
            where = getattr(terms._postfile, "pread_at", None)
            if where is not None:
                # Read the posting list with one pread, not through the memory map: the map
                # would leave every page it touched counted in the process's resident memory.
                fd, base = where
                data = os.pread(fd, length, base + offset)
            else:
                data = bytes(terms._postfile.get(offset, length))
            ids, exact = _decode_postings(data)
        small = exact.astype(np.float16)  # frequency x field boost: small, exact in 16 bits
        return ids, small if np.array_equal(small, exact) else exact

    def lengths(self, field: str) -> np.ndarray:
        return _ARRAYS.get((self.key, "l", field), lambda: self._read_lengths(field))  # type: ignore[return-value]

    def _read_lengths(self, field: str) -> np.ndarray:
        column = self.reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        raw = np.zeros(self.doc_count, dtype=np.uint8)
        if column is not None:
            stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), np.uint8)
            raw[: len(stored)] = stored[: self.doc_count]
        return _LENGTH_TABLE[raw]

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
        return bits if bits is not None else _ARRAYS.get((self.key, "u", field, terms), make)  # type: ignore[return-value]

    def remember(
        self, key: tuple, make: Callable[[], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        return _RESULTS.get((self.key, *key), make)  # type: ignore[return-value]

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
            return _ARRAYS.get((self.key, "s", "title"), self._title_keys)  # type: ignore[return-value]
        dates = _ARRAYS.get((self.key, "s", "date"), self._date_keys)
        return dates if sort == "newest" else -dates  # type: ignore[operator]

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


def _decode_postings(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers and weights of a Whoosh 3 posting list (what W3LeafMatcher reads a
    block at a time): a magic tag, then blocks of [int length (negative: the last block)]
    [pickled block info][data: a pickled (id deltas, weights, values), maybe compressed]."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise IndexDamaged("a posting list does not start with its tag")
    found = _decode_postings_at_once(data)
    return found if found is not None else _decode_postings_by_block(data)


def _decode_postings_at_once(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """The common case, with numpy once per list instead of once per block (a common word's
    list at 1,000,000 papers is thousands of blocks): every block in the usual layout (see
    _parse_block). None if one is not."""
    stream = io.BytesIO(data)
    firsts: list[int] = []
    counts: list[int] = []
    deltas: list[bytes] = []
    floats: list[bytes | float] = []  # a block's 9-byte BINFLOATs, or its one weight
    position = 4
    while True:
        (length,) = _INT.unpack_from(data, position)
        end = position + _INT.size + abs(length)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        block = data[stream.tell() : end]
        parsed = _parse_block(zlib.decompress(block) if compression else block, count)
        if parsed is None:
            return None
        firsts.append(parsed[0])
        counts.append(count)
        deltas.append(parsed[1])
        floats.append(parsed[2])
        if length < 0:
            break
        position = end
    sizes = np.array(counts)
    total = int(sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    steps = np.empty(total, dtype=np.int64)
    first = np.zeros(total, dtype=bool)
    first[starts] = True
    steps[first] = firsts
    steps[~first] = np.frombuffer(b"".join(deltas), dtype=np.uint8)
    ids = np.cumsum(steps)
    ids -= np.repeat(np.concatenate(([0], ids[starts[1:] - 1])), sizes)  # blocks start afresh
    if all(isinstance(weight, bytes) for weight in floats):
        weights = _binfloats(b"".join(floats), total)  # type: ignore[arg-type]
    else:
        weights = np.concatenate(
            [
                _binfloats(w, n) if isinstance(w, bytes) else np.full(n, w)
                for w, n in zip(floats, counts, strict=True)
            ]
        )
    return ids.astype(np.int32), weights.astype(np.float32)


def _decode_postings_by_block(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Any list: blocks in the usual layout parsed, the others unpickled."""
    stream = io.BytesIO(data)
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    position = 4
    while True:
        (length,) = _INT.unpack_from(data, position)
        last = length < 0
        end = position + _INT.size + abs(length)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        block = data[stream.tell() : end]
        raw = zlib.decompress(block) if compression else block
        parsed = _parse_block(raw, count)
        if parsed is None:
            block_deltas, block_weights, _values = pickle.loads(raw)
            steps = np.array(block_deltas, dtype=np.int64)
        else:
            first, one_byte, block_weights = parsed
            steps = np.empty(count, dtype=np.int64)
            steps[0] = first
            steps[1:] = np.frombuffer(one_byte, dtype=np.uint8)
            if isinstance(block_weights, bytes):
                block_weights = _binfloats(block_weights, count)
        ids.append(np.cumsum(steps))  # each block's ids are deltas from 0
        if block_weights is None or isinstance(block_weights, float):
            weights.append(np.full(count, block_weights or 1.0, dtype=np.float32))
        else:
            weights.append(np.asarray(block_weights, dtype=np.float32))
        if last:
            return np.concatenate(ids).astype(np.int32), np.concatenate(weights)
        position = end


def _parse_block(raw: bytes, count: int) -> tuple[int, bytes, bytes | float] | None:
    """A block's ids and weights read straight from its pickle, without unpickling the
    values (a text field's positions: ~3/4 of the bytes and of the time), in the usual
    layout: PROTO, MARK, the first id (any int), `count - 1` one-byte deltas, TUPLE, PUT,
    then one BINFLOAT or None for the whole block, or MARK, `count` BINFLOATs, TUPLE.
    Returns the first id, the deltas' bytes and the weights (their 9-byte BINFLOATs, or
    the one weight); None for anything else (fewer than 4 ids pickle as a TUPLE1-3, without
    a MARK), which is unpickled."""
    size = _INT_SIZE.get(raw[3]) if len(raw) > 3 else None
    if count < 4 or raw[2] != _MARK or size is None:
        return None
    at = 4 + size
    ids_end = at + 2 * (count - 1)
    if len(raw) <= ids_end + 1 or raw[at:ids_end:2] != b"K" * (count - 1):
        return None
    put = _PUT_SIZE.get(raw[ids_end + 1]) if raw[ids_end] == _TUPLE else None
    if put is None:
        return None
    floats_at = ids_end + 1 + put
    floats_end = floats_at + 1 + 9 * count
    if len(raw) > floats_at + 9 and raw[floats_at] in (_BINFLOAT, _NONE):
        one = raw[floats_at] == _BINFLOAT
        weight: bytes | float = _DOUBLE.unpack_from(raw, floats_at + 1)[0] if one else 1.0
    elif len(raw) > floats_end and raw[floats_at] == _MARK and raw[floats_end] == _TUPLE:
        if raw[floats_at + 1 : floats_end : 9] != b"G" * count:
            return None
        weight = raw[floats_at + 1 : floats_end]
    else:
        return None
    first = int.from_bytes(raw[4:at], "little", signed=size == 4)
    return first, raw[at + 1 : ids_end : 2], weight


def _binfloats(raw: bytes, count: int) -> np.ndarray:
    """`count` pickled BINFLOATs (an opcode byte, then a big-endian double) as floats."""
    return np.frombuffer(raw, dtype=np.uint8).reshape(count, 9)[:, 1:].copy().view(">f8").ravel()


# Pickle opcodes (protocol 2) of _parse_block's layout, as byte values; a PUT's size by its opcode.
_MARK, _TUPLE, _BININT1, _NONE, _BINFLOAT = b"(tKNG"
_PUT_SIZE = {ord("q"): 2, ord("r"): 5}
_INT_SIZE = {_BININT1: 1, ord("M"): 2, ord("J"): 4}  # BININT1, BININT2, BININT


def _sources(searcher) -> list[_SegmentSource]:  # type: ignore[no-untyped-def]
    context = searcher.context()
    return [
        _SegmentSource(sub, offset, context)
        for sub, offset in searcher.leaf_searchers()
        if hasattr(sub.reader(), "_terms")  # an empty index has no segment
    ]


def _plan(query: Q.Query, searcher, sources: list[_SegmentSource]) -> scoring.Plan:  # type: ignore[no-untyped-def]
    """The query as a core/scoring.py plan, with Whoosh's statistics (those of the whole
    index, as Whoosh's BM25F scorer takes them) and Whoosh's matcher quirks."""
    kind = type(query)
    if kind is _Typing:
        base, *more = (_plan(q, searcher, sources) for q in query.subqueries)
        return scoring.Extend(base, tuple(more), query.boost)
    if isinstance(query, BoundedPrefix):
        field = query.field()
        terms = tuple(_as_bytes(searcher, field, t) for t in query._btexts(searcher.reader()))
        df = sum(scoring.bits_set(src.union(field, terms)) for src in sources) if terms else 0
        if not df:
            return scoring.Union(())
        score = query.boost * _one_hit_score(searcher, field, df)
        return scoring.Constant(field, terms, score)
    if isinstance(query, _Bounded):  # fuzzy: the expansions ORed, as its matcher does
        field = query.field()  # type: ignore[attr-defined]
        expansions = query._btexts(searcher.reader())
        terms = [
            _term_plan(searcher, field, _as_bytes(searcher, field, t), 1.0) for t in expansions
        ]
        if len(terms) == 1:
            return terms[0]  # as its matcher: a lone expansion without the boost
        return scoring.Union(tuple(terms), query.boost)  # type: ignore[attr-defined]
    if kind is Q.Term:
        if query.fieldname not in searcher.schema:
            return scoring.Union(())
        try:
            text = searcher.schema[query.fieldname].to_bytes(query.text)
        except ValueError:
            return scoring.Union(())
        return _term_plan(searcher, query.fieldname, text, query.boost)
    if kind in (Q.Or, Q.And) and (kind is Q.And or not (query.scale or query.minmatch)):
        children = tuple(_plan(q, searcher, sources) for q in query.subqueries)
        if len(children) == 1:
            return children[0]  # Whoosh drops a one-child group's boost too
        if not children:
            return scoring.Union(())
        node = scoring.Union if kind is Q.Or else scoring.Intersect
        return node(children, query.boost)
    if kind is Q.AndNot:
        return scoring.Minus(_plan(query.a, searcher, sources), _plan(query.b, searcher, sources))
    if kind is Q.Every and query.fieldname in (None, "", "*"):
        return scoring.Everything(query.boost)
    return scoring.Opaque(query)


def _as_bytes(searcher, field: str, text: str | bytes) -> bytes:  # type: ignore[no-untyped-def]
    # Whoosh's expansions come as str (fuzzy) or bytes (prefix, spelling): postings want bytes.
    return text if isinstance(text, bytes) else searcher.schema[field].to_bytes(text)


def _term_plan(searcher, field: str, text: bytes, boost: float) -> scoring.Plan:  # type: ignore[no-untyped-def]
    if (field, text) not in searcher.reader():  # as Whoosh: no statistics for a missing term
        return scoring.Union(())
    scorable = searcher.schema[field].scorable
    avgfl = (searcher.avg_field_length(field) or 1) if scorable else None
    return scoring.Term(field, text, searcher.idf(field, text), avgfl, boost)


def _fast_search(
    searcher, query: Q.Query, k: int, sort: str
) -> tuple[list[tuple[int, float]], int]:  # type: ignore[no-untyped-def]
    """The top `k` (document number, score) of the query and the number of matches, in
    Whoosh's order: by score (ties: lower document number first), or by date or title."""
    sources = _sources(searcher)
    plan = _plan(query, searcher, sources)
    total = 0
    candidates: list[tuple[object, int, float]] = []
    # Scores and dates compare across segments: once k candidates are in, a later segment's
    # documents below the k-th best key so far cannot make the page (a top-k selection over
    # each segment's every match was a seventh of a keystroke's time at 1,000,000 papers).
    bar = -np.inf
    for src in sources:
        offset = src.offset
        result = scoring.evaluate(plan, src)
        matched = int(np.count_nonzero(result.mask))
        total += matched
        if not matched:
            continue
        if sort == "title":
            ids = np.flatnonzero(result.mask)
            keys = src.sort_keys(sort)[ids]
        else:
            every = result.values if sort == "relevance" else src.sort_keys(sort)
            ids = np.flatnonzero(result.mask if bar == -np.inf else result.mask & (every >= bar))
            keys = every[ids]
        scores = result.values[ids]
        reverse = sort == "newest"
        for pos in scoring.top(keys, ids, k, high_ids_first=reverse):
            docnum = int(ids[pos])
            score = float(scores[pos]) if sort == "relevance" else 0.0
            glob = offset + docnum
            if sort == "relevance":
                merge_key: object = (-score, glob)
            elif sort == "title":
                merge_key = (src.title(docnum), glob)
            else:
                merge_key = (-float(keys[pos]), -glob if reverse else glob)
            candidates.append((merge_key, glob, score))
        if sort != "title" and len(candidates) >= k:
            best = heapq.nsmallest(k, candidates, key=lambda c: c[0])  # type: ignore[arg-type, return-value]
            candidates = best
            bar = -best[-1][0][0]  # type: ignore[index]  (its merge key starts with -key)
    candidates.sort(key=lambda c: c[0])  # type: ignore[arg-type, return-value]
    return [(glob, score) for _, glob, score in candidates[:k]], total


def whoosh_reference_search(  # type: ignore[no-untyped-def]
    index: SearchIndex, text: str, k: int, sort: str = "relevance", *, partial_last: bool = False
):
    """The same search done by Whoosh's own matchers and collectors (slow): what tests compare
    the vectorised path with. Returns ([(paper id, score)], total)."""
    searcher = index.searcher()
    query = index.parse(text, partial_last=partial_last) if text.strip() else Q.Every()
    facet = _SORT_FACETS.get(sort)
    if facet:
        results = searcher.search(query, limit=None, sortedby=facet[0], reverse=facet[1])
        hits = [(h["id"], 0.0) for h in results[:k]]
        return hits, len(results)
    collector = TopCollector(limit=k, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return [(h["id"], h.score) for h in results], len(results)
