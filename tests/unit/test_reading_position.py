"""The article view's reading position in the YAML store, and the library's reading section."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from paperreader.core.errors import StoreError
from paperreader.core.fulltext.document import Block, Document, paper_folder
from paperreader.core.library import Library
from paperreader.core.models import ReadState
from paperreader.core.store import Store


def test_position_is_saved_only_when_not_zero(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.update("x1", lambda u: setattr(u, "state", ReadState.READING))
    assert "position" not in yaml.safe_load(store.path_for("x1").read_text())
    store.update("x1", lambda u: setattr(u, "position", 42))
    text = store.path_for("x1").read_text()
    assert yaml.safe_load(text)["position"] == 42
    assert text.index("tags:") < text.index("position:")
    assert store.get("x1").position == 42
    store.update("x1", lambda u: setattr(u, "position", 0))
    assert "position" not in yaml.safe_load(store.path_for("x1").read_text())


def test_a_position_alone_keeps_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.update("x1", lambda u: setattr(u, "position", 3))
    assert store.path_for("x1").exists()
    store.update("x1", lambda u: setattr(u, "position", 0))
    assert not store.path_for("x1").exists()


@pytest.mark.parametrize("value", ["-1", "soon", "true", "1.5"])
def test_a_bad_hand_edited_position_is_reported_with_its_line(tmp_path: Path, value: str) -> None:
    store = Store(tmp_path)
    path = store.path_for("x1")
    path.write_text(f"id: x1\nstate: reading\nposition: {value}\n")
    with pytest.raises(StoreError, match=r"x1\.yaml:3: position"):
        store.get("x1")


def test_library_reading_section(library: Library) -> None:
    paper_id = library.search("", limit=1).hits[0].id
    assert library.full_text(paper_id) is None
    folder = paper_folder(library.root, paper_id)
    folder.mkdir(parents=True)
    doc = Document(title="T", blocks=[Block("heading", "Intro", 1, "1"), Block("paragraph", "x")])
    (folder / "text.json").write_text(doc.to_json(), encoding="utf-8")
    assert library.full_text(paper_id) == doc
    user = library.set_position(paper_id, 7)
    assert user.position == 7 and library.user(paper_id).position == 7
    assert library.set_position(paper_id, -5).position == 0
