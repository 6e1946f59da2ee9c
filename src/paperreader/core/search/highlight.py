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
        if field in ("title", "abstract", "authors", "note", "tags", "text"):
            text = term.decode("utf-8", errors="replace") if isinstance(term, bytes) else term
            out.add((field, str(text)))
    return out


SNIPPET_WIDTH = 160  # characters of a full-text snippet
_SNIPPET_SCAN = 200  # matched words looked at (the text is analysed only up to the last one)


def snippet(
    text: str, terms: set[tuple[str, str]], width: int = SNIPPET_WIDTH
) -> tuple[str, list[tuple[int, int]]] | None:
    """Where the query's full-text words (`text` terms) occur in `text`: the passage of about
    `width` characters holding most of them (the first such), whitespace squeezed, with the
    spans of the matched words in it; None when none occurs."""
    wanted = {t for f, t in terms if f == "text"}
    if not wanted or not text:
        return None
    found: list[tuple[str, int, int]] = []
    for token in TEXT_ANALYZER(text, chars=True, removestops=False, mode="index"):
        if token.text in wanted:
            found.append((token.text, token.startchar, token.endchar))
            if len(found) >= _SNIPPET_SCAN:
                break
    if not found:
        return None
    best, best_words = 0, 0
    for i, (_, start, _) in enumerate(found):
        words = {w for w, s, e in found[i:] if e - start <= width}
        if len(words) > best_words:
            best, best_words = i, len(words)
    start = found[best][1]
    lead = start - width // 4
    if lead <= 20:
        lead = 0
    else:  # start at a word
        space = max(text.rfind(" ", lead - 20, lead + 1), text.rfind("\n", lead - 20, lead + 1))
        lead = space + 1 if space >= 0 else lead
    end = min(len(text), lead + width)
    if end < len(text):
        space = text.find(" ", end, end + 20)
        end = space if space >= 0 else end
    spans = [(s - lead, e - lead) for _, s, e in found if s >= lead and e <= end]
    return _squeeze(text[lead:end], spans, lead > 0, end < len(text))


def _squeeze(
    passage: str, spans: list[tuple[int, int]], before: bool, after: bool
) -> tuple[str, list[tuple[int, int]]]:
    """The passage on one line (runs of whitespace as one space), its spans moved to match."""
    out: list[str] = []
    where: list[int] = []  # position in `out` of each character of `passage`
    size = 0
    last_space = True
    for ch in passage:
        where.append(size)
        if ch.isspace():
            if not last_space:
                out.append(" ")
                size += 1
            last_space = True
        else:
            out.append(ch)
            size += 1
            last_space = False
    where.append(size)
    line = "".join(out)
    shift = 0
    if before:
        line, shift = "…" + line, 1
    moved = [(where[s] + shift, where[e] + shift) for s, e in _merge_spans(spans)]
    if after:
        line = line.rstrip() + "…"
    return line, moved
