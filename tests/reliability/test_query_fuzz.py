"""Any text typed into the search box gives results or one clear QueryError, never a crash."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperreader.core.errors import QueryError
from paperreader.core.library import VIEWS, Library
from paperreader.core.models import SearchResult

# Pieces of the query language, so the fuzzer reaches the parser's corners quickly.
TOKENS = [
    "AND", "OR", "NOT", "(", ")", '"', "*", "?", "~", "~2", "^2", ":", "[", "]", "{", "}",
    "TO", "<", ">", "<=", ">=", "-", "+", "\\", "'", "title:", "author:", "by:", "tag:",
    "tags:", "note:", "date:", "year:", "id:", "doi:", "arxiv:", "is:bookmarked", "is:",
    "has:note", "has:", "is:nonsense", "date:2024", "date:[2020 TO 2023]", "date:>2022",
    "date:yesterday", "trans*", "diffusion", "attention~", "*", "**", "a*", "2403.01234",
    "10.1000/x", "   ", "\t", "\n", "ü", "日本", "\u202e", "\x1b[2J", "\x00",
]  # fmt: skip

QUERIES = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)), min_size=0, max_size=12
).map(" ".join) | st.text(max_size=40)


@pytest.fixture(scope="module")
def fuzz_library(
    seeded_library_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Library]:
    root = tmp_path_factory.mktemp("fuzz") / "library"
    shutil.copytree(seeded_library_template, root)
    lib = Library(root)
    hits = lib.search("", limit=3).hits
    lib.set_note(hits[0].id, "a note about attention")
    lib.add_tags(hits[1].id, ["llm", "to-read"])
    lib.set_bookmark(hits[2].id)
    yield lib
    lib.close()


def _check(lib: Library, query: str, **options: object) -> float:
    """Search; returns the seconds it took (results or a QueryError, nothing else)."""
    started = time.perf_counter()
    try:
        result = lib.search(query, **options)  # type: ignore[arg-type]
    except QueryError as exc:
        assert str(exc).strip() and len(str(exc)) < 2000
    else:
        assert isinstance(result, SearchResult)
        assert len(result.hits) <= 20 and result.total >= 0
    return time.perf_counter() - started


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=QUERIES,
    partial=st.booleans(),
    sort=st.sampled_from(["relevance", "newest", "oldest", "title"]),
    view=st.sampled_from([None, *VIEWS, "tag:llm"]),
)
def test_any_query_gives_results_or_query_error(
    fuzz_library: Library, query: str, partial: bool, sort: str, view: str | None
) -> None:
    _check(fuzz_library, query, limit=20, partial_last=partial, sort=sort, view=view)


NASTY = [
    "(((((", ")))))", '"unclosed', "title:", "date:[", "date:[2020 TO", "NOT", "AND OR NOT",
    "*", "?", "~", "date:>", "is:", "has:", 'tag:""', "\\", "'" * 50, "(" * 500,
    "date:99999999", "date:0000", "date:[3000 TO 1000]", "author:*", "title:*",
    "\x00\x1b]52;c;eA==\x07", "\ud800",
    # expensive shapes: each once took seconds (transformer~5: 47 s on 98 papers)
    "a~99", "transformer~5", "a " * 2000, "word " * 200, "x" * 10_000, "x" * 999,
]  # fmt: skip


@pytest.mark.parametrize("query", NASTY, ids=[f"q{i}" for i in range(len(NASTY))])
def test_known_nasty_queries(fuzz_library: Library, query: str) -> None:
    seconds = _check(fuzz_library, query, limit=20)
    seconds += _check(fuzz_library, query, limit=20, partial_last=True)
    assert seconds < 5, f"{query[:40]!r} took {seconds:.1f} s"


def test_a_pasted_page_is_refused_quickly(fuzz_library: Library) -> None:
    """A 10,000-character query took seconds per keystroke; it is refused at once."""
    with pytest.raises(QueryError, match="at most 1000"):
        fuzz_library.search("transformer " * 1000)
    assert _check(fuzz_library, "x" * 1000, limit=20) < 2
