"""A large import writes its records first and leaves the search index to catch up: papers
are listed at once, searchable once indexed, and nothing is lost if that stops midway."""

from __future__ import annotations

from pathlib import Path

from paperreader.cli import main
from paperreader.core.library import Library
from paperreader.core.models import Paper
from paperreader.core.search import indexer as indexer_module
from paperreader.core.search.lease import Lease


def papers(count: int, word: str = "zyxwordstone") -> list[Paper]:
    return [
        Paper(id=f"{word}-{n}", title=f"A {word} paper number {n}", abstract=f"About {word}.")
        for n in range(count)
    ]


def test_deferred_papers_are_listed_at_once_and_found_after_catch_up(library: Library) -> None:
    before = library.count()
    report = library.add_papers(papers(30), index=False)
    assert report.added == 30
    assert library.count() == before + 30  # listed (records)
    assert library.unindexed_count() == 30
    assert library.search("zyxwordstone").total == 0  # not searchable yet
    seen: list[tuple[int, int | None]] = []
    assert library.catch_up(progress=lambda d, t: seen.append((d, t))) == 30
    assert library.unindexed_count() == 0
    assert library.search("zyxwordstone", limit=100).total == 30
    assert seen[-1] == (30, 30)


def test_an_indexed_import_leaves_nothing_unindexed(library: Library) -> None:
    library.add_papers(papers(5))
    assert library.unindexed_count() == 0
    assert library.search("zyxwordstone").total == 5


def test_reopening_only_reads_and_the_indexer_catches_up(library_path: Path) -> None:
    with Library(library_path) as lib:
        lib.add_papers(papers(10), index=False)
    with Library(library_path) as lib:  # an import cut short: opening does not index it
        assert lib.unindexed_count() == 10
        assert lib.indexer.rebuild_reason() is None  # queued papers are not "out of step"
        assert "10 papers are not searchable yet" in lib.index_status()
        assert lib.search("zyxwordstone").total == 0
        assert lib.run_indexer() == 10
        assert lib.search("zyxwordstone").total == 10
        assert lib.index_status() is None


def test_a_stopped_catch_up_resumes_where_it_stopped(library: Library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(indexer_module, "CATCH_UP_BATCH", 10)
    library.add_papers(papers(25), index=False)
    batches = []
    library.catch_up(progress=lambda d, t: batches.append(d), should_stop=lambda: len(batches) >= 1)
    assert library.unindexed_count() == 15
    assert library.search("zyxwordstone", limit=50).total == 10
    library.catch_up()
    assert library.search("zyxwordstone", limit=50).total == 25


def test_one_process_catches_up_at_a_time(library: Library, library_path: Path) -> None:
    library.add_papers(papers(3), index=False)
    other = Lease(library_path)  # another process is the indexer
    assert other.try_acquire("catch-up")
    try:
        assert library.catch_up() == 0
        assert library.unindexed_count() == 3
        assert "3 papers are not searchable yet" in library.index_status()
    finally:
        other.release()
    assert library.catch_up() == 3


def test_a_rebuild_indexes_everything(library: Library) -> None:
    library.add_papers(papers(4), index=False)
    library.reindex()
    assert library.unindexed_count() == 0
    assert library.search("zyxwordstone").total == 4


def _write_jsonl(path: Path, items: list[Paper]) -> Path:
    import json

    path.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in items))
    return path


def test_cli_import_indexes_small_imports_before_returning(
    library_path: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    source = _write_jsonl(tmp_path / "few.jsonl", papers(12))
    assert main(["import", str(source), "--library", str(library_path)]) == 0
    assert main(["search", "zyxwordstone", "--json", "--library", str(library_path)]) == 0
    assert '"total": 12' in capsys.readouterr().out


def test_cli_import_hands_large_imports_to_a_background_indexer(  # type: ignore[no-untyped-def]
    library_path: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import paperreader.cli.commands as cli

    started: list[Path] = []
    monkeypatch.setattr(cli, "BACKGROUND_INDEX_FROM", 10)
    monkeypatch.setattr(
        indexer_module.Indexer, "start_background", lambda self: started.append(self.root) or True
    )
    source = _write_jsonl(tmp_path / "many.jsonl", papers(12))
    assert main(["import", str(source), "--library", str(library_path)]) == 0
    err = capsys.readouterr().err
    assert started and set(started) == {library_path} and "12 papers are in the library" in err
    assert "12 papers are not searchable yet" in err  # the one status line
    with Library(library_path) as lib:
        assert lib.unindexed_count() == 12 and lib.search("zyxwordstone").total == 0
    # `paperreader index` does the work (here: the background process never ran).
    assert main(["index", "--library", str(library_path)]) == 0
    assert "indexed 12 papers" in capsys.readouterr().out
    assert main(["index", "--library", str(library_path)]) == 0
    assert "every paper is in the search index" in capsys.readouterr().out
    with Library(library_path) as lib:
        assert lib.search("zyxwordstone", limit=50).total == 12


def test_the_background_indexer_is_a_real_process(library_path: Path, tmp_path: Path) -> None:
    import time

    with Library(library_path) as lib:
        lib.add_papers(papers(8), index=False)
        assert lib.start_indexer()
        assert not lib.start_indexer() or lib.indexer.holder() is None  # never a second one
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with Library(library_path, seed=False) as lib:
            if lib.search("zyxwordstone", limit=50).total == 8:
                break
        time.sleep(0.2)
    else:
        raise AssertionError((library_path / indexer_module.LOG_FILE).read_text())
    deadline = time.monotonic() + 10  # it leaves once done
    while Lease(library_path).holder() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Lease(library_path).holder() is None


def test_a_save_made_during_a_rebuild_reaches_the_new_index(library: Library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from paperreader.core.models import Note

    stamp = datetime.now(timezone.utc)

    target = library.search("gaussian", limit=1).hits[0].id
    real = library.records.iter_all

    def papers_then_a_save_elsewhere():  # type: ignore[no-untyped-def]
        for n, paper in enumerate(real()):
            if n == 10:  # another instance saves a note while the new index is being built
                library.store.update(
                    target, lambda u: setattr(u, "note", Note("qqpelican remark", stamp, stamp))
                )
            yield paper

    monkeypatch.setattr(library.records, "iter_all", papers_then_a_save_elsewhere)
    library.reindex()
    assert [h.id for h in library.search("qqpelican").hits] == [target]


def test_check_names_papers_waiting_for_the_index(library: Library) -> None:
    library.add_papers(papers(3), index=False)
    assert any("3 imported papers are not searchable yet" in p for p in library.check())
    library.catch_up()
    assert library.check() == []


def test_a_large_rebuild_commits_in_chunks_and_keeps_every_paper(  # type: ignore[no-untyped-def]
    library: Library, monkeypatch
) -> None:
    from paperreader.core.search import workers, writer

    monkeypatch.setattr(workers, "SEGMENT_DOCS", 60)
    monkeypatch.setattr(workers, "FEED_CHUNK", 10)
    monkeypatch.setattr(writer, "PARALLEL_REBUILD_FROM", 50)
    monkeypatch.setattr(writer, "QUIET_THREADS", ())  # (checked below: two processes)
    monkeypatch.setattr(writer.threading, "enumerate", lambda: [type("T", (), {"name": "main"})])
    library.add_papers(papers(150, "qqosprey"), index=False)
    total = library.count()
    assert library.reindex() == total
    ix = library.index.ix
    assert len(ix._segments()) >= total // 60  # a segment per worker's 60 papers, none merged
    assert library.search("qqosprey", limit=200).total == 150
    assert library.search("number 149").hits[0].id == "qqosprey-149"
