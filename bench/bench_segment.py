"""One indexing worker's segment in one process: its time and resident memory by phase.

The first N papers of a library (as a worker gets them: chunks of 500 pickled documents) go
through bulk.SegmentBuilder, then the segment is written; the resident size is sampled every
3 ms and its peak reported for each phase (the postings' sort, their emission, the positions
file). `heap.settle()` first, as a worker inherits it from the indexer.

    python bench/bench_segment.py --library /tmp/lib100k --papers 30000
"""

from __future__ import annotations

import argparse
import gc
import itertools
import pickle
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from whoosh import index as whoosh_index  # noqa: E402

from paperreader.core import heap  # noqa: E402
from paperreader.core.records import Records  # noqa: E402
from paperreader.core.search import bulk, positions, whoosh_patches, workers  # noqa: E402
from paperreader.core.search.schema import document, make_schema  # noqa: E402


def _resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--papers", type=int, default=workers.SEGMENT_DOCS)
    args = parser.parse_args(argv)
    whoosh_patches.install()
    heap.settle()
    phase = ["load"]
    peaks: dict[str, float] = {}

    def sample() -> None:
        while True:
            peaks[phase[0]] = max(peaks.get(phase[0], 0.0), _resident_mb())
            time.sleep(0.003)

    threading.Thread(target=sample, daemon=True).start()
    papers = list(itertools.islice(Records(args.library / "papers.db").iter_all(), args.papers))
    chunks = [
        pickle.dumps([document(p, None) for p in papers[i : i + workers.FEED_CHUNK]])
        for i in range(0, len(papers), workers.FEED_CHUNK)
    ]
    del papers
    gc.collect()
    phase[0] = "chunks ready"
    time.sleep(0.1)
    ix = whoosh_index.create_in(tempfile.mkdtemp(), make_schema())
    builder = bulk.SegmentBuilder(ix.schema, ix.storage, workers.codec(), ix.indexname)
    phase[0] = "add"
    started = time.perf_counter()
    for chunk in chunks:
        for doc in pickle.loads(chunk):
            builder.add(doc)
    added = time.perf_counter() - started
    phase[0] = "added"
    time.sleep(0.05)
    grouped, write_positions = bulk._Postings.grouped, positions.Gatherer.write

    def phased_grouped(self, keep=None) -> Iterator:  # type: ignore[no-untyped-def]
        phase[0] = "write: sort"
        for n, item in enumerate(grouped(self, keep)):
            if n == 0:
                phase[0] = "write: emit"
            yield item

    def phased_positions(self, *a, **k) -> None:  # type: ignore[no-untyped-def]
        phase[0] = "write: positions file"
        write_positions(self, *a, **k)

    bulk._Postings.grouped = phased_grouped  # type: ignore[method-assign]
    positions.Gatherer.write = phased_positions  # type: ignore[method-assign]
    phase[0] = "write"
    started = time.perf_counter()
    builder.write()
    written = time.perf_counter() - started
    phase[0] = "done"
    time.sleep(0.05)
    print(f"{len(builder):,} papers: add {added:.2f} s, write {written:.2f} s")
    for name, peak in peaks.items():
        print(f"  {name:24s} {peak:7.1f} MB resident at most")
    return 0


if __name__ == "__main__":
    sys.exit(main())
