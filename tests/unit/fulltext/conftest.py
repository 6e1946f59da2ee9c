"""Fixtures for the full-text tests: the shared real files, found beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest


def find_fulltext_fixtures() -> Path | None:
    """`shared/fixtures/fulltext` in the nearest folder above this file that has one."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "fixtures" / "fulltext"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def fulltext_dir() -> Path:
    found = find_fulltext_fixtures()
    if found is None:
        pytest.skip("shared/fixtures/fulltext is not present beside the repository")
    return found
