"""The saves a process has not seen indexed yet are searched in memory (overlay.py), never
through a temporary folder that other processes share."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from whoosh import query as Q

from paperreader.core.models import Paper
from paperreader.core.search.overlay import LocalChanges
from paperreader.core.search.schema import document, make_schema


def test_pending_saves_are_searched_without_the_shared_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh's RamStorage writers kept their temporary files in <temp>/MAIN.tmp, the same
    folder for every process, which each writer deletes when done: a search in one process
    failed on a file another process's search had just deleted (seen in the stress test)."""
    shared = tmp_path / "temp"
    shared.mkdir()
    (shared / "MAIN.tmp").write_text("not a folder: any use of it fails")
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    local = LocalChanges(make_schema())
    local.remember(document(Paper(id="2401.00001", title="Lattice sieving"), None))
    local.remember(document(Paper(id="2401.00002", title="Graph coloring"), None))
    found = local.matching(Q.Term("id", "2401.00002"))
    assert [hit["id"] for hit in found] == ["2401.00002"]
