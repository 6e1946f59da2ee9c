"""Shared fixtures: a seeded sample library built once per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
OWN_FIXTURES = REPO / "tests" / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run long tests at full count")


@pytest.fixture(scope="session")
def seeded_library_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library seeded with the bundled sample (built once; never modify it)."""
    from paperreader.core.library import Library

    root = tmp_path_factory.mktemp("template") / "library"
    Library(root).close()
    return root


@pytest.fixture
def library_path(seeded_library_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded sample library for one test."""
    target = tmp_path / "library"
    shutil.copytree(seeded_library_template, target)
    return target


@pytest.fixture
def library(library_path: Path):  # type: ignore[no-untyped-def]
    from paperreader.core.library import Library

    lib = Library(library_path)
    yield lib
    lib.close()


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present beside the repository")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _no_arxiv_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full-text fetch a test did not point at its replay server goes to a closed local
    port, never to arxiv.org (the reader's `d` key, `fetch text`)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PAPERREADER_ARXIV_FILES_URL", f"http://127.0.0.1:{port}")
