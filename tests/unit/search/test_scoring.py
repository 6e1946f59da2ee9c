"""The vectorised search path (search/scoring.py fed by search/ranking.py) against Whoosh's own
matchers and collectors: same papers, same order, same scores, same totals."""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest
from reference import whoosh_reference_search
from whoosh.classify import Bo1Model, Expander

from paperreader.core.models import Paper
from paperreader.core.search import (
    expansion,
    ranking,
    scoring,
    segments,
    similar,
    spelling,
    w3format,
    w3values,
    warmup,
    whoosh_patches,
)
from paperreader.core.search import (
    query as query_language,
)
from paperreader.core.search.index import _text_only
from paperreader.core.search.schema import hit_from_fields
from paperreader.core.search.segments import CACHES

QUERIES = [
    "diffusion model",
    "speculative decoding heterogeneous",
    "flash attention",
    '"language model"',
    '"state of the art"',
    '"large language"~3 inference',
    'title:"speculative decoding" OR "flash attention"',
    "video OR audio",
    "video AND generation",
    "model NOT diffusion",
    "quantization NOT vis",
    "date:2026 model",
    "title:attention",
    "author:nobody",
    "tag:reading model",
    "is:bookmarked",
    "is:unread attention",
    "has:note",
    "model^3 video",
    "atention~1 mechanism",
    "gaus*",
    "(speculative OR lookahead) decoding",
    "",
]
SORTS = ["relevance", "newest", "oldest", "title"]


def assert_same(library, query: str, sort: str, k: int = 40) -> None:  # type: ignore[no-untyped-def]
    if sort == "relevance" and not query:
        sort = "newest"  # what search() does with nothing to rank by
    mine = library.index.search(query, limit=k, sort=sort, correct=False)
    ref, total = whoosh_reference_search(library.index, query, k, sort)
    assert mine.total == total, (query, sort)
    assert [h.id for h in mine.hits] == [i for i, _ in ref], (query, sort)
    assert [h.score for h in mine.hits] == pytest.approx([s for _, s in ref], rel=1e-9)


@pytest.mark.parametrize("sort", SORTS)
def test_every_query_matches_whoosh(library, sort: str) -> None:  # type: ignore[no-untyped-def]
    papers = library.search("decoding", limit=3).hits
    library.set_bookmark(papers[0].id, True)
    library.set_tags(papers[1].id, ["reading"])
    library.set_note(papers[2].id, "a model worth a second look")
    library.flush()  # the saves' index update is made in the background
    library.index.optimize()  # one segment: prefix and fuzzy expansions then agree too
    for query in QUERIES:
        assert_same(library, query, sort)


def test_a_big_index_read_with_pread_answers_alike(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Past PREAD_FROM_BYTES Whoosh's own reads of the segment files (term tables, stored
    fields, columns) go through pread instead of the maps: the same answers."""
    reads = []
    pread = os.pread
    monkeypatch.setattr(whoosh_patches, "PREAD_FROM_BYTES", 0)
    monkeypatch.setattr(os, "pread", lambda *a: reads.append(a) or pread(*a))
    CACHES.arrays.clear()
    library.index.optimize()  # a new segment: nothing of it read yet
    for query in QUERIES:
        assert_same(library, query, "relevance")
    assert library.similar(library.search("decoding", limit=1).hits[0].id)
    assert len(reads) > 100


def test_similar_key_words_are_whooshs_with_their_statistics_kept(library) -> None:  # type: ignore[no-untyped-def]
    """`similar` keeps each word's statistics while the segments stay the same: its key words
    are Whoosh's own, on the first call, on the next, and once the index changed."""

    def both(paper_id: str) -> tuple[list, list]:  # type: ignore[type-arg]
        paper = library.get(paper_id)
        text = f"{paper.title}\n{paper.title}\n{paper.abstract}"
        searcher = library.index.searcher()
        ours = Expander(similar._WordStats(searcher.reader()), "abstract", model=Bo1Model)
        ours.add_text(text)
        return ours.expanded_terms(12), searcher.key_terms_from_text("abstract", text, numterms=12)

    first = library.search("decoding", limit=2).hits
    CACHES.word_stats.clear()
    for hit in first + first:
        ours, whooshs = both(hit.id)
        assert ours == whooshs and ours
    assert len(CACHES.word_stats) > 20  # kept
    # New papers change every word's frequency: what was kept is dropped.
    library.add_papers(
        [
            Paper(id=f"qqstats-{n}", title="decoding", abstract="speculative decoding " * 40)
            for n in range(30)
        ]
    )
    ours, whooshs = both(first[0].id)
    assert ours == whooshs


