"""Queries that cannot mean what was typed are errors: one line naming what is wrong and where.

The check runs before Whoosh reads the query (core/search/syntax.py, QueryParser.check):
Whoosh alone drops an unclosed `(` or `"`, searches a lone `AND` as a word and lets
`date:notadate` match every paper.
"""

from __future__ import annotations

import pytest

from paperreader.core.errors import QueryError

KNOWN_FIELDS = ("title", "abstract", "author", "tag", "note", "date", "year", "id", "arxiv", "doi")

BAD = [
    # (query, fragments the one-line message must hold, case-insensitive)
    ("title:(", ["unclosed '('", "column 7"]),
    ('"unclosed', ["unclosed quote", "column 1"]),
    ("author:", ["author:", "needs a value"]),
    ("author: smith", ["author:", "needs a value"]),
    ("AND", ["AND", "needs a word"]),
    ("diffusion AND", ["AND", "needs a word"]),
    ("NOT", ["NOT", "needs a word"]),
    ("date:notadate", ["date:notadate", "not a date"]),
    ("date:2024-13", ["date:2024-13", "not a date"]),
    (")", ["unmatched ')'", "column 1"]),
    ("diffusion)", ["unmatched ')'", "column 10"]),
    ("date:[2023 to", ["unclosed '['", "column 6"]),
    ("foo:bar", ["unknown field 'foo'", "known:", *KNOWN_FIELDS]),
    ("diffusion foo:bar", ["unknown field 'foo'", "known:"]),
]

GOOD = [
    "title:(diffusion model)",
    '"large language models"',
    "author:smith",
    "diffusion AND model",
    "diffusion NOT video",
    "date:2024",
    "date:[2023 TO 2024]",
    "is:bookmarked has:note",
    "arxiv:2403.01234",
    "tag:llm",
    "note:todo",
    "diffusion and models",  # lower-case words, not operators
    "c++ templates",
]


@pytest.mark.parametrize(("query", "fragments"), BAD, ids=[q for q, _ in BAD])
def test_a_bad_query_is_one_clear_line(library, query: str, fragments: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as caught:
        library.search(query, limit=5)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    missing = [f for f in fragments if f.lower() not in message.lower()]
    assert not missing, f"{message!r} lacks {missing}"


@pytest.mark.parametrize("query", GOOD)
def test_a_good_query_is_no_error(library, query: str) -> None:  # type: ignore[no-untyped-def]
    library.search(query, limit=5)  # raises nothing, today and once the checks are wired


def test_the_known_fields_named_are_the_ones_a_query_may_use(library) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as caught:
        library.search("foo:bar")
    message = str(caught.value)
    assert "known: title, abstract, author" in message
    assert "spell_" not in message and "flags" not in message
    with pytest.raises(QueryError, match="unknown field 'spell_title'"):
        library.search("spell_title:x")
