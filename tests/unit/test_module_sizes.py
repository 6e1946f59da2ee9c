"""Rooms stay small: no module of core/ over 600 lines, no file under ui/ over 500, and each
module says its job in its first line."""

from __future__ import annotations

import ast
from pathlib import Path

import paperreader

SRC = Path(paperreader.__file__).parent


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_core_modules_stay_under_600_lines() -> None:
    big = {str(p.relative_to(SRC)): _lines(p) for p in (SRC / "core").rglob("*.py")}
    assert {name: n for name, n in big.items() if n > 600} == {}


def test_ui_files_stay_under_500_lines() -> None:
    big = {str(p.relative_to(SRC)): _lines(p) for p in (SRC / "ui").rglob("*.py")}
    assert {name: n for name, n in big.items() if n > 500} == {}


def test_every_search_module_opens_with_its_job() -> None:
    missing = [
        p.name
        for p in (SRC / "core" / "search").glob("*.py")
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert missing == []
