"""The query language and what search returns, on the bundled sample."""

from __future__ import annotations

from datetime import date

import pytest

from paperreader.core.errors import QueryError
from paperreader.core.models import Paper, normalise_title


def titles(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in result.hits]


def test_plain_words_rank_papers_matching_all_first(library) -> None:  # type: ignore[no-untyped-def]
    result = library.search("speculative decoding heterogeneous")
    assert result.hits[0].title.startswith("Dovetail")
    # A paper matching only some of the words still shows.
    assert any(t.startswith("EasySpec") for t in titles(result))


def test_stemming_and_accent_folding(library) -> None:  # type: ignore[no-untyped-def]
    assert titles(library.search("melange", limit=1))[0].startswith("Mélange")
    assert titles(library.search("MÉLANGE", limit=1))[0].startswith("Mélange")
    assert "quantized" in titles(library.search("quantizing", limit=3))[0].lower() or any(
        "Quantiz" in t for t in titles(library.search("quantizing", limit=3))
    )


@pytest.mark.parametrize("query", ["flash attention", "flashattention2", "FlashAttention-2"])
def test_hyphens_and_joined_words_find_each_other(library, query: str) -> None:  # type: ignore[no-untyped-def]
    found = titles(library.search(query, limit=3))
    assert any(t.startswith("FlashAttention-2") for t in found)
    assert any(t.startswith("FastAttention: Extend FlashAttention2") for t in found)


def test_phrase_requires_adjacent_words(library) -> None:  # type: ignore[no-untyped-def]
    phrase = library.search('"speculative decoding"', limit=100)
    assert phrase.total >= 2
    assert all(h.id for h in phrase.hits)
    reversed_phrase = library.search('"decoding speculative"', limit=100)
    assert reversed_phrase.total == 0


def test_boolean_operators(library) -> None:  # type: ignore[no-untyped-def]
    both = library.search("quantization AND vision", limit=100)
    without = library.search("quantization NOT vision", limit=100)
    either = library.search("quantization OR vision", limit=100)
    assert both.total >= 1 and without.total >= 1
    assert both.total + without.total == library.search("quantization", limit=100).total
    assert either.total > max(both.total, without.total)
    assert not {h.id for h in both.hits} & {h.id for h in without.hits}


def test_field_queries_are_required(library) -> None:  # type: ignore[no-untyped-def]
    result = library.search("title:diffusion video", limit=100)
    assert result.total >= 2
    assert all("diffusion" in t.lower() for t in titles(result))


def test_prefix_and_fuzzy(library) -> None:  # type: ignore[no-untyped-def]
    prefix = library.search("quantiz*", limit=100)
    assert prefix.total >= 5
    fuzzy = library.search("splattin~", limit=5)
    assert titles(fuzzy)[0].startswith("4D Gaussian Splatting")


def test_date_queries(library) -> None:  # type: ignore[no-untyped-def]
    assert library.search("date:2026", limit=1000).total == 98
    assert library.search("date:2024", limit=1000).total == 0
    assert (
        library.search("diffusion date:[2025 to 2026]", limit=1000).total
        == library.search("diffusion", limit=1000).total
    )
    assert library.search("diffusion year:2020", limit=1000).total == 0


def test_filters_follow_the_users_data(library) -> None:  # type: ignore[no-untyped-def]
    target = library.search("gptq", limit=1).hits[0].id
    assert library.search("is:bookmarked").total == 0
    library.set_bookmark(target)
    library.set_note(target, "Second-order weight updates; read section 3 again.")
    library.add_tags(target, ["quantization", "to-cite"])
    library.set_state(target, "reading")
    assert [h.id for h in library.search("is:bookmarked").hits] == [target]
    assert [h.id for h in library.search("has:note").hits] == [target]
    assert [h.id for h in library.search("is:reading").hits] == [target]
    assert library.search("is:unread", limit=1000).total == 97
    # Notes and tags are searchable as soon as they are saved.
    assert [h.id for h in library.search("section again").hits][:1] == [target]
    assert [h.id for h in library.search("tag:to-cite").hits] == [target]
    assert [h.id for h in library.search("note:weight").hits] == [target]
    hit = library.search("tag:to-cite").hits[0]
    assert hit.bookmarked and hit.has_note and hit.tags == ["quantization", "to-cite"]
    assert [h.id for h in library.search("", view="bookmarked").hits] == [target]
    assert [h.id for h in library.search("", view="tag:quantization").hits] == [target]


def test_unknown_filter_and_bad_syntax_are_clean_errors(library) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="unknown filter"):
        library.search("is:nonsense")
    with pytest.raises(QueryError, match="unknown sort"):
        library.search("x", sort="sideways")
    for odd in ['"unclosed', "a:b:c [", "(((", "AND", "date:[2020 to", "*", "~", "title:"]:
        try:  # results, or one line saying what is wrong (test_query_errors.py); no crash
            library.search(odd)
        except QueryError as exc:
            assert "\n" not in str(exc) and "column" in str(exc)


def test_sorts_and_pages(library) -> None:  # type: ignore[no-untyped-def]
    by_title = library.search("", sort="title", limit=100)
    assert titles(by_title) == sorted(titles(by_title), key=normalise_title)
    first = library.search("", sort="title", limit=10)
    second = library.search("", sort="title", offset=10, limit=10)
    assert titles(first) + titles(second) == titles(by_title)[:20]
    assert first.total == 98


