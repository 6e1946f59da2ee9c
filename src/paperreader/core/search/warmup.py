"""Warm the common words' lists and short prefixes' unions, saved beside the index (warm_files)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from paperreader.core import mapped
from paperreader.core.search import segments, warm_files
from paperreader.core.search.expansion import PARTIAL_MIN, keep_top, wanted_expansions
from paperreader.core.search.segments import (
    CACHES,
    MAPPED_LIMIT,
    SegmentSource,
    segment_readers,
    segment_sources,
)
from paperreader.core.search.spelling import spelling_hashes
from paperreader.core.search.w3format import field_doc_counts

# warm(): the most common words, while they cost more than a millisecond to decode.
WARM_BYTES = 64 * 1024 * 1024
WARM_TERMS = 2000
WARM_MIN_DF = 2000
WARM_BYTES_PER_DOC = 320  # saved warm-ups grow with the library: 320 MB at 1,000,000 papers
UNION_MIN_SHARE = 0.02  # a prefix's union is saved if its words have this many postings a doc
UNION_MAX_PREFIX = 4  # letters: longer prefixes have fewer, rarer words
UNION_BUDGET_SHARE = 5  # unions take up to a fifth of the saved warm-up


def warm(  # type: ignore[no-untyped-def]
    searcher,
    schema,
    folder: Path,
    budget: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Decode the postings of the most common title and abstract words, most common
    first, until `budget` bytes: those are the words whose first search would cost tens
    of milliseconds (rare words decode in well under one). A big segment's lists are
    streamed to its saved warm-up (warm_files.py) and mapped, and the next start
    finds them there; a small segment's go into the search cache. Meant for a background
    thread once the reader shows its first screen; returns the bytes."""
    reader = searcher.reader()
    if budget is None:  # a bigger library's common words have longer lists
        budget = max(WARM_BYTES, WARM_BYTES_PER_DOC * reader.doc_count_all())
    sources = segment_sources(searcher)
    big = [src for src in sources if src.doc_count >= segments.WARM_SAVE_FROM_DOCS]
    unsaved = [src for src in big if not src.load_warm(folder)]
    if big and not unsaved:  # saved by an earlier run: memory-mapped, nothing to decode
        return sum(src.warm_bytes() for src in big)
    common: list[tuple[int, str, bytes]] = []
    seg_readers = segment_readers(reader)
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
        for segment in seg_readers:
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
    chosen_prefixes = [p[1:] for p in prefixes[: budget // UNION_BUDGET_SHARE // max(1, per_union)]]
    chosen: list[tuple[str, bytes]] = []
    # Up to a quarter for titles, down to rarer words: their lists are ~10x shorter, and
    # short prefixes expand from the saved words when they hold enough (saved_expansions).
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
            words_hashes = spelling_hashes(src.reader, schema, build=True)
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
            if src.key not in CACHES.saved_warm:
                ids, weights = src.postings(field, text)
                cached += ids.nbytes + weights.nbytes
        _let_others_in()
    with contextlib.suppress(OSError):
        warm_files.prune(folder, {src.key for src in sources})
    mapped.trim(MAPPED_LIMIT)  # the term tables it walked
    return used + cached


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
    for text, df in field_doc_counts(segment, field):
        if counts is not None:
            counts[text] = counts.get(text, 0) + df
        keep_top(top, WARM_TERMS, (df, text))
    return [text for _, text in top]


def _warm_lists(
    src: SegmentSource, chosen: list[tuple[str, bytes]], stop: Callable[[], bool]
) -> Iterator[tuple[tuple[str, bytes], tuple[np.ndarray, np.ndarray]]]:
    for field, text in chosen:
        if stop():
            raise _WarmStopped
        yield (field, text), src.postings(field, text, keep=False)
        _let_others_in()


def _warm_unions(
    src: SegmentSource,
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
            keep_top(
                tops.setdefault(word[:length], []),
                wanted_expansions(length, partial=True),
                (df, text),
            )
    for prefix, top in tops.items():
        postings = sum(df for df, _ in top)
        if postings >= UNION_MIN_SHARE * docs:
            ranked = tuple(text for _, text in sorted(top, reverse=True))
            yield postings, field, prefix, ranked
