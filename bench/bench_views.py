"""Time every view's unread and new counts (core/views.ViewCounts through Library.count_views)
on a generated library: cold (all counted), cached, after one bookmark, after an import.

    python bench/corpus.py --count 100000 --library bench/libraries/100k
    python bench/bench_views.py bench/libraries/100k
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from paperreader.core.library import Library
from paperreader.core.models import Paper

WORST = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # days back: 1 makes every paper new
SAVED = {
    "diffusion": "diffusion model",
    "llm-serving": "llm inference serving",
    "2024": "date:2024",
    "attention-title": "title:attention",
    "quant-not-vision": "quantization NOT vision",
}


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn()
    return (time.perf_counter() - started) * 1000, out


def main(root: str) -> None:
    lib = Library(Path(root))
    print(f"{lib.count():,} papers")
    lib.search("warm", limit=1)
    for name, query in SAVED.items():
        lib.save_view(name, query)
    yesterday = datetime.now(timezone.utc) - timedelta(days=WORST)
    for view in lib.views.all():
        if view.name not in ("new", "for-you", "all"):
            lib.views.touch(view.name, yesterday)
    lib.views.touch("all", yesterday)
    lib.begin_visit()
    views = lib.views.all()
    cold, counts = timed(lambda: lib.count_views(views))
    print(f"cold, {len(views)} views: {cold:.0f} ms")
    for name, c in counts.items():
        print(f"  {name:<18} unread {c.unread:>7,}  new {c.new:>5,}")
    cached = min(timed(lambda: lib.count_views(views))[0] for _ in range(5))
    print(f"cached (nothing changed): {cached:.1f} ms")
    pid = lib.search("diffusion", limit=1).hits[0].id
    lib.toggle_bookmark(pid)
    after_change, _ = timed(lambda: lib.count_views(views))
    print(f"after one bookmark (all stale): {after_change:.0f} ms")
    lib.toggle_bookmark(pid)
    lib.add_papers([Paper(id=f"bench-new-{n}", title=f"diffusion paper {n}") for n in range(20)])
    lib.papers_added()
    after_import, counts = timed(lambda: lib.count_views(views))
    print(f"after importing 20 papers: {after_import:.0f} ms (new: {counts['new'].new})")
    per_view = []
    for view in views:
        lib.view_counts.forget()
        per_view.append((timed(lambda v=view: lib.count_views([v]))[0], view.name))
    print("slowest views:", ", ".join(f"{n} {t:.0f} ms" for t, n in sorted(per_view)[-4:]))
    for name in SAVED:
        lib.remove_view(name)
    lib.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
