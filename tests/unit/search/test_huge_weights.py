"""A word said 100,000 times in a note: scores stay finite and ordered, and no warning is
printed (a float16 cast overflowed and numpy wrote a RuntimeWarning over the reader)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_a_huge_note_gives_finite_scores_and_no_warning(library_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import math, warnings
        from paperreader.core.library import Library
        warnings.simplefilter("error")  # any warning fails the run
        with Library({str(library_path)!r}) as lib:
            paper = lib.search("", limit=1).hits[0].id
            lib.set_note(paper, "zebrafish " * 100_000)
            lib.flush()
            hits = lib.search("zebrafish").hits
            assert [h.id for h in hits] == [paper], hits
            assert all(math.isfinite(h.score) for h in hits)
            other = lib.search("", limit=2).hits[1].id
            lib.set_note(other, "zebrafish once")
            lib.flush()
            hits = lib.search("zebrafish").hits
            assert [h.id for h in hits] == [paper, other], [(h.id, h.score) for h in hits]
            assert hits[0].score > hits[1].score and all(math.isfinite(h.score) for h in hits)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
    assert done.stderr == "", done.stderr
