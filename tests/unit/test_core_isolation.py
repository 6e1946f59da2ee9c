"""The core must never import Textual (or Rich): the CLI and other front ends use it alone."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import paperreader.core

CORE = Path(paperreader.core.__file__).parent
FORBIDDEN = ("textual", "rich")


def test_no_core_module_imports_textual_in_source() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_core_module_loads_no_textual() -> None:
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], prefix="paperreader.core.")]
    assert "paperreader.core.library" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        # rich may arrive through third-party packages (httpx's CLI); Textual must not.
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


SRC = CORE.parent
SEARCH = CORE / "search"


def test_only_the_search_package_imports_whoosh() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if SEARCH in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(SRC)}: {n}" for n in names if n.split(".")[0] == "whoosh"
            ]
    assert offenders == []


def test_importing_the_library_patches_nothing_until_an_index_is_opened(tmp_path: Path) -> None:
    """Whoosh's classes are patched by the first SearchIndex, never by an import; the exit hook
    (waiting for saves' index updates) comes with the first save, not with opening."""
    code = (
        "import atexit\n"
        "hooks = []\n"
        "register = atexit.register\n"
        "atexit.register = lambda f, *a, **k: hooks.append(f) or register(f, *a, **k)\n"
        "def ours():\n"
        "    return sum(getattr(f, '__module__', '').startswith('paperreader') for f in hooks)\n"
        "import paperreader.core.library\n"
        "from whoosh.codec.whoosh3 import W3PerDocReader\n"
        "from whoosh.filedb.compound import CompoundStorage\n"
        "from whoosh.reading import MultiReader\n"
        "def patched():\n"
        "    methods = [CompoundStorage.open_file, CompoundStorage.__init__,\n"
        "               CompoundStorage.close, MultiReader.terms_within,\n"
        "               W3PerDocReader._cached_reader]\n"
        "    return [m.__module__.startswith('paperreader') for m in methods]\n"
        "print(patched(), ours())\n"
        "from paperreader.core.search import SearchIndex\n"
        f"index = SearchIndex({str(tmp_path / 'index')!r})\n"
        "index.open()\n"
        "print(patched(), ours())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.strip().splitlines()
    assert before == "[False, False, False, False, False] 0"
    assert after == "[True, True, True, True, True] 0"
