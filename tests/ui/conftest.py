"""Fixtures for the reader's Pilot tests (`library`, a fresh seeded copy, is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from paperreader.core.library import Library
from paperreader.ui.app import PaperReader, create_app


@pytest.fixture
def app(library: Library) -> PaperReader:
    return create_app(library, show_timing=False, poll_seconds=0)
