"""The bulk catch-up (search/stream.py): an import's papers indexed by worker processes while
the import is still being written, with the same index as a rebuild, no save overwritten, no
paper twice, and a dead worker one line with the marks kept."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from paperreader.core.fulltext import files
from paperreader.core.import_signal import import_running, importing
from paperreader.core.library import Library
from paperreader.core.models import Note, Paper
from paperreader.core.search import commit, stream, workers, writer
from paperreader.core.search import indexer as indexer_module
from paperreader.core.search.schema import document, make_schema


def papers(count: int, word: str, start: int = 0) -> list[Paper]:
    return [
        Paper(
            id=f"{word}-{n:04d}",
            title=f"A {word} paper number {n} on graphs",
            abstract=f"About {word} and shared memory, case {n % 7}. " * (1 + n % 3),
        )
        for n in range(start, start + count)
    ]


def empty_index(folder: Path) -> Path:
    """An empty Whoosh index in `folder` (made), for a worker to write its segments in."""
    folder.mkdir()
    whoosh_index.create_in(str(folder), make_schema())
    return folder


def run_worker(
    folder: Path,
    items: list[object],
    me: int = 0,
    load: workers.Load | None = None,
    gathered: object = None,
) -> list[tuple[str, int, object]]:
    """`items` in a worker's queue, the worker forked as Workers does it: what it sent."""
    context = multiprocessing.get_context("fork")
    inbox = context.Queue()
    for item in items:
        inbox.put(item)
    answers, end = context.Pipe(duplex=False)
    proc = context.Process(target=workers.work, args=(str(folder), inbox, end, me, load, gathered))
    proc.start()
    end.close()
    sent = []
    with contextlib.suppress(EOFError):
        while True:
            sent.append(answers.recv())
    proc.join(timeout=10)
    assert proc.exitcode == 0, [said for said in sent if said[0] == "error"]
    return sent


@pytest.fixture
def small_bulk(monkeypatch):  # type: ignore[no-untyped-def]
    """The bulk catch-up at test sizes, in two forked workers (the test's threads are quiet)."""
    monkeypatch.setattr(indexer_module, "BULK_CATCH_UP_FROM", 40)
    monkeypatch.setattr(workers, "SEGMENT_DOCS", 60)
    monkeypatch.setattr(workers, "FEED_CHUNK", 10)
    monkeypatch.setattr(writer.threading, "enumerate", lambda: [type("T", (), {"name": "main"})])
    runs: list[int] = []
    real = stream.BulkCatchUp.run
    monkeypatch.setattr(stream.BulkCatchUp, "run", lambda self: runs.append(1) or real(self))
    return runs


def _results(library: Library, query: str) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 9)) for h in library.search(query, limit=500).hits]


