"""Fixtures for the reader's Pilot tests (`library`, a fresh seeded copy, is in tests/conftest.py)."""

from __future__ import annotations

import gc

import pytest

from paperreader.core.library import Library
from paperreader.ui.app import PaperReader, create_app


@pytest.fixture
def app(library: Library) -> PaperReader:
    return create_app(library, show_timing=False, poll_seconds=0)


@pytest.fixture(autouse=True)
def _unfreeze_gc():  # type: ignore[no-untyped-def]
    """The reader freezes what it built once warm (gc.freeze): in this long-lived test process
    that would keep every earlier test's app alive. Production runs one app per process."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
