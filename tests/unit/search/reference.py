"""The test oracle: a search done by Whoosh's own matchers and collectors (slow), which the
tests compare the vectorised path with."""

from __future__ import annotations

from whoosh import query as Q
from whoosh.collectors import TopCollector

from paperreader.core.search import SearchIndex
from paperreader.core.search.schema import UNDATED

_SORT_FACETS = {"newest": ("date", True), "oldest": ("date", False), "title": ("title_sort", False)}


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
        ordered = list(results)
        if sort == "oldest":  # undated papers last for oldest too (newest has them last)
            ordered = [h for h in ordered if h.get("date") != UNDATED] + [
                h for h in ordered if h.get("date") == UNDATED
            ]
        hits = [(h["id"], 0.0) for h in ordered[:k]]
        return hits, len(results)
    collector = TopCollector(limit=k, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return [(h["id"], h.score) for h in results], len(results)