def test_a_bulk_catch_up_indexes_like_a_rebuild(library: Library, small_bulk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # (no merge of small segments: Whoosh's merge sums byte-rounded field lengths, which
    # moves scores by up to ~1%; without it the two indexes must score alike)
    monkeypatch.setattr(commit, "SMALL_MERGE_DOCS", 0)
    library.add_papers(papers(150, "qqheron"), index=False)
    assert library.catch_up() == 150
    assert small_bulk == [1]  # in the workers, not in batches
    assert library.unindexed_count() == 0
    assert library.index.doc_count() == library.count()
    assert len(library.index.ix._segments()) >= 3  # a segment per 60 papers a worker had
    assert not (library.root / stream.STREAM_FOLDER).exists()
    queries = ["qqheron", '"shared memory"', "graphs case", "number 149", "gaussian"]
    streamed = {q: _results(library, q) for q in queries}
    assert streamed["qqheron"] and len(streamed["qqheron"]) == 150
    library.reindex()
    for query, found in streamed.items():
        again = dict(_results(library, query))
        assert set(again) == dict(found).keys(), query
        assert [again[i] for i, _ in found] == pytest.approx([s for _, s in found], rel=1e-6)


INDEXER = textwrap.dedent(
    """
    import sys
    from paperreader.core.search import indexer, workers

    indexer.BULK_CATCH_UP_FROM = 40
    workers.SEGMENT_DOCS = 60
    workers.FEED_CHUNK = 10
    from paperreader.cli import main

    sys.exit(main(["--library", sys.argv[1], "index", "--quiet"]))
    """
)


def test_an_import_is_indexed_while_it_is_written(library: Library) -> None:
    """The indexer (its own process, as in use) runs beside the import: it waits for the
    import's next batch while the import holds its signal, and ends once the import is over,
    with every paper in."""
    root = library.root
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3] / "src")}
    with importing(root):
        library.add_papers(papers(50, "qqkite"), index=False)
        indexer = subprocess.Popen([sys.executable, "-c", INDEXER, str(root)], env=env)
        try:
            for k in range(1, 5):  # more batches, a moment apart
                time.sleep(0.5)
                library.add_papers(papers(50, "qqkite", start=50 * k), index=False)
            time.sleep(0.5)
            assert indexer.poll() is None, "the indexer ended while the import went on"
        except BaseException:
            indexer.kill()
            raise
    assert indexer.wait(timeout=60) == 0
    assert not import_running(root)
    assert library.unindexed_count() == 0
    assert library.search("qqkite", limit=500).total == 250
    assert library.index.doc_count() == library.count()


