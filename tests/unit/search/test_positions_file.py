"""A segment's positions file (search/positions.py) against the segment's own posting blocks:
the same documents, weights and positions for every word it holds, the same phrase results
(also across deletions), ignored when damaged or not its segment's, deleted with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from reference import whoosh_reference_search
from test_bulk import _docs
from whoosh import index as whoosh_index
from whoosh.codec import default_codec

from paperreader.core.errors import IndexDamaged
from paperreader.core.search import SearchIndex, bulk, positions, w3values
from paperreader.core.search.schema import SCHEMA_VERSION, make_schema
from paperreader.core.search.segments import CACHES, SegmentSource, segment_sources

PHRASES = [
    '"large language models"',
    '"neural network"',
    '"language model"',
    'title:"language models"',
    '"in this paper we"',
    '"the model" learning',
    '"deep learning"~2',
    '"results show"',
]


def _build(folder: Path, docs: list[dict[str, object]]) -> None:
    folder.mkdir()
    (folder / "paperreader-schema").write_text(SCHEMA_VERSION)
    schema = make_schema()
    ix = whoosh_index.create_in(str(folder), schema)
    segment = bulk.build_segment(schema, docs, ix.storage, default_codec(), ix.indexname)
    ix.writer().commit(mergetype=lambda _w, segments: [*segments, segment])


@pytest.fixture(scope="module")
def built(tmp_path_factory):  # type: ignore[no-untyped-def]
    docs = _docs()[:1200]
    root = tmp_path_factory.mktemp("posfile")
    least = positions.MIN_DOCS
    positions.MIN_DOCS = 4  # (most words in the file: each one checked against its blocks)
    try:
        _build(root / "ix", docs)
    finally:
        positions.MIN_DOCS = least
    return root / "ix"


def _source(index: SearchIndex) -> SegmentSource:
    (source,) = segment_sources(index.searcher())
    return source


def _file(folder: Path) -> Path:
    (found,) = folder.glob("*" + positions.EXT)
    return found


def test_the_file_holds_each_words_postings_as_its_blocks(built) -> None:  # type: ignore[no-untyped-def]
    CACHES.clear()
    source = _source(SearchIndex(built))
    assert _file(built).name == source.key + positions.EXT
    file = positions.PositionsFile.open(built, source.key, source.doc_count)
    assert file is not None
    reader = source.reader
    held = 0
    for field in ("title", "abstract", "authors"):
        for text, info in reader.iter_field(field):
            found = file.find(field, text)
            if field not in positions.FIELDS or info.doc_frequency() < 4:
                assert found is None, (field, text)
                continue
            assert found is not None, (field, text)
            ids, weights, blocks = w3values.read_blocks(reader, field, text)
            every = np.arange(len(ids))
            flat, counts = blocks.positions(every)
            assert np.array_equal(found[0], ids)
            assert np.array_equal(found[1], counts)
            assert np.array_equal(found[2][: int(counts.sum())], flat)  # (then later words')
            picks = every[len(text) % 3 :: 3]
            some = positions.reader(found[1], found[2])(picks)
            want = blocks.positions(picks)
            assert np.array_equal(some[0], want[0]) and np.array_equal(some[1], want[1])
            assert some[0].dtype == np.int64 and some[1].dtype == np.int64
            assert source._from_file(field, text) is not None
            mine = source._read(field, text)  # through the file
            assert np.array_equal(mine[0], ids) and mine[0].dtype == ids.dtype
            assert np.array_equal(mine[1], weights) and mine[1].dtype == weights.dtype
            held += 1
    assert held > 500


def _compare(index: SearchIndex, queries: list[str]) -> list[tuple[int, list]]:  # type: ignore[type-arg]
    out = []
    for query in queries:
        CACHES.clear()
        mine = index.search(query, limit=40, correct=False)
        ref, total = whoosh_reference_search(index, query, 40)
        assert mine.total == total, query
        assert [h.id for h in mine.hits] == [i for i, _ in ref], query
        assert [h.score for h in mine.hits] == pytest.approx([s for _, s in ref], rel=1e-9)
        out.append((mine.total, [(h.id, h.score) for h in mine.hits]))
    return out


def test_phrases_through_the_file_are_those_through_the_blocks(
    built, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    decoded: list[str] = []
    read_blocks = w3values.read_blocks
    monkeypatch.setattr(
        w3values, "read_blocks", lambda r, f, t: decoded.append(f) or read_blocks(r, f, t)
    )
    with_file = _compare(SearchIndex(built), PHRASES)
    assert decoded and not set(decoded) & set(positions.FIELDS)  # (theirs all in the file)
    assert sum(total for total, _ in with_file) > 50
    plain = tmp_path / "plain"
    shutil.copytree(built, plain)
    _file(plain).unlink()
    assert _compare(SearchIndex(plain), PHRASES) == with_file  # same hits, order, scores


def test_deleted_documents_stay_out(built, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ix"
    shutil.copytree(built, folder)
    ix = whoosh_index.open_dir(str(folder))
    with ix.searcher() as searcher:
        ids = sorted(searcher.stored_fields(d)["id"] for d in range(0, 1200, 3))
    writer = ix.writer()
    for paper_id in ids:
        writer.delete_by_term("id", paper_id)
    writer.commit(merge=False)
    assert _file(folder).exists()  # the segment is still in the TOC: its file kept
    deleted = _compare(SearchIndex(folder), PHRASES)
    assert all(paper_id not in ids for _, hits in deleted for paper_id, _ in hits)
    _file(folder).unlink()
    assert _compare(SearchIndex(folder), PHRASES) == deleted


def test_a_damaged_or_foreign_file_is_ignored(built, tmp_path) -> None:  # type: ignore[no-untyped-def]
    CACHES.clear()
    source = _source(SearchIndex(built))
    expected = _compare(SearchIndex(built), PHRASES)
    data = _file(built).read_bytes()
    size = len(data)
    damages = {
        "truncated": data[: size // 2],
        "longer": data + b"\0" * 8,
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        "another segment's": data.replace(source.key.encode(), b"x" * len(source.key), 1),
        "other documents": data.replace(
            b'"docs": %d' % source.doc_count, b'"docs": %d' % (source.doc_count + 1), 1
        ),
        "a bad header": data[:20] + b"{" + data[21:],
    }
    for name, damaged in damages.items():
        folder = tmp_path / name.replace(" ", "_").replace("'", "")
        shutil.copytree(built, folder)
        _file(folder).write_bytes(damaged)
        assert positions.PositionsFile.open(folder, source.key, source.doc_count) is None, name
        assert _compare(SearchIndex(folder), PHRASES) == expected, name


def test_a_wrong_list_is_ignored(built, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A file whose lists do not have their words' document counts here (not this segment's
    lists) is not used: the blocks serve."""
    expected = _compare(SearchIndex(built), PHRASES)
    find = positions.PositionsFile.find

    def shorter(self, field, term):  # type: ignore[no-untyped-def]
        found = find(self, field, term)
        return None if found is None else tuple(a[:-1] for a in found)

    monkeypatch.setattr(positions.PositionsFile, "find", shorter)
    assert _compare(SearchIndex(built), PHRASES) == expected


