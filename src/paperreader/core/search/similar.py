"""Papers like this one: Bo1 key words of its text, word statistics kept while the segments stay."""

from __future__ import annotations

from whoosh import query as Q
from whoosh.classify import Bo1Model, Expander

from paperreader.core import mapped
from paperreader.core.models import Hit, Paper
from paperreader.core.search.ranking import fast_search
from paperreader.core.search.schema import hit_from_fields
from paperreader.core.search.segments import CACHES, MAPPED_LIMIT, segment_readers


def similar(searcher, paper: Paper, limit: int = 10) -> list[Hit]:  # type: ignore[no-untyped-def]
    """The papers most like `paper` (not itself), best first."""
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
    ranked, _ = fast_search(searcher, query, limit + 1, "relevance")
    found = [(d, score) for d, score in ranked if d != docnum][:limit]
    mapped.trim(MAPPED_LIMIT)  # the key words' look-ups touched every segment's term table
    return [hit_from_fields(searcher.stored_fields(d), score) for d, score in found]


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
            r._segment.segment_id() for r in segment_readers(reader) if hasattr(r, "_segment")
        )
        if CACHES.word_stats.get("segments") != segments or len(CACHES.word_stats) > WORD_STATS_MAX:
            CACHES.word_stats.clear()
            CACHES.word_stats["segments"] = segments
        self._looked_up = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._reader, name)

    def _frequency(self, term: tuple[str, bytes]) -> float:
        """The word's total frequency, -1 if the index does not have it."""
        found = CACHES.word_stats.get(term)
        if found is None:
            self._looked_up += 1
            if self._looked_up % 48 == 0:
                mapped.trim(MAPPED_LIMIT)
            found = self._reader.frequency(*term) if term in self._reader else -1.0
            CACHES.word_stats[term] = found
        return found  # type: ignore[return-value]

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self._frequency(term) >= 0

    def frequency(self, fieldname: str, text: bytes) -> float:
        return max(0.0, self._frequency((fieldname, text)))


WORD_STATS_MAX = 200_000
