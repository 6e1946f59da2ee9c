"""Prefix and typo terms, bounded: a query word expands to the most frequent index words only."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from itertools import islice

from whoosh import query as Q
from whoosh.matching import ListMatcher, ReadTooFar

from paperreader.core.search import segments
from paperreader.core.search.schema import TEXT_ANALYZER
from paperreader.core.search.segments import CACHES, saved_words, segment_readers
from paperreader.core.search.w3format import posting_ids

# Prefix and fuzzy queries expand to at most this many index terms (the most frequent ones):
# an unbounded `trans*` ORs hundreds of terms and takes seconds on a large library.
MAX_EXPANSIONS = 64
MAX_SCANNED_TERMS = 4000
# A prefix of two or three letters stands for hundreds of words, most of them common: its
# most frequent few are as good a guess, and decoding 64 of them at 100,000 papers took 0.4 s.
SHORT_PREFIX_EXPANSIONS = {1: 4, 2: 8, 3: 24}
PARTIAL_MIN = 2  # a partial last word this long is also searched as a prefix
PARTIAL_EXPANSIONS = 24  # ... and expands to this many words past 3 letters


class Bounded:
    """Mixin: expand to the most frequent matching terms only, ORed with a preloading matcher."""

    def _btexts(self, ixreader):  # type: ignore[no-untyped-def]
        # Asked for by the plan, the matcher and the highlights, and again at each keystroke
        # for the words already typed: expand once per reader and query term.
        with CACHES.expansions_lock:
            cache = CACHES.expansions.setdefault(ixreader, {})
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


class BoundedPrefix(Bounded, Q.Prefix):
    """A prefix scored as one word (constant score: the BM25 weight of a one-occurrence word
    as rare as all its expansions together), as Lucene does. Scoring every posting of up to
    64 expansions in Python was most of an as-you-type search (`la` at 100,000 papers), and
    a constant lets top-N pruning skip the prefix's postings once it cannot matter."""

    partial = False  # a word still being typed (PartialPrefix), not a written `word*`

    def _expand(self, ixreader):  # type: ignore[no-untyped-def]
        # Each segment's term table gives its words' document counts as it is walked (a
        # multi-segment reader looks every word up again in every segment: 0.2 s for `de`).
        field = self.field()
        wanted = wanted_expansions(len(self.text), partial=self.partial)
        readers = segment_readers(ixreader)
        saved = saved_expansions(readers, field, self.text, wanted)
        if saved is not None:
            return saved
        counts: dict[bytes, int] = {}
        for reader in readers:
            for text, info in islice(reader.iter_prefix(field, self.text), MAX_SCANNED_TERMS):
                counts[text] = counts.get(text, 0) + info.doc_frequency()
        return most_common(counts, wanted)

    def matcher(self, searcher, context=None):  # type: ignore[no-untyped-def]
        from whoosh import matching

        reader = searcher.reader()
        field = self.field()
        ids: set[int] = set()
        for text in self._btexts(reader):
            ids.update(posting_ids(reader, field, text))
        deleted = reader.deleted_docs_set if hasattr(reader, "deleted_docs_set") else None
        if deleted:
            ids -= deleted
        if not ids:
            return matching.NullMatcher()
        return ConstantMatcher(sorted(ids), self.boost * one_hit_score(searcher, field, len(ids)))


class PartialPrefix(BoundedPrefix):
    """The last word of a query being typed, as a prefix: fewer expansions past 3 letters
    than a written `word*` (each costs a list read in every segment: `quant` with 64 took
    ~200 ms at 1,000,000 papers), since the next letters narrow it anyway."""

    partial = True


def wanted_expansions(length: int, *, partial: bool) -> int:
    """How many of a prefix's most common words it expands to."""
    if length in SHORT_PREFIX_EXPANSIONS:
        return SHORT_PREFIX_EXPANSIONS[length]
    return PARTIAL_EXPANSIONS if partial else MAX_EXPANSIONS


def saved_expansions(readers: list, field: str, prefix: str, wanted: int) -> list[bytes] | None:  # type: ignore[type-arg]
    """A prefix's `wanted` most common words, from the saved warm-ups when every big segment
    has one: they hold the library's most common words, and any word left out is rarer than
    those kept, so `wanted` of them with the prefix are its most common. At 1,000,000 papers
    walking the term tables for `re` took 0.5 s (and decoding its words' lists 0.4 s more:
    these are mapped). None when the saved words cannot answer."""
    big = [
        r
        for r in readers
        if r.doc_count_all() >= segments.WARM_SAVE_FROM_DOCS and hasattr(r, "_segment")
    ]
    # A common prefix's expansions were saved with its union, counted over the big segments.
    unions = [
        CACHES.saved_unions.get(r._segment.segment_id(), {}).get((field, prefix)) for r in big
    ]
    if (
        wanted == wanted_expansions(len(prefix), partial=True)
        and big
        and all(unions)
        and len({u[0] for u in unions if u}) == 1
    ):
        return list(unions[0][0])  # type: ignore[index]
    start = prefix.encode()
    counts: dict[bytes, int] = {}
    for reader in big:
        key = reader._segment.segment_id()
        saved = CACHES.saved_warm.get(key)
        if saved is None:
            return None
        texts, dfs = saved_words(key, saved).get(field, ([], []))
        # (UTF-8 has no 0xFF byte: every word with the prefix sorts below prefix + 0xFF)
        for at in range(bisect_left(texts, start), bisect_left(texts, start + b"\xff")):
            counts[texts[at]] = counts.get(texts[at], 0) + dfs[at]
    if len(counts) < wanted:
        return None
    return most_common(counts, wanted)


def most_common(counts: dict[bytes, int], wanted: int) -> list[bytes]:
    """The `wanted` words with the largest counts, largest first."""
    return [text for _, text in heapq.nlargest(wanted, ((df, t) for t, df in counts.items()))]


def keep_top(top: list[tuple[int, bytes]], size: int, item: tuple[int, bytes]) -> None:
    """Add `item` to the heap `top` of the `size` largest seen so far."""
    if len(top) < size:
        heapq.heappush(top, item)
    elif item > top[0]:
        heapq.heapreplace(top, item)


def one_hit_score(searcher, field: str, df: int) -> float:  # type: ignore[no-untyped-def]
    """BM25F (Whoosh's defaults) of a word occurring once in a field of average length."""
    idf = math.log(searcher.doc_count_all() / (df + 1)) + 1.0
    tf = getattr(searcher.schema[field].format, "field_boost", 1.0)  # postings' weights carry it
    k1 = 1.2
    return idf * tf * (k1 + 1) / (tf + k1)


class ConstantMatcher(ListMatcher):
    """Sorted document numbers, every one with the same score, skippable by that score."""

    def __init__(self, ids: list[int], score: float, position: int = 0) -> None:
        super().__init__(ids, all_weights=score, position=position)
        self._const = score

    def copy(self):  # type: ignore[no-untyped-def]
        return ConstantMatcher(self._ids, self._const, self._i)

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


class BoundedFuzzy(Bounded, Q.FuzzyTerm):
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
