"""Saved views in views.yaml, their unread/new counts, and the records' `added` times."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from paperreader.core.errors import StoreError
from paperreader.core.models import Paper
from paperreader.core.records import Records
from paperreader.core.views import (
    BUILTIN,
    Counts,
    SavedView,
    ViewCounts,
    ViewError,
    ViewStore,
    ids_filter,
    new_counter,
    new_ids,
)


# -- ViewStore ---------------------------------------------------------------------------------
def test_save_list_get_remove_round_trip(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    assert store.list() == []
    store.save("Diffusion", "diffusion  model\ndate:2024", "newest")
    store.save("agents", "llm agents")
    views = ViewStore(tmp_path).list()  # as another process reads it
    assert [(v.name, v.query, v.sort) for v in views] == [
        ("Diffusion", "diffusion model date:2024", "newest"),
        ("agents", "llm agents", "relevance"),
    ]
    assert store.get("diffusion").query == "diffusion model date:2024"
    assert store.get("unread").builtin and store.get("unread").query == "is:unread"
    store.save("diffusion", "diffusion", "oldest")  # same name: replaced, not doubled
    assert [(v.name, v.sort) for v in store.list()] == [
        ("diffusion", "oldest"),
        ("agents", "relevance"),
    ]
    store.remove("Diffusion")
    assert [v.name for v in store.list()] == ["agents"]
    with pytest.raises(ViewError, match="no saved view"):
        store.remove("nope")
    assert (tmp_path / "views.yaml").read_text().startswith("# paperreader")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("two\nlines", "one line"),
        ("x" * 61, "at most 60"),
        ("unread", "built-in"),
        ("For-You", "built-in"),
        ("tag:llm", "tag:"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    with pytest.raises(ViewError, match=why):
        ViewStore(tmp_path).save(name, "q")
    assert not (tmp_path / "views.yaml").exists()


def test_every_builtin_name_is_reserved(tmp_path: Path) -> None:
    assert set(BUILTIN) == {
        "all", "bookmarked", "unread", "reading", "read", "notes", "tagged", "new", "for-you"
    }  # fmt: skip
    for name in BUILTIN:
        with pytest.raises(ViewError):
            ViewStore(tmp_path).save(name, "q")


def test_a_name_of_60_characters_is_fine(tmp_path: Path) -> None:
    assert ViewStore(tmp_path).save("x" * 60, "q").name == "x" * 60


def test_touch_keeps_last_opened_for_saved_and_builtin_views(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    store.save("agents", "llm agents")
    first = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert store.touch("agents", first) is None
    assert store.touch("agents") == first  # the previous visit, for "new as of then"
    assert store.get("agents").last_opened > first
    assert store.touch("unread", first) is None
    again = ViewStore(tmp_path)
    assert again.get("unread").last_opened == first
    assert again.get("bookmarked").last_opened is None
    with pytest.raises(ViewError, match="no view named"):
        store.touch("missing")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("views:\n- name: a\n  query: [unclosed\n", "views.yaml:4: did not find"),
        ("views: 3\n", "views.yaml:1: views: must be a list"),
        ("views:\n- name: ok\n  query: q\n- name: ''\n  query: q\n", "views.yaml:4: view name"),
        ("views:\n- name: a\n  query: q\n  sort: sideways\n", "views.yaml:4: view 'a': sort"),
        ("views:\n- name: a\n  query: {x: 1}\n", "views.yaml:3: view 'a': query must be text"),
        ("views:\n- name: unread\n", "views.yaml:2: view name: 'unread' is a built-in"),
        ("views:\n- name: a\n- name: A\n", "views.yaml:3: a second view named 'A'"),
        ("- just\n- a list\n", "views.yaml:1: expected"),
        ("views: []\nopened:\n  unread: yesterday\n", "views.yaml:3: opened: unread"),
        ("views:\n- name: a\n  created: soon\n", "views.yaml:2: view 'a': created"),
        ("views: !!python/object:os.system x\n", "views.yaml:1"),
    ],
)
def test_a_broken_file_is_one_line_and_never_overwritten(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "views.yaml"
    path.write_text(text)
    store = ViewStore(tmp_path)
    with pytest.raises(StoreError) as caught:
        store.list()
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    for write in (
        lambda: store.save("fresh", "q"),
        lambda: store.touch("unread"),
        lambda: store.remove("a"),
    ):
        with pytest.raises(StoreError):
            write()
    assert path.read_text() == text


def test_an_empty_file_is_no_views(tmp_path: Path) -> None:
    (tmp_path / "views.yaml").write_text("")
    assert ViewStore(tmp_path).list() == []


def test_hand_edited_file_with_extra_keys_loads(tmp_path: Path) -> None:
    (tmp_path / "views.yaml").write_text(
        "views:\n- name: 2024\n  query: date:2024\n  created: 2026-01-02 10:00:00\n"
        "opened:\n  gone-builtin: 2026-01-01T00:00:00Z\n  unread: 2026-01-01T00:00:00Z\n"
    )
    store = ViewStore(tmp_path)
    (view,) = store.list()
    assert view.name == "2024" and view.created.tzinfo is not None
    assert store.get("unread").last_opened == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_failed_write_leaves_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ViewStore(tmp_path)
    store.save("a", "q")
    before = (tmp_path / "views.yaml").read_bytes()

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("paperreader.core.fsutil.os.fsync", boom)
    with pytest.raises(StoreError, match="could not save"):
        store.save("b", "q")
    assert (tmp_path / "views.yaml").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


# -- records: added --------------------------------------------------------------------------
def test_added_is_set_on_insert_and_kept_on_update(tmp_path: Path) -> None:
    records = Records(tmp_path / "papers.db")
    records.put(Paper(id="old", title="Old"), added=100.0)
    before = time.time()
    records.put(Paper(id="new", title="New"))
    records.put(Paper(id="old", title="Old, merged", abstract="more"))  # an update
    assert records.added_since(before - 1) == ["new"]
    assert records.count_added_since(50.0) == 2
    assert records.added_since(50.0, limit=1) == ["new"]
    assert records.get("old").abstract == "more"
    assert [i for i, *_ in records.iter_texts()] == ["new", "old"]
    records.close()


def test_an_old_database_gains_the_added_column(tmp_path: Path) -> None:
    path = tmp_path / "papers.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE papers (id TEXT PRIMARY KEY, arxiv_id TEXT, doi TEXT, "
        "title_key TEXT NOT NULL, published TEXT, data TEXT NOT NULL);"
        'INSERT INTO papers VALUES (\'a\', NULL, NULL, \'a\', NULL, \'{"id": "a", "title": "A"}\');'
    )
    db.commit()
    db.close()
    records = Records(path)
    assert records.count_added_since(0) == 0  # from before `added`: new to no one
    records.put(Paper(id="b", title="B"))
    assert records.added_since(0) == ["b"]
    names = {r[1] for r in records.db.execute("PRAGMA index_list(papers)")}
    assert "papers_added" in names
    records.close()
    Records(path).close()  # a second open finds the column there


# -- counts ----------------------------------------------------------------------------------
class FakeCounter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.version = 1

    def count(self, query: str, filter_text: str) -> int:
        self.calls.append((query, filter_text))
        return len(query) + (100 if filter_text else 0)


def test_counts_are_cached_by_version_and_recomputed_when_stale() -> None:
    fake = FakeCounter()
    counts = ViewCounts(fake.count, lambda: fake.version, lambda q, since: 7)
    opened = datetime(2026, 1, 1, tzinfo=timezone.utc)
    views = [SavedView("a", "abc", last_opened=opened), SavedView("b", "de", last_opened=opened)]
    assert counts.refresh(views) == {"a": Counts(103, 7), "b": Counts(102, 7)}
    assert fake.calls == [("abc", "is:unread"), ("de", "is:unread")]
    assert counts.refresh(views) == counts.cached()
    assert len(fake.calls) == 2  # nothing stale: nothing counted
    views[1] = SavedView("b", "def", last_opened=opened)  # its query changed
    assert [v.name for v in counts.stale(views)] == ["b"]
    counts.refresh(views)
    assert fake.calls[2:] == [("def", "is:unread")]
    views[0] = SavedView("a", "abc", last_opened=opened + timedelta(hours=1))  # opened again
    counts.refresh(views)
    assert fake.calls[3:] == [("abc", "is:unread")]
    fake.version = 2  # the library changed: all stale
    counts.refresh(views)
    assert len(fake.calls) == 6


def test_counts_stop_when_asked_and_skip_the_ranking_view() -> None:
    fake = FakeCounter()
    counts = ViewCounts(fake.count, lambda: 1, lambda q, since: 0)
    views = [SavedView("for-you", "", builtin=True), SavedView("x", "q")]
    assert counts.refresh(views, should_stop=lambda: True) == {}
    assert counts.refresh(views)["for-you"] == Counts(0, 0)
    assert counts.cached(views[1:]) == {"x": Counts(101, 0)}


def test_a_builtin_never_opened_has_nothing_new() -> None:
    seen = []
    counts = ViewCounts(lambda q, f: 0, lambda: 1, lambda q, since: seen.append(since) or 5)
    assert counts.refresh([SavedView("unread", "is:unread", builtin=True)]) == {
        "unread": Counts(0, 0)
    }
    assert seen == []


def test_new_counter_and_new_ids_use_the_records(tmp_path: Path) -> None:
    records = Records(tmp_path / "papers.db")
    for n in range(5):
        records.put(Paper(id=f"p{n}", title=f"P{n}"), added=1000.0 + n)
    asked: list[tuple[str, str]] = []

    def count(query: str, filter_text: str) -> int:
        asked.append((query, filter_text))
        return filter_text.count('"') // 2  # "every id in the filter matches"

    count_new = new_counter(records, count)
    assert count_new("", 1002.0) == 2 and asked == []  # SQLite alone
    assert count_new("llm", 2000.0) == 0 and asked == []  # nothing new: no search
    assert count_new("llm", 1001.5) == 3
    assert asked == [("llm", 'ids:("p4" OR "p3" OR "p2")')]
    view = SavedView("v", "q", last_opened=datetime.fromtimestamp(1002.5, timezone.utc))
    assert new_ids(records, view) == {"p3", "p4"}
    assert new_ids(records, SavedView("unread", "", builtin=True)) == set()
    records.close()


def test_ids_filter_counts_through_the_library(library) -> None:  # type: ignore[no-untyped-def]
    hits = library.search("", limit=3).hits
    ids = [h.id for h in hits]
    result = library.index.search("", limit=10, filter_text=ids_filter(ids))
    assert sorted(h.id for h in result.hits) == sorted(ids)
