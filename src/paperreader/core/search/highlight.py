"""Highlights: the spans of a text whose indexed words are among the matched terms."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from whoosh import query as Q

from paperreader.core.search.expansion import Bounded
from paperreader.core.search.schema import NAME_ANALYZER, TEXT_ANALYZER


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


def spans(text: str, field: str, terms: set[tuple[str, str]]) -> list[tuple[int, int]]:
    """Character spans of `text` whose indexed form is one of the matched terms of `field`."""
    wanted = {t for f, t in terms if f == field}
    if not wanted or not text:
        return []
    tokens = _short_tokens(text, field) if len(text) <= 300 else _tokens(text, field)
    found = [(start, end) for word, start, end in tokens if word in wanted]
    return _merge_spans(found)


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


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


def query_terms(query: Q.Query, reader) -> Iterable[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Every (field, term) the query can match, with prefix/fuzzy expansions resolved."""
    for leaf in _positive_leaves(query):
        if isinstance(leaf, Bounded):
            field = leaf.field()  # type: ignore[attr-defined]
            yield from ((field, t) for t in leaf._btexts(reader))
        else:
            yield from leaf.iter_all_terms()


def text_terms(pairs: Iterable[tuple[str, object]]) -> set[tuple[str, str]]:
    """Matched terms of the text fields, decoded (date and flag terms are not highlighted)."""
    out = set()
    for field, term in pairs:
        if field in ("title", "abstract", "authors", "note", "tags"):
            text = term.decode("utf-8", errors="replace") if isinstance(term, bytes) else term
            out.add((field, str(text)))
    return out