def test_many_segments_and_deletions_match_whoosh(library) -> None:  # type: ignore[no-untyped-def]
    # Each add is its own commit: new segments, and updated papers leave deleted documents.
    for n in range(6):
        library.add_papers([Paper(id=f"extra-{n}", title=f"Diffusion model number {n} for video")])
    hits = library.search("diffusion", limit=4).hits
    for hit in hits:
        library.set_bookmark(hit.id, True)  # replaces the document: a deletion in its segment
    library.flush()
    searcher = library.index.searcher()
    assert len(list(searcher.leaf_searchers())) > 1
    assert any(sub.reader().has_deletions() for sub, _ in searcher.leaf_searchers())
    # Prefix and fuzzy expansions differ by design on several segments (one expansion for
    # the whole index, not one per segment), so these compare plain and boolean queries.
    for query in ["diffusion model", "video generation", "model NOT diffusion", "is:bookmarked"]:
        for sort in SORTS:
            assert_same(library, query, sort)


def test_typing_word_by_word_matches_whoosh_at_every_keystroke(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each keystroke reuses the words before the one being typed, kept from the keystroke
    before (and a new word's first letter those before the word just finished): the same
    pages and scores as Whoosh's, and to the last bit as an evaluation from nothing."""
    library.add_papers(
        [
            Paper(id=f"qqtype-{n}", title=f"speculative decoding {n}", abstract="large models")
            for n in range(40)
        ]
        + [Paper(id="qqjoined", title="LanguageModels")]  # found by the joined last pair
    )
    library.index.optimize()  # one segment: prefix expansions agree with Whoosh's
    made = []
    matches = scoring._matches
    monkeypatch.setattr(scoring, "_matches", lambda plan, seg: made.append(1) or matches(plan, seg))
    CACHES.results.clear()
    text = "speculative decoding for large language models"
    typing_made = 0
    for typed in (text[:i] for i in range(1, len(text) + 1)):
        before = len(made)
        mine = library.index.search(typed, limit=20, partial_last=True, correct=False)
        typing_made += len(made) - before
        ref, total = whoosh_reference_search(library.index, typed.strip(), 20, partial_last=True)
        assert mine.total == total, typed
        assert [h.id for h in mine.hits] == [i for i, _ in ref], typed
        assert [h.score for h in mine.hits] == pytest.approx([s for _, s in ref], rel=1e-9)
        with monkeypatch.context() as nothing_kept:
            nothing_kept.setattr(CACHES, "results", segments.ArrayCache(1 << 30))
            fresh = library.index.search(typed, limit=20, partial_last=True, correct=False)
        assert [(h.id, h.score) for h in fresh.hits] == [(h.id, h.score) for h in mine.hits]
        # And the same query as the text read all at once.
        with monkeypatch.context() as all_at_once:
            all_at_once.setattr(query_language, "_PLAIN_TOKEN", re.compile("(?!)"))
            flat = library.index.search(typed, limit=20, partial_last=True, correct=False)
        assert flat.total == mine.total, typed
        assert [h.id for h in flat.hits] == [h.id for h in mine.hits], typed
        assert [h.score for h in flat.hits] == pytest.approx([h.score for h in mine.hits])
    # The words before the one typed: made once for each word after the first.
    assert typing_made == len(text.split()) - 1
    assert "qqjoined" in {h.id for h in mine.hits}


def test_a_prefix_scores_as_one_word_of_the_whole_index(library) -> None:  # type: ignore[no-untyped-def]
    result = library.search("gaus", partial_last=True, limit=200, correct=False)
    # Papers matching only through the prefix share one score.
    prefix_only = [h for h in result.hits if "gauss" not in h.title.lower()]
    assert prefix_only and len({round(h.score, 9) for h in prefix_only}) == 1
    # A prefix hit in the title outranks one in the abstract only.
    title_hits = [h for h in result.hits if "gauss" in h.title.lower()]
    assert title_hits and min(h.score for h in title_hits) > prefix_only[0].score


def test_top_breaks_ties_by_document_number() -> None:
    keys = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 0.5])
    ids = np.array([10, 11, 12, 13, 14, 15])
    assert list(ids[scoring.top(keys, ids, 2)]) == [11, 12]
    assert list(ids[scoring.top(keys, ids, 4)]) == [11, 12, 14, 13]
    assert list(ids[scoring.top(keys, ids, 2, high_ids_first=True)]) == [14, 12]
    assert list(ids[scoring.top(keys, ids, 10)]) == [11, 12, 14, 13, 10, 15]
    assert len(scoring.top(keys, ids, 0)) == 0


