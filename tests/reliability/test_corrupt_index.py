"""The search index is a cache: any damage means a rebuild, never a crash or a lost note."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from paperreader.core.errors import PaperreaderError
from paperreader.core.library import Library


def _toc(index: Path) -> Path:
    return max(index.glob("_MAIN_*.toc"))


def _biggest_segment(index: Path) -> Path:
    return max(index.glob("*.seg"), key=lambda p: p.stat().st_size)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _leftover_new(index: Path) -> None:
    fresh = index.with_name("index.new")
    fresh.mkdir()
    (fresh / "_MAIN_1.toc").write_bytes(b"half-built")


DAMAGE: dict[str, tuple[Callable[[Path], None], bool]] = {
    # name -> (damage, whether opening must rebuild)
    "missing-toc": (lambda ix: _toc(ix).unlink(), True),
    "garbage-toc": (lambda ix: _toc(ix).write_bytes(os.urandom(512)), True),
    "empty-toc": (lambda ix: _toc(ix).write_bytes(b""), True),
    "truncated-segment": (lambda ix: _truncate(_biggest_segment(ix)), True),
    "zeroed-segment": (lambda ix: _biggest_segment(ix).write_bytes(b"\0" * 4096), True),
    "missing-index": (lambda ix: shutil.rmtree(ix), True),
    "index-is-a-file": (lambda ix: (shutil.rmtree(ix), ix.write_text("x")), True),
    "stale-write-lock": (lambda ix: (ix / "MAIN_WRITELOCK").write_text("4242"), False),
    "leftover-temp": (lambda ix: (ix / "MAIN_x.seg.tmp-1").write_bytes(b"junk"), False),
    "leftover-index-new": (_leftover_new, False),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_index_is_rebuilt_and_notes_stay(library_path: Path, name: str) -> None:
    with Library(library_path) as lib:
        paper = lib.search("", limit=1).hits[0].id
        lib.set_note(paper, "zanzibar note")
        lib.add_tags(paper, ["kept"])
    damage, rebuilds = DAMAGE[name]
    damage(library_path / "index")

    with Library(library_path) as lib:
        # Opening only reads: the damage is found, and the indexer (a background process
        # in the CLI and the reader) rebuilds once.
        assert (lib.indexer.rebuild_reason() is not None) == rebuilds
        assert lib.count() == 98
        assert lib.search("").total == 98  # the newest-first listing comes from the records
        lib.run_indexer()
        assert lib.indexer.rebuild_reason() is None
        assert [h.id for h in lib.search("zanzibar").hits] == [paper]
        assert lib.user(paper).note.text == "zanzibar note"
        lib.set_note(paper, "zanzibar note, edited")
        lib.toggle_bookmark(paper)
        assert [h.id for h in lib.search("edited", view="bookmarked").hits] == [paper]
    with Library(library_path) as lib:  # and the next start is clean
        assert lib.user(paper).tags == ["kept"]
        assert not lib.check()
        assert lib.indexer.rebuild_reason() is None
    assert not (library_path / "index.new").exists()
    assert not list((library_path / "index").glob("*.tmp-*"))


def test_index_damaged_while_open_gives_a_clean_error(library_path: Path) -> None:
    """Another process leaves a garbage TOC behind: searches raise one clear error, edits
    are still saved (their index update stays queued), and the next indexer rebuilds."""
    lib = Library(library_path)
    paper = lib.search("", limit=1).hits[0].id
    (library_path / "index" / "_MAIN_999.toc").write_bytes(os.urandom(512))
    try:
        with pytest.raises(PaperreaderError, match="search index"):
            lib.search("transformer")
        with pytest.raises(PaperreaderError, match="search index"):
            lib.similar(paper)
        lib.set_note(paper, "quokka saved despite the index")  # no exception: the store has it
        lib.flush()
        assert lib.user(paper).note.text == "quokka saved despite the index"
        assert lib.unindexed_count() == 1  # queued for the indexer, not lost
    finally:
        lib.close()
    with Library(library_path) as lib:
        assert lib.indexer.rebuild_reason() is not None
        lib.run_indexer()
        assert [h.id for h in lib.search("quokka").hits] == [paper]
        assert lib.unindexed_count() == 0
