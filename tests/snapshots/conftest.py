"""Fixtures for the snapshot tests: a fresh copy of a seeded sample library per test."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperreader.core.library import Library

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))  # ui_helpers


@pytest.fixture(scope="session")
def seeded_snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed") / "sample"
    Library(root).close()
    return root


@pytest.fixture
def library(seeded_snapshot_dir: Path, tmp_path: Path) -> Iterator[Library]:
    # The library's folder name shows in the header: keep it the same in every run.
    root = tmp_path / "sample"
    shutil.copytree(seeded_snapshot_dir, root)
    lib = Library(root)
    yield lib
    lib.close()
