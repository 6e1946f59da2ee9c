"""The library facade: seeding, stable ids, merging, round trips, and the index as a cache."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest

from paperreader.core import records as records_module
from paperreader.core.errors import UnknownPaper
from paperreader.core.exporters import export
from paperreader.core.importers.base import Skipped
from paperreader.core.library import Library, sample_path
from paperreader.core.models import Paper
from paperreader.core.records import Records


def test_a_new_library_opens_on_the_sample(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as lib:
        assert lib.count() == 98
        assert lib.search("diffusion").total > 5
        first = lib.search("", limit=1).hits[0]
        assert first.published == date(2026, 3, 11)
    # Written only inside the library folder.
    assert sorted(p.name for p in (tmp_path / "lib").iterdir()) == [
        "index",
        "papers.db",
        "store",
    ] or {"index", "papers.db", "store"} <= {p.name for p in (tmp_path / "lib").iterdir()}


def test_importing_the_same_file_twice_changes_nothing(library: Library) -> None:
    report = library.import_path(sample_path())
    assert (report.added, report.updated, report.unchanged) == (0, 0, 98)
    assert library.count() == 98


def test_ids_are_stable_and_arxiv_ids_lose_their_version(library: Library) -> None:
    paper = library.get("melange")  # a unique id prefix resolves
    assert paper.id.startswith("melange-cost-efficient")
    assert paper.code_url == "https://github.com/tyler-griggs/melange-release"
    library.add_papers([Paper(id="2404.14527", title="X", arxiv_id="2404.14527")])
    assert library.get("2404.14527v3").id == "2404.14527"
    assert library.get("arXiv:2404.14527").id == "2404.14527"
    with pytest.raises(UnknownPaper):
        library.get("no-such-paper")


def test_same_paper_from_another_source_merges_and_keeps_user_data(library: Library) -> None:
    seed = library.get("melange")
    library.set_bookmark(seed.id)
    library.set_note(seed.id, "my thoughts")
    richer = Paper(
        id="2404.14527",
        title="Mélange: Cost Efficient Large Language Model Serving by Exploiting GPU Heterogeneity",
        authors=["Tyler Griggs", "Xiaoxuan Liu"],
        arxiv_id="2404.14527",
        published=date(2024, 4, 22),
        source="arxiv",
    )
    report = library.add_papers([richer])
    assert (report.added, report.updated) == (0, 1)
    merged = library.get(seed.id)
    assert merged.arxiv_id == "2404.14527" and merged.authors == ["Tyler Griggs", "Xiaoxuan Liu"]
    assert merged.abstract == seed.abstract
    assert library.user(seed.id).bookmarked
    assert library.search("author:griggs").hits[0].id == seed.id
    assert library.add_papers([richer]).unchanged == 1


def test_jsonl_export_round_trips_through_import(library: Library, tmp_path: Path) -> None:
    out = io.StringIO()
    assert export("jsonl", library.select(), out) == 98
    path = tmp_path / "export.jsonl"
    path.write_text(out.getvalue())
    with Library(tmp_path / "other", seed=False) as other:
        assert other.count() == 0
        report = other.import_path(path)  # format guessed from content
        assert report.added == 98
        for paper in library.select():
            assert other.get(paper.id) == paper


def test_markdown_and_json_exports_filter(library: Library) -> None:
    target = library.get("gptq")
    library.set_bookmark(target.id)
    library.add_tags(target.id, ["to-read"])
    library.set_note(target.id, "Uses *second-order* information.")
    out = io.StringIO()
    export("markdown", library.select(bookmarked=True), out, user=library.users().get)
    text = out.getvalue()
    assert text.count("\n## ") == 1 and "GPTQ: Accurate" in text
    assert "`to-read`" in text and "Uses *second-order* information." in text
    out = io.StringIO()
    export("json", library.select(tag="to-read"), out, user=library.users().get)
    import json

    data = json.loads(out.getvalue())
    assert [d["id"] for d in data] == [target.id] and data[0]["user"]["bookmarked"] is True
    assert len(list(library.select(query="quantization"))) == library.search("quantization").total


def test_bad_records_are_skipped_and_counted(library: Library) -> None:
    records = [
        Paper(id="ok-1", title="Fine"),
        Skipped("f.jsonl:2", "not JSON"),
        Skipped("f.jsonl:3", "no title"),
    ]
    report = library.add_papers(records)
    assert (report.added, report.skipped) == (1, 2)
    assert report.problems == ["f.jsonl:2: not JSON", "f.jsonl:3: no title"]


def test_an_interrupted_import_leaves_the_library_as_it_was(library: Library) -> None:
    def records():  # type: ignore[no-untyped-def]
        yield Paper(id="new-1", title="First New Paper")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        library.add_papers(records())
    assert library.count() == 98
    with pytest.raises(UnknownPaper):
        library.get("new-1")


@pytest.mark.parametrize("damage", ["delete", "garbage-toc", "old-schema"])
def test_a_broken_index_is_rebuilt_and_user_data_survives(library_path: Path, damage: str) -> None:
    with Library(library_path) as lib:
        paper = lib.get("gptq")
        lib.set_note(paper.id, "keep me")
    index = library_path / "index"
    if damage == "delete":
        shutil.rmtree(index)
    elif damage == "garbage-toc":
        for toc in index.glob("*.toc"):
            toc.write_bytes(b"\x00garbage" * 10)
    else:
        (index / "paperreader-schema").write_text("0")
    with Library(library_path) as lib:
        assert lib.indexer.rebuild_reason() is not None  # found at open, rebuilt by the indexer
        lib.run_indexer()
        assert lib.search("note:keep").hits[0].id == paper.id
        assert lib.count() == lib.index.doc_count() == 98
        assert lib.check() == []


def test_hand_edits_made_while_closed_reach_the_index(library_path: Path) -> None:
    with Library(library_path) as lib:
        paper = lib.get("gptq")
        lib.add_tags(paper.id, ["one"])
        path = lib.store.path_for(paper.id)
    path.write_text(path.read_text().replace("- one", "- handmade"))
    with Library(library_path) as lib:
        assert [h.id for h in lib.search("tag:handmade").hits] == [paper.id]
        assert lib.search("tag:one").total == 0


def test_conflicting_note_edits_keep_both_texts(library: Library, library_path: Path) -> None:
    paper = library.get("gptq")
    library.set_note(paper.id, "original")
    base = library.user(paper.id).note
    with Library(library_path) as other:  # a second instance edits meanwhile
        other.set_note(paper.id, "theirs")
    library.set_note(paper.id, "mine", base=base)
    text = library.user(paper.id).note.text  # type: ignore[union-attr]
    assert text.startswith("mine") and "theirs" in text


def test_check_reports_problems(library: Library) -> None:
    assert library.check() == []
    library.store.path_for("broken").write_text("id: broken\nstate: [\n")
    problems = library.check()
    assert len(problems) == 1 and "broken.yaml:" in problems[0]


def test_the_same_paper_twice_in_one_import_is_indexed_once(library: Library) -> None:
    twice = [
        Paper(id="doi:10.1/x", title="Twice Listed", doi="10.1/x"),
        Paper(id="doi:10.1/x", title="Twice Listed", doi="10.1/x", authors=["A. Author"]),
    ]
    report = library.add_papers(twice)
    assert (report.added, report.updated) == (1, 1)
    assert library.index.doc_count() == library.count() == 99
    assert library.search("twice listed").total == 1


def test_a_reader_thread_never_sees_an_unfinished_import(library: Library) -> None:
    import threading

    seen: list[object] = []

    def records():  # type: ignore[no-untyped-def]
        yield Paper(id="mid-import-1", title="Written But Not Committed")
        reader = threading.Thread(target=lambda: seen.append(library.records.get("mid-import-1")))
        reader.start()
        reader.join()
        yield Paper(id="mid-import-2", title="Second")

    library.add_papers(records())
    assert seen == [None]
    assert library.get("mid-import-1").title == "Written But Not Committed"


def test_pages_of_the_newest_list_read_from_either_end_agree(library: Library) -> None:
    # Ties on the date and undated papers: the order must still be one total order.
    library.add_papers(
        [
            Paper(id=f"qqtie-{n}", title=f"Tie {n}", published=date(2026, 3, 11) if n % 3 else None)
            for n in range(25)
        ]
    )
    total = library.count(fresh=True)
    everything = [p.id for p in library.records.newest(0, total + 10)]
    assert len(everything) == total == len(set(everything))
    for offset in (0, 7, total // 2, total // 2 + 1, total - 30, total - 5, total - 1, total):
        for limit in (1, 13, 50):
            page = library.records.newest(offset, limit, total=total)
            assert [p.id for p in page] == everything[offset : offset + limit], (offset, limit)
    last = library.search("", offset=total - 3, limit=50, sort="newest")
    assert [h.id for h in last.hits] == everything[-3:] and last.total == total


def test_deep_pages_from_marks_agree_with_the_walk(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Marks every 7 papers, so the sample's pages cross marks, and the dated/undated border.
    monkeypatch.setattr(records_module, "MARK_EVERY", 7)
    library.add_papers(
        [
            Paper(id=f"qqtie-{n}", title=f"Tie {n}", published=date(2026, 3, 11) if n % 3 else None)
            for n in range(25)
        ]
    )
    total = library.count(fresh=True)
    everything = [p.id for p in library.records.newest(0, total + 10)]
    used = []
    walk = Records._newest_from_mark
    monkeypatch.setattr(
        Records, "_newest_from_mark", lambda self, *a: used.append(a) or walk(self, *a)
    )
    marks = library.records.mark_newest()
    assert marks.total == total and marks.dated == total - 9 and len(marks.keys) == -(-total // 7)
    for offset in range(7, total + 2):
        for limit in (1, 6, 13, 50):
            page = library.records.newest(offset, limit, total=total)
            assert [p.id for p in page] == everything[offset : offset + limit], (offset, limit)
    assert len(used) == 4 * (total + 2 - 7)
    # A write makes them stale: pages come from the walk (still right) until they are rebuilt.
    library.add_papers([Paper(id="qqlate", title="Late", published=date(2020, 1, 1))])
    total += 1
    used.clear()
    everything = [p.id for p in library.records.newest(0, total + 10)]
    page = library.records.newest(total - 12, 10, total=total)
    assert [p.id for p in page] == everything[total - 12 : total - 2] and not used
    assert library.records.mark_newest().total == total
    assert [p.id for p in library.records.newest(total - 12, 10, total=total)] == [
        p.id for p in page
    ]
    assert used


def test_the_kept_count_follows_other_connections_and_rolled_back_writes(
    library_path: Path,
) -> None:
    with Library(library_path) as lib:
        records, other = lib.records, Records(library_path / "papers.db")
        assert records.count() == 98
        with other.batch():  # another process imports
            other.put(Paper(id="from-elsewhere", title="From Elsewhere"))
        assert records.count() == 99 == lib.count(fresh=True)
        with pytest.raises(KeyboardInterrupt), records.batch():
            records.put(Paper(id="rolled-back", title="Rolled Back"))
            assert records.count() == 100  # counted inside the batch, then undone
            raise KeyboardInterrupt
        assert records.count() == 99
        other.close()
