"""A search whose segments another process's commit removed under it runs once more on the new
index; a failure on an index that did not change is one QueryError naming the error."""

from __future__ import annotations

import pytest

from paperreader.core.errors import QueryError
from paperreader.core.library import Library
from paperreader.core.search import index as index_module


def test_a_search_whose_index_changed_under_it_runs_again(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library.search("diffusion")  # this thread's searcher, opened on the index as it is
    real = index_module.fast_search
    calls: list[int] = []

    def segment_gone(searcher, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:  # another process commits meanwhile; the old segment is gone
            other = Library(library.root)
            other.set_bookmark(library.search("", limit=1).hits[0].id)
            other.close()
            raise FileNotFoundError(2, "No such file or directory")
        return real(searcher, *args, **kwargs)

    monkeypatch.setattr(index_module, "fast_search", segment_gone)
    result = library.search("diffusion")
    assert len(calls) == 2 and result.total > 0


def test_a_commit_while_a_search_is_planned_leaves_that_search_its_searcher(
    library, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The search took this thread's searcher, then asked for it again to correct the words:
    # when another process had committed in between, the second ask closed the first one's
    # searcher and the search read a closed reader (ReaderClosed, seen in CI).
    library.search("diffusion")
    target = library.search("", limit=1).hits[0].id
    real = library.index.parse
    calls: list[int] = []

    def parse_while_another_process_commits(text, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            other = Library(library.root)
            other.set_bookmark(target)
            other.close()
        return real(text, **kwargs)

    monkeypatch.setattr(library.index, "parse", parse_while_another_process_commits)
    result = library.search("diffusoin")  # a typo: the words are corrected
    assert result.total > 0 and result.corrected
    assert library.search("is:bookmarked").hits[0].id == target


def test_a_failure_on_an_unchanged_index_is_one_query_error(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library.search("diffusion")

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise IndexError()

    monkeypatch.setattr(index_module, "fast_search", broken)
    with pytest.raises(QueryError, match="the query 'diffusion' failed: IndexError"):
        library.search("diffusion")