def test_newest_first_with_no_query(library) -> None:  # type: ignore[no-untyped-def]
    library.add_papers(
        [
            Paper(id="2501.00001", title="A Paper From The Future", published=date(2027, 1, 2)),
            Paper(id="1901.00001", title="An Old Paper", published=date(2019, 1, 2)),
        ]
    )
    newest = library.search("")
    assert newest.hits[0].id == "2501.00001"
    assert library.search("", sort="oldest").hits[0].id == "1901.00001"


def test_hits_carry_score_and_highlight_spans(library) -> None:  # type: ignore[no-untyped-def]
    result = library.search("latent diffusion", limit=3)
    top = library.get(result.hits[0].id)
    assert result.hits[0].score > result.hits[-1].score > 0
    spans = library.matches(top, result)
    words = {top.title[s:e].lower() for s, e in spans["title"]}
    assert words == {"latent", "diffusion"}
    # "latent-diffusion" in the abstract matches as one word, as typed in the query.
    found = {top.abstract[s:e].lower() for s, e in spans["abstract"]}
    assert found <= {"latent", "diffusion", "latent-diffusion"}
    assert "video" not in {t for _, t in library.search("latent NOT video").terms}


def test_as_you_type_matches_the_partial_last_word(library) -> None:  # type: ignore[no-untyped-def]
    typed = library.search("gaussian splat", partial_last=True, limit=3)
    assert typed.suggestion is None
    assert titles(typed)[0].startswith("4D Gaussian Splatting")


def test_similar_papers(library) -> None:  # type: ignore[no-untyped-def]
    first, second = (h.id for h in library.search("title:vbench", limit=2).hits)
    similar = [h.id for h in library.similar(first, limit=5)]
    assert first not in similar
    assert similar[0] == second
    assert library.similar(second, limit=1)[0].id == first


@pytest.mark.parametrize(
    "query", ["speculative decoding cpu gpu heterogeneous", "gpu memory", "llm"]
)
def test_top_n_equals_the_head_of_a_full_ranking(library, query: str) -> None:  # type: ignore[no-untyped-def]
    """Top-N pruning must never change which papers come first."""
    head = [h.id for h in library.search(query, limit=5).hits]
    full = [h.id for h in library.search(query, limit=1000).hits]
    assert head == full[:5]


def test_undated_papers_come_last_when_newest_first(library) -> None:  # type: ignore[no-untyped-def]
    library.add_papers([Paper(id="undated-1", title="An Undated Gaussian Paper")])
    assert library.search("", limit=1000).hits[-1].id == "undated-1"  # the plain list
    with_words = library.search("gaussian", sort="newest", limit=1000)
    assert with_words.hits[-1].id == "undated-1"
    assert with_words.hits[-1].published is None
    in_view = library.search("", view="unread", sort="newest", limit=1000)
    assert in_view.hits[-1].id == "undated-1"


@pytest.mark.parametrize(
    "query", ["gaussian splat", "speculative dec", "lo", "quantization NOT vis"]
)
def test_as_you_type_totals_are_exact_and_top_n_is_the_head(library, query: str) -> None:  # type: ignore[no-untyped-def]
    """Totals come from posting-id sets and the partial word scores as a constant: both must
    agree with Whoosh's own count and with the full ranking."""
    result = library.search(query, partial_last=True, limit=5, correct=False)
    whoosh_count = len(
        library.index.searcher().search(library.index.parse(query, partial_last=True), limit=None)
    )
    assert result.total == whoosh_count > 0
    full = library.search(query, partial_last=True, limit=1000, correct=False)
    assert [h.id for h in result.hits] == [h.id for h in full.hits][:5]


@pytest.mark.parametrize(
    ("query", "word"),
    [("transformer~1", "transform"), ("atention~1", "attention"), ("splattin~", "splatting")],
)
def test_fuzzy_words_compare_the_word_as_written(library, query: str, word: str) -> None:  # type: ignore[no-untyped-def]
    # The parser hands over the stem ("transform"), which is no title word; the fuzzy match
    # must start from the word the user wrote.
    result = library.search(query, correct=False, limit=5)
    assert result.total > 0
    assert word in result.hits[0].title.lower()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("langauge models", "language models"),
        ("retreival", "retrieval"),
        ("speculatve", "speculative"),
    ],
)
def test_did_you_mean_counts_a_swap_as_one_edit(library, typed: str, meant: str) -> None:  # type: ignore[no-untyped-def]
    result = library.search(typed)
    assert result.suggestion == meant and result.corrected


def _with_undated(library):  # type: ignore[no-untyped-def]
    from datetime import date

    from paperreader.core.models import Paper

    library.add_papers(
        [
            Paper(id="undated-quokka", title="Undated quokka survey"),
            Paper(id="old-quokka", title="Old quokka study", published=date(1999, 1, 1)),
            Paper(id="new-quokka", title="New quokka study", published=date(2030, 1, 1)),
        ]
    )


@pytest.mark.parametrize("query", ["quokka", ""])
def test_undated_papers_sort_last_for_newest(library, query: str) -> None:  # type: ignore[no-untyped-def]
    _with_undated(library)
    ids = [h.id for h in library.search(query, sort="newest", limit=1000).hits]
    assert ids[0] == "new-quokka" and ids[-1] == "undated-quokka"


@pytest.mark.parametrize("query", ["quokka", ""])
def test_undated_papers_sort_last_for_oldest(library, query: str) -> None:  # type: ignore[no-untyped-def]
    _with_undated(library)
    ids = [h.id for h in library.search(query, sort="oldest", limit=1000).hits]
    assert ids[0] == "old-quokka" and ids[-1] == "undated-quokka"