def test_warm_loads_common_words_and_changes_no_result(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    before = {q: library.search(q, limit=50) for q in ("model", "diffusion video", "lang")}
    CACHES.arrays.clear()
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    loaded = library.warm_search()
    assert loaded > 0 and CACHES.arrays.size >= loaded
    for query, result in before.items():
        again = library.search(query, limit=50)
        assert [h.id for h in again.hits] == [h.id for h in result.hits]
        assert again.total == result.total
    # A stop request ends it before anything is read.
    CACHES.arrays.clear()
    assert library.warm_search(should_stop=lambda: True) == 0


def test_the_warm_up_is_saved_and_the_next_run_starts_warm(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    queries = ("model", "diffusion video", "lang", "language model~1")
    before = {q: library.search(q, limit=50) for q in queries}
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    monkeypatch.setattr(CACHES, "saved_warm", {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    warmed = library.warm_search()
    folder = library.index.path.with_name("index-warm")
    saved = sorted(p.name for p in folder.iterdir())
    assert warmed > 0 and any(name.endswith(".json") for name in saved)
    # The next run: nothing in memory; the saved lists are mapped, nothing is decoded.
    CACHES.arrays.clear()
    monkeypatch.setattr(CACHES, "saved_warm", {})
    decoded: list[bytes] = []
    real_read = segments.SegmentSource._read
    monkeypatch.setattr(
        segments.SegmentSource,
        "_read",
        lambda self, field, term: decoded.append(term) or real_read(self, field, term),
    )
    monkeypatch.setattr(CACHES, "warm_tried", set())
    library.index._generation += 1  # a new searcher, as at the next start
    assert library.search("model", limit=50).total == before["model"].total
    assert decoded == []  # the first search was warm already
    assert library.warm_search() == warmed
    assert decoded == []
    for query, result in before.items():
        again = library.search(query, limit=50)
        assert [(h.id, h.score) for h in again.hits] == [(h.id, h.score) for h in result.hits]
        assert again.total == result.total
    assert b"model" not in decoded  # served from the saved warm-up
    # A file that does not fit its segment is ignored: warmed (decoded) and saved again.
    (name,) = [p for p in folder.iterdir() if p.suffix == ".json"]
    name.write_text('{"version": 1, "segment": "x"')
    monkeypatch.setattr(CACHES, "saved_warm", {})
    assert library.warm_search() == warmed and b"model" in decoded
    assert json.loads(name.read_text())["segment"] == name.stem  # written afresh


def test_saved_warm_files_of_merged_segments_are_removed(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    monkeypatch.setattr(CACHES, "saved_warm", {})
    library.warm_search()
    folder = library.index.path.with_name("index-warm")
    first = {p.stem for p in folder.iterdir()}
    library.add_papers([Paper(id="qqmerge", title="A model", abstract="model")])
    library.index.optimize()  # one new segment replaces the old ones
    library.warm_search()
    now = {p.stem for p in folder.iterdir()}
    assert now and not (now & first)


def test_the_array_cache_keeps_to_its_budget() -> None:
    cache = segments.ArrayCache(budget=10_000)
    for n in range(10):
        cache.get(("k", n), lambda: np.zeros(500))  # 4,000 bytes each
    assert cache.size <= 10_000
    made = []
    cache.get(("k", 9), lambda: made.append(1) or np.zeros(500))  # the newest is kept
    assert not made
    cache.get(("k", 0), lambda: made.append(1) or np.zeros(500))  # the oldest went
    assert made


def test_searchers_of_different_threads_share_one_map_per_segment(library) -> None:  # type: ignore[no-untyped-def]
    import threading

    def maps(searcher) -> list[object]:  # type: ignore[no-untyped-def]
        found = []
        for sub, _ in searcher.leaf_searchers():
            storage = sub.reader()._storage
            found.append(getattr(getattr(storage, "a", storage), "_source", None))
        return found

    expected = [h.id for h in library.search("diffusion model", limit=5).hits]
    others = []
    thread = threading.Thread(target=lambda: others.append(library.index.searcher()))
    thread.start()
    thread.join()
    mine = library.index.searcher()
    assert others[0] is not mine
    assert all(m is not None for m in maps(mine))
    assert [id(m) for m in maps(mine)] == [id(m) for m in maps(others[0])]
    others[0].close()  # the other thread's searcher goes; this one's map stays usable
    assert [h.id for h in library.search("diffusion model", limit=5).hits] == expected


def test_posting_lists_decode_as_whoosh_reads_them(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every posting list of an index with blocks of every layout: first ids of one, two and
    four bytes, gaps over 255 (such blocks are unpickled), one weight for a block or one each,
    short blocks (TUPLE1-3), inlined lists; read a list at once, or a block at a time."""
    papers = [
        Paper(
            id=f"qqpost-{n}",
            title=f"qqevery {n} {'qqeven' if n % 2 == 0 else ''} {'qqrare' if n % 400 == 7 else ''}"
            f" {'qqtail' if n < 129 else ''}",  # 129 postings: blocks of 128 and 1
            abstract=f"qqevery {'qqtwice qqtwice' if n % 3 == 0 else 'qqonce'} text {n}",
        )
        for n in range(700)  # with the sample: ~800 documents, ids past 255
    ]
    library.add_papers(papers)
    library.index.optimize()  # one segment of ~800 documents
    layouts: list[bool] = []
    parse = w3format._parse_block
    monkeypatch.setattr(
        w3format,
        "_parse_block",
        lambda raw, count: layouts.append(parse(raw, count) is not None) or parse(raw, count),
    )
    whole: list[bool] = []  # lists read at once (every block in the usual layout), or not
    for name, at_once in (("_decode_postings_at_once", True), ("_decode_postings_by_block", False)):
        decode = getattr(w3format, name)
        monkeypatch.setattr(
            w3format,
            name,
            lambda *args, decode=decode, at_once=at_once: whole.append(at_once) or decode(*args),
        )
    searcher = library.index.searcher()
    (source,) = segments.segment_sources(searcher)
    reader = source.reader
    for field in ("title", "abstract"):
        for term in reader.lexicon(field):
            matcher = reader.postings(field, term)
            expected_ids, expected_weights = [], []
            while matcher.is_active():
                expected_ids.append(matcher.id())
                expected_weights.append(matcher.weight())
                matcher.next()
            ids, weights = source._read(field, term)
            assert ids.tolist() == expected_ids, (field, term)
            assert weights.astype(float).tolist() == expected_weights, (field, term)
    assert whole.count(True) >= 3 and whole.count(False) >= 3  # lists read at once, or not
    assert layouts.count(True) >= 1 and layouts.count(False) >= 10  # then blocks parsed or not


def test_positions_decode_as_whoosh_reads_them() -> None:
    """Postings' positions cut from their bytes at once equal Positions.decode_positions's:
    one position or many, ints of one, two and four bytes (K, M, J), over 1,000 positions
    (APPENDS in batches: read one by one), a value without its STOP, and none at all."""
    from whoosh.formats import Positions

    fmt = Positions()
    rng = random.Random(5)
    for _ in range(50):
        lists = []
        for _ in range(rng.randint(1, 40)):
            n = rng.choice([1, 1, 2, 3, 7, rng.randint(1, 2500)])
            top = rng.choice([200, 70_000, 10**7])
            lists.append(sorted(rng.sample(range(top + n), n)))
        values = [fmt.encode(p) for p in lists]
        values[0] = values[0][:-1] if rng.random() < 0.3 else values[0]
        flat, counts = w3values.decode_positions(values)
        assert counts.tolist() == [len(fmt.decode_positions(v)) for v in values]
        assert flat.tolist() == [x for v in values for x in fmt.decode_positions(v)]
    flat, counts = w3values.decode_positions([])
    assert flat.tolist() == [] and counts.tolist() == []


@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
def test_term_tables_walk_as_whoosh_reads_them(library, monkeypatch, chunk: int) -> None:  # type: ignore[no-untyped-def]
    """The warm-up's own walk of a term table (read a chunk at a time: records crossing a
    chunk's end, longer than a chunk, inlined or not) gives every word and its document count
    as Whoosh's, for every field, the first and the last field of the table too."""
    library.add_papers(
        [Paper(id=f"qqwalk-{n}", title=f"qqw{'o' * (n % 40)}rd {n}") for n in range(300)]
    )
    library.index.optimize()
    monkeypatch.setattr(w3format, "_WALK_CHUNK", chunk)
    (source,) = segments.segment_sources(library.index.searcher())
    reader = source.reader
    assert getattr(reader._terms._tindex.dbfile, "pread_at", None) is not None  # not the fallback
    expected: dict[str, list[tuple[bytes, int]]] = {}
    for (field, text), info in reader._terms.items():  # Whoosh's own reading of the table
        expected.setdefault(field, []).append((text, info.doc_frequency()))
    assert {"title", "abstract", "date", "spell_title"} <= set(expected)
    for field, words in expected.items():
        assert list(w3format.field_doc_counts(reader, field)) == words, field
    assert sum(map(len, expected.values())) > 3000
    assert list(w3format.field_doc_counts(reader, "no such field")) == []


def test_did_you_mean_is_the_same_with_and_without_the_word_hashes(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    misspelt = ["transfomer", "difusion", "langauge", "atention", "quantizaton", "gausian"]

    def suggestions() -> list[str | None]:
        library.index._speller._suggested = None  # a fresh memo
        return [library.index.correction(word) for word in misspelt]

    # Big segments before any warm-up: no hashes, every candidate looked up.
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    monkeypatch.setattr(CACHES, "spelling", {})
    monkeypatch.setattr(CACHES, "saved_warm", {})
    looked_up = suggestions()
    assert looked_up == [
        "transformer",
        "diffusion",
        "language",
        "attention",
        "quantization",
        "gaussian",
    ]
    assert CACHES.spelling == {}
    # After a warm-up, saved and loaded again as by the next start: hashes filter candidates.
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    library.warm_search()
    monkeypatch.setattr(CACHES, "spelling", {})
    monkeypatch.setattr(CACHES, "saved_warm", {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    library.index._generation += 1
    library.search("model")  # the next start's first searcher maps the saved files
    assert CACHES.spelling
    checked: list[str] = []
    real = spelling.Speller._maybe_known
    monkeypatch.setattr(
        spelling.Speller,
        "_maybe_known",
        lambda self, r, c: checked.extend(real(self, r, c)) or real(self, r, c),
    )
    assert suggestions() == looked_up
    assert 0 < len(checked) < 60  # of ~3,000 candidates, only those that may be words


def test_short_prefixes_expand_alike_from_the_saved_warm_up(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 3)
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    monkeypatch.setattr(CACHES, "saved_warm", {})
    library.warm_search()
    saved_warm = dict(CACHES.saved_warm)
    reader = library.index.searcher().reader()
    readers = getattr(reader, "readers", None) or [reader]
    answered = 0
    for field in ("title", "abstract"):
        for prefix in ("m", "d", "la", "tr", "co", "mod", "zq"):
            wanted = expansion.SHORT_PREFIX_EXPANSIONS.get(len(prefix), 64)
            saved = expansion.saved_expansions(readers, field, prefix, wanted)
            monkeypatch.setattr(CACHES, "saved_warm", {})  # the term tables walked
            walked = expansion.BoundedPrefix(field, prefix)._expand(reader)
            monkeypatch.setattr(CACHES, "saved_warm", saved_warm)
            if saved is not None:
                answered += 1  # the same most common words (equal counts may swap places)
                counts = sorted(reader.doc_frequency(field, t) for t in saved)
                assert counts == sorted(reader.doc_frequency(field, t) for t in walked)
    assert answered >= 4


def test_common_prefix_unions_are_saved_and_agree_with_their_lists(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    queries = ("m", "la", "diffusion vi", "tra", "co", "gaussian sp")
    before = {q: library.search(q, limit=50, partial_last=True) for q in queries}
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    monkeypatch.setattr(warmup, "UNION_MIN_SHARE", 0.3)
    for name in ("saved_warm", "saved_unions", "spelling"):
        monkeypatch.setattr(CACHES, name, {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    library.warm_search()
    reader = library.index.searcher().reader()
    sources = segments.segment_sources(library.index.searcher())
    saved = CACHES.saved_unions
    assert {src.key for src in sources} == set(saved)
    prefixes = {key for unions in saved.values() for key in unions}
    assert {("title", "la"), ("abstract", "la"), ("abstract", "mod")} <= prefixes
    assert ("abstract", "m") not in prefixes  # a letter alone is not searched as a prefix
    assert ("abstract", "zq") not in prefixes  # too rare to be worth it
    saved_unions, saved_warm = dict(saved), dict(CACHES.saved_warm)
    for src in sources:
        for (field, prefix), (terms, bits) in saved_unions[src.key].items():
            monkeypatch.setattr(CACHES, "saved_warm", {})  # the unions alone answer
            readers = segments.segment_readers(reader)
            wanted = expansion.wanted_expansions(len(prefix), partial=True)
            assert expansion.saved_expansions(readers, field, prefix, wanted) == list(terms)
            assert expansion.saved_expansions(readers, field, prefix, 64) != list(terms)
            monkeypatch.setattr(CACHES, "saved_unions", {})  # the term tables walked
            walked = expansion.PartialPrefix(field, prefix)._expand(reader)
            live = np.flatnonzero(np.unpackbits(src.union(field, terms), count=src.doc_count))
            monkeypatch.setattr(CACHES, "saved_unions", saved_unions)
            monkeypatch.setattr(CACHES, "saved_warm", saved_warm)
            # The same most common words (equal counts may swap places), the same documents.
            counts = sorted(reader.doc_frequency(field, t) for t in terms)
            assert counts == sorted(reader.doc_frequency(field, t) for t in walked), prefix
            ours = np.flatnonzero(np.unpackbits(bits, count=src.doc_count))
            assert np.array_equal(ours, live), (field, prefix)
    # The next start maps them: no list of a saved union's words is read for its prefix.
    CACHES.arrays.clear()
    for name in ("saved_warm", "saved_unions"):
        monkeypatch.setattr(CACHES, name, {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    decoded: list[tuple[str, bytes]] = []
    real_postings = segments.SegmentSource.postings
    monkeypatch.setattr(
        segments.SegmentSource,
        "postings",
        lambda self, field, term, **kw: (
            decoded.append((field, term)) or real_postings(self, field, term, **kw)
        ),
    )
    library.index._generation += 1
    la_words = {("abstract", t) for t in saved_unions[sources[0].key][("abstract", "la")][0]}
    for query, result in before.items():
        again = library.search(query, limit=50, partial_last=True)
        assert [(h.id, h.score) for h in again.hits] == [(h.id, h.score) for h in result.hits]
        assert again.total == result.total
        if query == "la":
            assert la_words and not la_words & set(decoded)
        decoded.clear()
    assert CACHES.saved_unions


def test_a_damaged_saved_list_is_read_from_the_index_instead(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    before = library.search("model", limit=50)
    monkeypatch.setattr(warmup, "WARM_MIN_DF", 5)
    monkeypatch.setattr(segments, "WARM_SAVE_FROM_DOCS", 1)
    for name in ("saved_warm", "saved_unions", "spelling"):
        monkeypatch.setattr(CACHES, name, {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    monkeypatch.setattr(CACHES, "saved_checked", set())
    library.warm_search()
    folder = library.index.path.with_name("index-warm")
    for meta_path in folder.glob("*.json"):  # every segment's `model` list ends past its end
        meta = json.loads(meta_path.read_text())
        (at, count) = next(
            (e[2], e[3]) for e in meta["lists"] if e[:2] == ["abstract", b"model".hex()]
        )
        blob = bytearray((folder / f"{meta_path.stem}.bin").read_bytes())
        blob[at + 4 * (count - 1) : at + 4 * count] = (10**9).to_bytes(4, "little")
        (folder / f"{meta_path.stem}.bin").write_bytes(bytes(blob))
    CACHES.arrays.clear()
    for name in ("saved_warm", "saved_unions"):
        monkeypatch.setattr(CACHES, name, {})
    monkeypatch.setattr(CACHES, "warm_tried", set())
    library.index._generation += 1
    again = library.search("model", limit=50)
    assert CACHES.saved_warm  # the files were taken
    assert [(h.id, h.score) for h in again.hits] == [(h.id, h.score) for h in before.hits]


@pytest.mark.parametrize(
    "text", ['"diffusion models"', '"language models" OR reasoning', "language -large", "gener*"]
)
def test_text_only_by_arrays_as_by_whoosh(library, text: str) -> None:  # type: ignore[no-untyped-def]
    """The hits a query matches only through the full text (here: those it does not match
    at all, since the sample has no full text), found with the array plans (the hits'
    document numbers known) or with Whoosh's matchers: the same."""
    query = library.index.parse(text)
    searcher = library.index.searcher()
    ranked, _ = ranking.fast_search(searcher, library.index.parse("model"), 60, "relevance")
    hits = [hit_from_fields(searcher.stored_fields(d), score) for d, score in ranked]
    docnums = {hit.id: d for hit, (d, _) in zip(hits, ranked, strict=True)}
    by_whoosh = _text_only(searcher, query, hits)
    assert _text_only(searcher, query, hits, docnums) == by_whoosh
    assert 0 < len(by_whoosh) < len(hits)