def test_the_file_goes_with_its_segment(built, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ix"
    shutil.copytree(built, folder)
    old = _file(folder)
    expected = _compare(SearchIndex(folder), PHRASES)
    ix = whoosh_index.open_dir(str(folder))
    ix.optimize()  # Whoosh's own writer: a new segment, without a positions file
    assert not old.exists()
    assert not list(folder.glob("*" + positions.EXT))
    after = _compare(SearchIndex(folder), PHRASES)  # (Whoosh's reference checked there)
    assert [total for total, _ in after] == [total for total, _ in expected]


def test_wide_values_round_trip(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counts past 255 and positions past 65,535 (a long text) are kept in wider types."""
    monkeypatch.setattr(positions, "MIN_DOCS", 2)
    rng = np.random.default_rng(5)
    counts = np.array([1, 300, 2, 7, 1], dtype=np.int32)
    pos = rng.integers(0, 100_000, size=int(counts.sum()) + 10).astype(np.int32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int32) + 10
    docs = np.array([3, 9, 4, 5, 8], dtype=np.int32)
    gather = positions.Gatherer()
    gather.add("abstract", [b"b", b"a"], [1, 0], [0, 2, 5], docs, starts, counts, pos)
    gather.write(tmp_path, "MAIN_x", 10)
    file = positions.PositionsFile.open(tmp_path, "MAIN_x", 10)
    assert file is not None and file.find("title", b"a") is None
    for word, lo, hi in ((b"a", 0, 2), (b"b", 2, 5)):
        ids, found, flat = file.find("abstract", word)  # type: ignore[misc]
        assert ids.tolist() == docs[lo:hi].tolist() and found.tolist() == counts[lo:hi].tolist()
        want = [
            p for s, n in zip(starts[lo:hi], counts[lo:hi], strict=True) for p in pos[s : s + n]
        ]
        assert flat[: len(want)].tolist() == want
        assert (found.dtype, flat.dtype) == (np.uint16, np.uint32)
    assert positions.PositionsFile.open(tmp_path, "MAIN_x", 11) is None


def test_counts_past_the_positions_are_a_damaged_index() -> None:
    """A word's counts adding up to more positions than the file holds raise IndexDamaged
    (its positions are cut at their sum, which no slice checks any more)."""
    counts = np.array([2, 3], dtype=np.uint8)
    read = positions.reader(counts, np.arange(5, dtype=np.uint16))
    assert read(np.array([1]))[0].tolist() == [2, 3, 4]
    with pytest.raises(IndexDamaged):
        positions.reader(counts, np.arange(4, dtype=np.uint16))
