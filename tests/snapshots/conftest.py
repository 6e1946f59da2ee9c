"""Fixtures for the snapshot tests: a fresh copy of a seeded sample library per test."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))  # ui_helpers


@pytest.fixture
def library_path(seeded_library_template: Path, tmp_path: Path) -> Path:
    # The library's folder name shows in the header: keep it the same in every run.
    root = tmp_path / "sample"
    shutil.copytree(seeded_library_template, root)
    return root
