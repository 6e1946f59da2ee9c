"""A query tree as a scoring.Plan with Whoosh's statistics, and the top k merged across segments."""

from __future__ import annotations

import heapq

import numpy as np
from whoosh import query as Q

from paperreader.core.search import scoring
from paperreader.core.search.expansion import Bounded, BoundedPrefix, one_hit_score
from paperreader.core.search.query import Typing
from paperreader.core.search.segments import SegmentSource, segment_sources


def _plan(query: Q.Query, searcher, sources: list[SegmentSource]) -> scoring.Plan:  # type: ignore[no-untyped-def]
    """The query as a scoring.py plan, with Whoosh's statistics (those of the whole
    index, as Whoosh's BM25F scorer takes them) and Whoosh's matcher quirks."""
    kind = type(query)
    if kind is Typing:
        base, *more = (_plan(q, searcher, sources) for q in query.subqueries)
        return scoring.Extend(base, tuple(more), query.boost)
    if isinstance(query, BoundedPrefix):
        field = query.field()
        terms = tuple(_as_bytes(searcher, field, t) for t in query._btexts(searcher.reader()))
        df = sum(scoring.bits_set(src.union(field, terms)) for src in sources) if terms else 0
        if not df:
            return scoring.Union(())
        score = query.boost * one_hit_score(searcher, field, df)
        return scoring.Constant(field, terms, score)
    if isinstance(query, Bounded):  # fuzzy: the expansions ORed, as its matcher does
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
    if kind is Q.Phrase:
        return _phrase_plan(query, searcher)
    if kind is Q.Every and query.fieldname in (None, "", "*"):
        return scoring.Everything(query.boost)
    return scoring.Opaque(query)


def _phrase_plan(query: Q.Phrase, searcher) -> scoring.Plan:  # type: ignore[no-untyped-def]
    """As Phrase.matcher: no match if a word is missing; Whoosh's own matcher (and its
    error) for a field without positions."""
    field = query.fieldname
    if field not in searcher.schema:
        return scoring.Union(())
    fieldobj = searcher.schema[field]
    if not fieldobj.format or not fieldobj.format.supports("positions") or not query.words:
        return scoring.Opaque(query)
    words = []
    for word in query.words:
        try:
            text = fieldobj.to_bytes(word)
        except ValueError:
            return scoring.Union(())
        plan = _term_plan(searcher, field, text, 1.0)
        if not isinstance(plan, scoring.Term):
            return scoring.Union(())  # a word not in the index
        words.append(plan)
    return scoring.Phrase(tuple(words), query.slop, query.boost)


def _as_bytes(searcher, field: str, text: str | bytes) -> bytes:  # type: ignore[no-untyped-def]
    # Whoosh's expansions come as str (fuzzy) or bytes (prefix, spelling): postings want bytes.
    return text if isinstance(text, bytes) else searcher.schema[field].to_bytes(text)


def _term_plan(searcher, field: str, text: bytes, boost: float) -> scoring.Plan:  # type: ignore[no-untyped-def]
    if (field, text) not in searcher.reader():  # as Whoosh: no statistics for a missing term
        return scoring.Union(())
    scorable = searcher.schema[field].scorable
    avgfl = (searcher.avg_field_length(field) or 1) if scorable else None
    return scoring.Term(field, text, searcher.idf(field, text), avgfl, boost)


def fast_search(searcher, query: Q.Query, k: int, sort: str) -> tuple[list[tuple[int, float]], int]:  # type: ignore[no-untyped-def]
    """The top `k` (document number, score) of the query and the number of matches, in
    Whoosh's order: by score (ties: lower document number first), or by date or title."""
    sources = segment_sources(searcher)
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


def matching(searcher, query: Q.Query, docnums: list[int]) -> set[int]:  # type: ignore[no-untyped-def]
    """Which of these documents (the searcher's numbers) the query matches, by the same
    plans, and so the same kept lists and phrase matches, as fast_search."""
    sources = segment_sources(searcher)
    plan = _plan(query, searcher, sources)
    wanted = np.array(sorted(docnums), dtype=np.int64)
    found: set[int] = set()
    for src in sources:
        local = wanted[(wanted >= src.offset) & (wanted < src.offset + src.doc_count)]
        if len(local):
            local -= src.offset
            mask = scoring.evaluate(plan, src).mask
            found.update((local[mask[local]] + src.offset).tolist())
    return found
