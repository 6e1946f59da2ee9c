"""The bulk segment writer (search/bulk.py) against Whoosh's own writer on a few thousand
generated papers: the same analysis of every field, the same index (terms, postings with their
weights, positions and statistics, stored fields, lengths, sort columns), and the same search
results (hits, order, scores) for every query kind and sort."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from reference import whoosh_reference_search
from test_scoring import QUERIES, SORTS
from whoosh import index as whoosh_index
from whoosh.codec import default_codec

from paperreader.core.models import Note, ReadState, UserData
from paperreader.core.search import SearchIndex, bulk, w3values
from paperreader.core.search.schema import SCHEMA_VERSION, document, make_schema
from paperreader.core.search.segments import CACHES, segment_sources

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from corpus import Corpus  # noqa: E402

PAPERS = 2000
EXTRA_QUERIES = ['"large language models"', '"neural network"', "model", "lang*", '"of the"']


def _docs() -> list[dict[str, object]]:
    docs = []
    when = datetime(2026, 1, 1)
    for n, paper in enumerate(Corpus(5).papers(PAPERS, with_sample=False)):
        user = None
        if n % 7 == 0:  # the user's fields too: tags, notes, states, bookmarks
            user = UserData(
                paper_id=paper.id,
                bookmarked=n % 2 == 0,
                state=ReadState.READ if n % 3 else ReadState.UNREAD,
                tags=["reading", f"topic-{n % 5}"],
                note=Note(f"My note on {paper.title}: the key idea, well-known.", when, when),
            )
        docs.append(document(paper, user))
    return docs


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):  # type: ignore[no-untyped-def]
    docs = _docs()
    root = tmp_path_factory.mktemp("bulk")
    schema = make_schema()
    whoosh_dir, bulk_dir = root / "whoosh", root / "bulk"
    for folder in (whoosh_dir, bulk_dir):
        folder.mkdir()
        (folder / "paperreader-schema").write_text(SCHEMA_VERSION)
    ix = whoosh_index.create_in(str(whoosh_dir), schema)
    writer = ix.writer(limitmb=256)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit(merge=False)
    ix = whoosh_index.create_in(str(bulk_dir), schema)
    group, words = bulk.GROUP_POSTINGS, bulk.CACHE_WORDS
    bulk.GROUP_POSTINGS = 97  # (postings turned into objects in many small groups)
    bulk.CACHE_WORDS = 50  # (the analyses kept full early: most words analysed afresh)
    try:
        segment = bulk.build_segment(schema, docs, ix.storage, default_codec(), ix.indexname)
    finally:
        bulk.GROUP_POSTINGS, bulk.CACHE_WORDS = group, words
    writer = ix.writer()
    writer.commit(mergetype=lambda _w, segments: [*segments, segment])
    yield docs, SearchIndex(whoosh_dir), SearchIndex(bulk_dir)


def test_the_cached_analysis_is_whooshs(indexes) -> None:  # type: ignore[no-untyped-def]
    docs, _, _ = indexes
    schema = make_schema()
    builder = bulk.SegmentBuilder(schema)
    checked = 0
    for doc in docs:
        for name, value in doc.items():
            fast = builder._analysis(name, schema[name])
            if fast is None or not isinstance(value, str):
                continue
            poses = fast.positions(value)
            mine = sorted(
                (t.encode(), len(p), float(len(p)) * fast.boost, bulk._encode_positions(p))
                for t, p in poses.items()
            )
            assert mine == sorted(schema[name].index(value)), (name, value[:80])
            checked += 1
    assert checked >= 3 * len(docs)  # title, authors, abstract at least


def test_the_bulk_index_holds_what_whooshs_writer_writes(indexes) -> None:  # type: ignore[no-untyped-def]
    docs, by_whoosh, by_bulk = indexes
    a, b = by_whoosh.searcher().reader(), by_bulk.searcher().reader()
    terms = list(a.all_terms())
    assert terms == list(b.all_terms())
    for field, text in terms:
        info_a, info_b = a.term_info(field, text), b.term_info(field, text)
        for stat in ("weight", "doc_frequency", "min_length", "max_length", "max_weight"):
            assert getattr(info_a, stat)() == getattr(info_b, stat)(), (field, text, stat)
        assert (info_a.min_id(), info_a.max_id()) == (info_b.min_id(), info_b.max_id())
        ma, mb = a.postings(field, text), b.postings(field, text)
        while ma.is_active():
            assert mb.is_active() and ma.id() == mb.id() and ma.weight() == mb.weight()
            if not field.startswith("spell_"):  # (Whoosh's there: another field's last value)
                assert ma.value() == mb.value(), (field, text)
            ma.next()
            mb.next()
        assert not mb.is_active()
    assert list(a.all_stored_fields()) == list(b.all_stored_fields())
    schema = a.schema
    for name in schema.names():
        if schema[name].scorable:
            assert a.field_length(name) == b.field_length(name)
            assert [a.doc_field_length(d, name) for d in range(len(docs))] == [
                b.doc_field_length(d, name) for d in range(len(docs))
            ]
        if schema[name].column_type:
            assert list(a.column_reader(name)) == list(b.column_reader(name))


def test_positions_read_from_blocks_are_whooshs(indexes) -> None:  # type: ignore[no-untyped-def]
    """Every posting's positions of the text fields' words (of 4 postings or more), read as a
    phrase reads them (w3values: a list once for its ids and positions, or the blocks of some
    postings), equal Whoosh's matcher's, in both indexes (the bulk writer's shares equal
    values within a block: BINGETs). Wrong positions anywhere fail here."""
    for index in (indexes[1], indexes[2]):
        CACHES.clear()
        (source,) = segment_sources(index.searcher())
        reader = source.reader
        checked = 0
        for field in ("title", "abstract", "note"):
            for text, info in reader.iter_field(field):
                if info.doc_frequency() < 4:
                    continue
                expected = []
                matcher = reader.postings(field, text)
                while matcher.is_active():
                    expected.append(matcher.value_as("positions"))
                    matcher.next()
                ids, _weights, blocks = w3values.read_blocks(reader, field, text)
                assert len(ids) == len(expected)
                picks = np.arange(len(expected))
                for kept in (blocks, None):
                    some = picks if kept else picks[len(text) % 3 :: 3]
                    flat, counts = (
                        kept.positions(some)
                        if kept
                        else w3values.read_positions(reader, field, text, some)
                    )
                    want = [expected[i] for i in some.tolist()]
                    assert counts.tolist() == [len(p) for p in want], (field, text)
                    assert flat.tolist() == [x for p in want for x in p], (field, text)
                checked += len(expected)
        assert checked > 50_000


@pytest.mark.parametrize("sort", SORTS)
def test_searches_find_the_same_in_both(indexes, sort: str) -> None:  # type: ignore[no-untyped-def]
    _, by_whoosh, by_bulk = indexes
    for query in QUERIES + EXTRA_QUERIES:
        results = []
        for index in (by_whoosh, by_bulk):
            CACHES.clear()
            effective = "newest" if sort == "relevance" and not query else sort
            mine = index.search(query, limit=40, sort=effective, correct=False)
            ref, total = whoosh_reference_search(index, query, 40, effective)
            assert mine.total == total
            assert [h.id for h in mine.hits] == [i for i, _ in ref]
            results.append((total, [(h.id, h.score) for h in mine.hits], ref))
        (total_a, hits_a, ref_a), (total_b, hits_b, ref_b) = results
        assert total_a == total_b, query
        assert [i for i, _ in hits_a] == [i for i, _ in hits_b], (query, sort)
        assert [s for _, s in hits_a] == pytest.approx([s for _, s in hits_b], rel=1e-9)
        assert [s for _, s in ref_a] == pytest.approx([s for _, s in ref_b], rel=1e-9)


def test_a_dying_rebuild_worker_ends_the_rebuild_and_swaps_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import time

    from paperreader.core.errors import IndexDamaged
    from paperreader.core.search import workers, writer

    monkeypatch.setattr(writer, "PARALLEL_REBUILD_FROM", 50)
    monkeypatch.setattr(workers, "FEED_CHUNK", 20)
    monkeypatch.setattr(writer.threading, "enumerate", lambda: [type("T", (), {"name": "main"})])
    add = bulk.SegmentBuilder.add

    def dying_add(self, doc):  # type: ignore[no-untyped-def]
        if self.docs == 30:
            os._exit(3)  # (in a worker: a crash, as the OOM killer's)
        add(self, doc)

    monkeypatch.setattr(bulk.SegmentBuilder, "add", dying_add)
    papers = [(p, None) for p in Corpus(5).papers(300, with_sample=False)]
    swapped = []
    started = time.monotonic()
    with pytest.raises(IndexDamaged, match="worker died"):
        writer.rebuild(tmp_path / "index", make_schema(), papers, None, lambda: swapped.append(1))
    assert time.monotonic() - started < 30
    assert not swapped and not (tmp_path / "index").exists()


def test_the_word_caches_go_on_whole_to_the_next_builder(tmp_path: Path) -> None:
    """A worker's child hands the words it analysed to the next child (word_caches): the
    next builder starts with the same entries, and analyses words as a fresh one does."""
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    docs = [document(p, None) for p in Corpus(3).papers(40, with_sample=False)]
    builder = bulk.SegmentBuilder(ix.schema, ix.storage, default_codec(), ix.indexname)
    for doc in docs:
        builder.add(doc)
    builder.write()
    before = {
        name: (a.cache, a.stems, a.widths) for name, a in builder._text.items() if a is not None
    }
    assert any(cache for cache, _, _ in before.values())
    after = bulk.SegmentBuilder(ix.schema, ix.storage, default_codec(), ix.indexname)
    after.use_word_caches(builder.word_caches())
    assert {
        name: (a.cache, a.stems, a.widths) for name, a in after._text.items() if a is not None
    } == before
    field = next(iter(before))
    assert after._text[field].positions("Graph neural networks") == bulk._TextAnalysis.make(
        ix.schema[field]
    ).positions("Graph neural networks")
    empty = bulk.SegmentBuilder(ix.schema, ix.storage, default_codec(), ix.indexname)
    empty.use_word_caches(b"")  # (the first child: nothing to start from)
    assert empty._text == {}


def test_positions_past_65535_are_kept(tmp_path: Path) -> None:
    """Frequencies and positions are gathered in two bytes each while they fit; a long full
    text moves them to four, and the index holds the same positions as Whoosh's writer's."""
    from paperreader.core.models import Paper

    names = ["apple", "brick", "cedar", "delta", "ember", "fjord", "grove", "harbor", "ivory"]
    words = " ".join(names[n % 9] for n in range(70_000)) + " qqlast qqlast"
    doc = document(Paper(id="long-1", title="A long one", abstract="short"), None)
    doc["text"] = words
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ours = whoosh_index.create_in(str(tmp_path / "ours"), make_schema())
    segment = bulk.build_segment(ours.schema, [doc], ours.storage, default_codec(), "MAIN")
    ours.writer().commit(mergetype=lambda w, old: [segment])
    theirs = whoosh_index.create_in(str(tmp_path / "theirs"), make_schema())
    writer = theirs.writer()
    writer.add_document(**doc)
    writer.commit()
    with ours.reader() as mine, theirs.reader() as whooshs:
        for term in [*(t.text for t in ours.schema["text"].analyzer(" ".join(names))), "qqlast"]:
            got = list(mine.postings("text", term).items_as("positions"))
            assert got == list(whooshs.postings("text", term).items_as("positions")), term
        last = list(mine.postings("text", "qqlast").items_as("positions"))
        assert last == [(0, [70_000, 70_001])]
