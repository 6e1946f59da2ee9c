"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperreader.cli import main


@pytest.fixture
def run(library_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--library", str(library_path)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