def test_a_save_during_the_bulk_catch_up_is_not_overwritten(
    library: Library, small_bulk, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A note saved (by another process) for a paper the workers hold, and a paper the import
    writes again meanwhile: both end up as saved, each paper once."""
    library.add_papers(papers(120, "qqplover"), index=False)
    stamp = datetime.now(timezone.utc)
    real_send = stream.BulkCatchUp._send
    sent: list[int] = []

    def send_then_change(self, pool, marks):  # type: ignore[no-untyped-def]
        real_send(self, pool, marks)
        sent.append(1)
        if len(sent) == 2:
            first = marks[0][1]  # with the workers now
            library.store.update(
                first, lambda u: setattr(u, "note", Note("qqpelican", stamp, stamp))
            )
            library.records.mark_unindexed([first], "user")
            again = library.records.get(marks[1][1])
            again.title = "Retitled qqosprey paper"
            library.records.put(again)
            library.records.mark_unindexed([again.id])

    monkeypatch.setattr(stream.BulkCatchUp, "_send", send_then_change)
    library.catch_up()
    assert library.unindexed_count() == 0
    assert len(library.search("qqpelican").hits) == 1
    assert [h.title for h in library.search("qqosprey").hits] == ["Retitled qqosprey paper"]
    assert library.index.doc_count() == library.count()  # no paper twice


def test_a_dead_worker_ends_the_bulk_catch_up_and_the_next_indexer_finishes(  # type: ignore[no-untyped-def]
    library: Library, small_bulk, monkeypatch
) -> None:
    import os

    from paperreader.core.errors import IndexDamaged
    from paperreader.core.search import bulk

    library.add_papers(papers(100, "qqwren"), index=False)
    add = bulk.SegmentBuilder.add
    monkeypatch.setattr(
        bulk.SegmentBuilder,
        "add",
        lambda self, doc: os._exit(3) if self.docs == 15 else add(self, doc),
    )
    started = time.monotonic()
    with pytest.raises(IndexDamaged, match="worker died"):
        library.catch_up()
    assert time.monotonic() - started < 30
    assert library.unindexed_count() >= 70  # what no commit holds is still queued
    monkeypatch.setattr(bulk.SegmentBuilder, "add", add)
    library.catch_up()
    assert library.unindexed_count() == 0
    assert library.search("qqwren", limit=500).total == 100
    assert library.index.doc_count() == library.count()
    assert not (library.root / stream.STREAM_FOLDER).exists()


def test_the_import_signal_is_dropped_when_the_importer_ends(tmp_path: Path) -> None:
    assert not import_running(tmp_path)
    with importing(tmp_path):
        assert import_running(tmp_path)
        with importing(tmp_path):  # two imports at once share it
            assert import_running(tmp_path)
        assert import_running(tmp_path)
    assert not import_running(tmp_path)


def test_the_workers_read_each_paper_with_its_text_and_the_users_data(
    library: Library, small_bulk
) -> None:  # type: ignore[no-untyped-def]
    """The catch-up sends its workers ids: each worker reads the papers from the records
    through its own connection, with their full texts, and indexes them with the user's data
    the indexer sent beside each id. A mark naming no paper is cleared, not sent."""
    batch = papers(120, "qqgannet")
    library.add_papers(batch, index=False)
    text = files.plain_path(library.root, batch[7].id)
    text.parent.mkdir(parents=True, exist_ok=True)
    text.write_text("A body that speaks of qqcormorant colonies.", encoding="utf-8")
    library.set_note(batch[99].id, "qqshag")  # (indexed now; then the paper comes again:)
    library.records.mark_unindexed([batch[99].id, "qqnobody-0001"])
    assert library.catch_up() == 120
    assert small_bulk == [1]
    assert [h.id for h in library.search("qqcormorant").hits] == [batch[7].id]
    assert [h.id for h in library.search("qqshag").hits] == [batch[99].id]
    assert library.unindexed_count() == 0
    assert library.index.doc_count() == library.count() == 98 + 120


def test_a_worker_counts_the_chunks_each_segment_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are ids a worker loads; one whose papers are all gone by then still counts, in
    the next segment or (none coming) in its "flushed" answer, so the indexer knows which
    ids each segment settles."""
    folder = empty_index(tmp_path / "stream")
    docs = {str(doc["id"]): doc for doc in (document(p, None) for p in papers(6, "qqtern"))}
    items = [["qqtern-0000", "qqtern-0001"], ["qqgone"], ["qqtern-0002"], workers.FLUSH]
    items += [["qqgone-2"], None]

    def load(ids: list[str]) -> list[dict[str, object]]:
        return [docs[i] for i in ids if i in docs]

    sent = run_worker(folder, items, 0, load)
    said = [
        (kind, value[0].doc_count(), value[2]) if kind == "segment" else (kind, value)  # type: ignore[index]
        for kind, _, value in sent
    ]
    assert said == [("segment", 3, 3), ("flushed", 0), ("flushed", 1)]


def test_small_segments_are_folded_by_the_workers(
    library: Library, small_bulk, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The sample's segment (98 papers, smaller than the backlog) is indexed again by the
    workers with the new papers, and the commit only drops it: the committing process
    indexes nothing itself."""
    monkeypatch.setattr(workers, "SEGMENT_DOCS", 1000)  # (one segment a worker, at the end)
    before = {seg.segment_id() for seg in library.index.ix._segments()}
    built_here: list[int] = []
    real = commit.commit

    def watched(ix, write, deletes=(), *, added=0, reload=None):  # type: ignore[no-untyped-def]
        def write_watched(folded):  # type: ignore[no-untyped-def]
            folded = list(folded)
            built_here.append(len(folded))
            return write(folded)

        return real(ix, write_watched, deletes, added=added, reload=reload)

    monkeypatch.setattr(commit, "commit", watched)
    library.add_papers(papers(150, "qqcrane"), index=False)
    library.catch_up()
    after = {seg.segment_id() for seg in library.index.ix._segments()}
    assert not before & after  # the sample's segment was dropped
    assert built_here and not any(built_here)  # and not indexed by the committing process
    assert library.index.doc_count() == library.count() == 98 + 150
    assert library.search("gaussian splatting").total > 0  # the sample's papers still found


def test_a_new_library_is_indexed_by_the_bulk_catch_up_not_a_rebuild(
    tmp_path: Path, small_bulk, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A new library's first import (the sample and the file's papers all queued) starts
    from an empty index and streams every paper to the workers. A rebuild indexed only the
    papers written so far, and the rest went in batches in one process: 100,000 papers took
    291 s, not 75."""
    rebuilds: list[int] = []
    real = indexer_module.Indexer._rebuild
    monkeypatch.setattr(
        indexer_module.Indexer, "_rebuild", lambda *a: rebuilds.append(1) or real(*a)
    )
    with Library(tmp_path / "new", index_seed=False) as lib:
        lib.add_papers(papers(150, "qqheron"), index=False)
        assert lib.records.all_queued()
        assert lib.catch_up() == lib.count() == 150 + 98
        assert small_bulk == [1] and rebuilds == []
        assert lib.unindexed_count() == 0 and lib.index.doc_count() == lib.count()
        assert lib.search("qqheron", limit=500).total == 150
        assert lib.search("gaussian").total > 0  # the sample's papers too


def test_papers_queued_during_a_rebuild_go_to_the_bulk_catch_up(
    library: Library, small_bulk, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A rebuild (here: the index folder deleted) indexes the papers there when it began; an
    import that goes on writing meanwhile is then streamed to the workers, not left to
    batches in one process."""
    real = indexer_module.Indexer._rebuild

    def rebuild_while_an_import_writes(self, *args):  # type: ignore[no-untyped-def]
        count = real(self, *args)
        library.add_papers(papers(150, "qqwren"), index=False)
        return count

    monkeypatch.setattr(indexer_module.Indexer, "_rebuild", rebuild_while_an_import_writes)
    library.index.close()
    import shutil

    shutil.rmtree(library.index.path)
    assert not library.records.all_queued()  # the sample was indexed: a rebuild is needed
    library.catch_up()
    assert small_bulk == [1]
    assert library.unindexed_count() == 0 and library.index.doc_count() == library.count()
    assert library.search("qqwren", limit=500).total == 150


@pytest.mark.parametrize(("me", "sizes"), [(0, [20, 20, 10]), (1, [10, 20, 20])])
def test_the_workers_write_their_segments_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, me: int, sizes: list[int]
) -> None:
    """Both workers sorted and wrote a segment (each one's memory peak) at the same moment.
    The second one's first segment is half the size, so the peaks come one after the other."""
    monkeypatch.setattr(workers, "SEGMENT_DOCS", 20)
    folder = empty_index(tmp_path / "stream")
    docs = [document(p, None) for p in papers(50, "qqturn")]
    sent = run_worker(folder, [docs[start : start + 5] for start in range(0, 50, 5)] + [None], me)
    assert [value[0].doc_count() for kind, _, value in sent if kind == "segment"] == sizes  # type: ignore[index]
    assert sent[-1][0] == "flushed"


@pytest.mark.parametrize(
    ("partner", "sizes"),
    [(10, [20, 20, 10]), (20, [20, 10, 10, 10]), (0, [20, 10, 10, 10]), (15, [20, 15, 15])],
    ids=["partner-half-way", "partner-at-its-end", "partner-just-begun", "three-quarters"],
)
def test_a_worker_sizes_its_segments_to_write_apart_from_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partner: int, sizes: list[int]
) -> None:
    """Two workers' writes (each one's memory peak) drifted together over a 1M import: 516 MB
    at once. After a segment at its limit, a worker sizes the next so that the other is
    half-way through its own when it ends (never under half a segment, never over one)."""
    monkeypatch.setattr(workers, "SEGMENT_DOCS", 20)
    folder = empty_index(tmp_path / "stream")
    docs = [document(p, None) for p in papers(50, "qqapart")]
    gathered = multiprocessing.get_context("fork").RawArray("i", 2)
    gathered[1] = partner  # (the other worker, standing still here)
    items: list[object] = [docs[start : start + 5] for start in range(0, 50, 5)]
    sent = run_worker(folder, [*items, None], 0, gathered=gathered)
    assert [value[0].doc_count() for kind, _, value in sent if kind == "segment"] == sizes  # type: ignore[index]
    sized = {lead: workers._limit(0, [0, lead]) for lead in (0, 5, 10, 15, 20, 99)}
    assert sized == {0: 10, 5: 15, 10: 20, 15: 15, 20: 10, 99: 10}
    assert workers._limit(0, None) == workers._limit(0, [0]) == 20  # (no other worker)


def test_each_segment_is_gathered_by_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker forks a child for each segment, which exits once it has sent it: each
    segment starts from a fresh process's memory (one process writing segment after segment
    sat at 110-125 MB between them, not the 55 it started at). The words analysed in one
    segment are handed on to the next child, not analysed again."""
    monkeypatch.setattr(workers, "SEGMENT_DOCS", 20)
    folder = empty_index(tmp_path / "stream")
    docs = {str(doc["id"]): doc for doc in (document(p, None) for p in papers(50, "qqfresh"))}
    ids = list(docs)
    seen = tmp_path / "seen"

    def load(chunk: list[str]) -> list[dict[str, object]]:
        with seen.open("a") as out:  # (each process appends: one line a chunk)
            out.write(f"{os.getpid()} {caches_given[-1]}\n")
        return [docs[i] for i in chunk]

    caches_given: list[int] = []
    use = workers.bulk.SegmentBuilder.use_word_caches

    def counted(self, pickled: bytes) -> None:  # type: ignore[no-untyped-def]
        caches_given.append(len(pickled))
        use(self, pickled)

    monkeypatch.setattr(workers.bulk.SegmentBuilder, "use_word_caches", counted)
    sent = run_worker(folder, [ids[n : n + 5] for n in range(0, 50, 5)] + [None], 0, load)
    segments = [value[0] for kind, _, value in sent if kind == "segment"]  # type: ignore[index]
    assert [s.doc_count() for s in segments] == [20, 20, 10]
    assert len({s.segment_id() for s in segments}) == 3
    lines = [line.split() for line in seen.read_text().splitlines()]
    pids = list(dict.fromkeys(pid for pid, _ in lines))
    assert len(pids) == 3 and os.getpid() not in map(int, pids)  # one process a segment
    assert [pid for pid, _ in lines] == [pids[0]] * 4 + [pids[1]] * 4 + [pids[2]] * 2
    given = {pid: int(size) for pid, size in lines}  # the caches' size each child was given
    assert given[pids[0]] == 0 and given[pids[1]] > 0 and given[pids[2]] >= given[pids[1]]


def test_the_ids_a_commit_looks_up_are_every_id_that_may_be_indexed() -> None:
    """IndexedIds answers which ids a commit must look for in the index: every one added,
    whichever run it came in, and (64-bit hashes) not the others."""
    known = commit.IndexedIds(f"qqold-{n}" for n in range(500))
    for run in range(20):
        known.add(f"qqnew-{run}-{n}" for n in range(100))
    asked = [f"qqnew-{run}-{n}" for run in range(25) for n in range(100)] + ["qqold-7", "x"]
    assert known.maybe(asked) == asked[:2000] + ["qqold-7"]
    assert commit.IndexedIds().maybe(["qqold-7"]) == []


def test_a_chunk_goes_to_whichever_worker_makes_room_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every queue full, a chunk waited on the next worker in turn. While that one wrote
    a segment (10-15 s) the other read its queue and stood idle: a core idle for ~20 s of a
    100,000-paper import's 77. Now it goes to the first worker to take from its queue."""
    monkeypatch.setattr(workers, "QUEUED_IDS", 1)
    pool = workers.Workers(str(tmp_path), 2, load=lambda chunk: [])  # (no process started)
    try:
        pool.send([("a", None)], ["a"])
        pool.send([("b", None)], ["b"])  # both queues full; worker 0 is next in turn
        threading.Timer(0.3, pool.inboxes[1].get).start()  # worker 1 reads its queue
        sending = threading.Thread(target=pool.send, args=([("c", None)], ["c"]), daemon=True)
        sending.start()
        sending.join(timeout=10)
        assert not sending.is_alive(), "the chunk waited on the worker in turn, not the free one"
        assert pool.inboxes[1].get(timeout=1) == [("c", None)]
        assert [list(ids) for ids in pool.unwritten] == [[["a"]], [["b"], ["c"]]]
        assert pool.sent == 3
    finally:
        pool.kill()
