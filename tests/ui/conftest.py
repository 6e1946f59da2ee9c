"""Fixtures for the reader's Pilot tests: a fresh copy of a seeded sample library per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperreader.core.library import Library
from paperreader.ui.app import PaperReader, create_app


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed") / "sample"
    Library(root).close()
    return root


@pytest.fixture
def library(seeded_dir: Path, tmp_path: Path) -> Iterator[Library]:
    root = tmp_path / "library"
    shutil.copytree(seeded_dir, root)
    lib = Library(root)
    yield lib
    lib.close()


@pytest.fixture
def app(library: Library) -> PaperReader:
    return create_app(library, show_timing=False, poll_seconds=0)
