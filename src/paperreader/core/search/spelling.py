"""Did-you-mean: one-edit candidates filtered by word hashes, then a Levenshtein automaton."""

from __future__ import annotations

import zlib
from itertools import islice

import numpy as np

from paperreader.core.search import segments
from paperreader.core.search.expansion import MAX_SCANNED_TERMS
from paperreader.core.search.query import _FIELDED, _OPERATORS, _PLAIN_WORD
from paperreader.core.search.schema import NAME_ANALYZER, analyse
from paperreader.core.search.segments import CACHES, segment_readers
from paperreader.core.search.w3format import field_doc_counts

_EDIT_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def spelling_hashes(segment, schema, *, build: bool) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """Sorted CRC-32s of a segment's spelling words (title and abstract): from its saved
    warm-up, or made here from its term table when `build` (~0.3 s a 50,000-paper segment)."""
    if not hasattr(segment, "_segment"):
        return None  # not a segment reader (an empty index)
    key = segment._segment.segment_id()
    found = CACHES.spelling.get(key)
    if found is None and build:
        fields = [schema[f].spelling_fieldname(f) for f in ("title", "abstract")]
        words = (
            zlib.crc32(w) for f in fields if f in schema for w, _ in field_doc_counts(segment, f)
        )
        found = CACHES.spelling[key] = np.unique(np.fromiter(words, dtype=np.uint32))
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


class Speller:
    """Did-you-mean for one schema, with its suggestions remembered per reader."""

    def __init__(self, schema) -> None:  # type: ignore[no-untyped-def]
        self.schema = schema
        self._suggested: tuple[object, dict[str, str | None]] | None = None

    def correction(self, reader, text: str, *, skip_last: bool = False) -> str | None:  # type: ignore[no-untyped-def]
        """The query with unknown words replaced by the closest indexed words, or None.

        `skip_last` leaves a word still being typed alone (it is searched as a prefix)."""
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
        stems = analyse(word)
        if not stems:
            return True  # a stop word or punctuation: nothing to correct
        for field in ("title", "abstract", "note", "text"):  # (a word only in a full text too)
            if field in reader.schema and all(reader.doc_frequency(field, s) for s in stems):
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
                    stems = analyse(candidate)
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
        for segment in segment_readers(reader):
            small = segment.doc_count_all() < segments.WARM_SAVE_FROM_DOCS  # a quick list to make
            known = spelling_hashes(segment, self.schema, build=small)
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
                stems = analyse(candidate)
                freq = reader.doc_frequency(field, stems[0]) if stems else 0
                key = (_edit_distance(word, candidate), -freq, candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None
