"""Huge input costs bounded time and memory: a 50 MB abstract, a 1 MB line, 100,000 papers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paperreader.core.text import MAX_ABSTRACT, MAX_TITLE

from .conftest import child_env

# Runs the import in a child so its peak memory (ru_maxrss) is its own.
IMPORT = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from paperreader.core.library import Library

    root, source = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    with Library(root, seed=False) as lib:
        report = lib.import_path(source, "jsonl")
        imported = time.perf_counter() - started
        hits = lib.search("transformer", limit=20)
        search_ms = hits.elapsed_ms
        detail = {}
        for paper_id in sys.argv[3:]:
            t = time.perf_counter()
            paper = lib.get(paper_id)
            lib.matches(paper, hits)
            detail[paper_id] = [len(paper.title), len(paper.abstract), time.perf_counter() - t]
        count = lib.count()
    print(json.dumps({
        "added": report.added, "count": count, "seconds": imported, "search_ms": search_ms,
        "detail": detail, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    """
)


def _import(root: Path, source: Path, *ids: str, timeout: float = 900) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT, str(root), str(source), *ids],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _record(paper_id: str, title: str, abstract: str) -> str:
    return json.dumps({"id": paper_id, "title": title, "source": "test", "abstract": abstract})


def test_50mb_abstract_and_1mb_title(tmp_path: Path) -> None:
    sentence = "A plausible sentence about transformers and diffusion models. "
    huge = (sentence * 20 + "\n") * (50_000_000 // (len(sentence) * 20 + 1))
    source = tmp_path / "huge.jsonl"
    source.write_text(
        "\n".join(
            [
                _record("huge-abstract", "A paper with a huge abstract", huge),
                _record("huge-title", "transformer " * 90_000, "short"),
                _record("normal", "A normal transformer paper", "Fine."),
            ]
        )
        + "\n"
    )
    stats = _import(tmp_path / "lib", source, "huge-abstract", "huge-title")
    assert stats["added"] == 3
    assert stats["seconds"] < 60, stats
    assert stats["rss_mb"] < 1000, stats
    assert stats["search_ms"] < 2000, stats
    title_len, abstract_len, open_seconds = stats["detail"]["huge-abstract"]
    assert abstract_len <= MAX_ABSTRACT and open_seconds < 2, stats
    title_len, _, open_seconds = stats["detail"]["huge-title"]
    assert title_len <= MAX_TITLE and open_seconds < 2, stats


def test_many_papers(tmp_path: Path, long_run: bool) -> None:
    count = 100_000 if long_run else 1_500
    words = [
        "transformer",
        "diffusion",
        "attention",
        "graph",
        "sparse",
        "vision",
        "language",
        "policy",
    ]
    source = tmp_path / "many.jsonl"
    with source.open("w") as fh:
        for i in range(count):
            title = " ".join(words[(i + k) % len(words)] for k in range(6)) + f" number {i}"
            abstract = " ".join(words[(i * k) % len(words)] for k in range(60))
            fh.write(_record(f"gen-{i}", title, abstract) + "\n")
    stats = _import(tmp_path / "lib", source, "gen-0", timeout=1800)
    assert stats["added"] == stats["count"] == count
    # ~3 ms a paper here; generous bounds for slow CI machines. Memory must not grow with
    # the count: batches of 2,000 records, streamed from the file.
    assert stats["seconds"] < count * 0.02 + 30, stats
    assert stats["rss_mb"] < 600, stats
    assert stats["search_ms"] < 3000, stats


@pytest.mark.parametrize("size", [1_000_000])
def test_one_megabyte_single_line_file(tmp_path: Path, size: int) -> None:
    """A file that is one 1 MB line of junk: skipped with a reason, quickly."""
    source = tmp_path / "junk.jsonl"
    source.write_text('{"id": "x", "title": "t", "source": "s", "abstract": "' + "z" * size)
    stats = _import(tmp_path / "lib", source)
    assert stats["added"] == 0 and stats["seconds"] < 10
