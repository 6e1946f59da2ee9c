"""Which segments a save's commit merges: small ones, never the big ones, nothing emptied."""

from __future__ import annotations

from paperreader.core.library import Library
from paperreader.core.models import Paper
from paperreader.core.search import commit


def segments(library: Library) -> dict[str, tuple[int, int]]:
    """Segment id -> (papers, papers not deleted)."""
    return {
        seg.segment_id(): (seg.doc_count_all(), seg.doc_count())
        for seg in library.index.ix._segments()
    }


def test_saves_merge_only_small_segments_and_drop_emptied_ones(
    library: Library, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(commit, "SMALL_MERGE_DOCS", 100)
    for batch in range(5):
        library.add_papers(
            [
                Paper(id=f"qqmerge-{batch}-{n}", title=f"qqmerge batch {batch} paper {n}")
                for n in range(150)
            ]
        )
    big = {key for key, (papers, _) in segments(library).items() if papers >= 100}
    assert len(big) == 5
    picked = [f"qqmerge-{n % 5}-{n}" for n in range(20)]
    for _ in range(12):  # the benchmark's saves: 20 bookmarks in a burst, then undone
        for on in (True, False):
            for paper_id in picked:
                library.set_bookmark(paper_id, on)
            library.flush()
    now = segments(library)
    assert big <= set(now)  # never rewritten (their bookmarked papers are marked deleted)
    assert all(live for _, live in now.values()), now  # an emptied segment is dropped
    assert len(now) <= len(big) + 3, now
    assert library.search("qqmerge", limit=1).total == 750
    assert library.search("is:bookmarked", limit=1).total == 0


def test_a_folded_segment_keeps_its_papers_as_saved(library: Library) -> None:
    """A commit folds small segments in by indexing their papers again from the records and
    the store files: nothing is lost, a bookmark and a note stay searchable, no paper twice."""
    library.add_papers([Paper(id="qqfold-a", title="qqfold first paper")])
    library.set_bookmark("qqfold-a", True)
    library.set_note("qqfold-a", "a qqegret remark")
    library.flush()
    before = segments(library)
    library.add_papers([Paper(id=f"qqfold-{n}", title=f"qqfold paper {n}") for n in range(300)])
    after = segments(library)
    assert len(after) < len(before) + 1  # the small segments were folded into the new one
    assert [h.id for h in library.search("is:bookmarked qqfold").hits] == ["qqfold-a"]
    assert [h.id for h in library.search("qqegret").hits] == ["qqfold-a"]
    assert library.search("qqfold", limit=1).total == 301
    assert library.index.doc_count() == library.count()
