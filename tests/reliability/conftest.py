"""Shared helpers of the reliability suite (guarantees of issue 6; see docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def long_tests(config: pytest.Config) -> bool:
    """Full counts with `--run-slow` or PAPERREADER_LONG_TESTS=1; CI runs short counts."""
    return bool(config.getoption("--run-slow", default=False)) or (
        os.environ.get("PAPERREADER_LONG_TESTS") == "1"
    )


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    return long_tests(request.config)


def child_env() -> dict[str, str]:
    """Environment for child Python processes: the package importable from src/."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp-" in p.name]
