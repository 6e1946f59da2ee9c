"""Typing latency with big full texts in the index: the sample library, then ~20 of its papers
given 300,000-character texts, as-you-type queries (`partial_last=True`) and complete ones.

    PYTHONPATH=src python bench/bench_fulltext_typing.py [--papers 20] [--chars 300000]

Prints, per library state, the median and worst time of `library.search(prefix,
partial_last=True)` over every prefix of a few typed queries (each keystroke), and of the
complete queries, plus the time the indexer took to add the texts. "typing+text" runs the
as-you-type queries with the full text among the fields (what paperreader does not do).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from paperreader.core.fulltext.document import Block, Document, paper_folder
from paperreader.core.library import Library
from paperreader.core.search import query as query_module

TYPED = ["flash attention", "language model reasoning", "diffusion video", "transformer memory"]
COMPLETE = ["attention", "reasoning benchmark", '"language model"', "text:gradient"]


def body_text(chars: int, seed: int) -> str:
    """Realistic-looking prose: the sample's abstracts, shuffled words, to `chars`."""
    import random

    rng = random.Random(seed)
    with Library(Path(tempfile.mkdtemp()) / "words") as lib:
        words = " ".join(p.abstract for p in lib.records.iter_all()).split()
    out, size = [], 0
    while size < chars:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(12, 30))) + "."
        out.append(sentence)
        size += len(sentence) + 1
    return " ".join(out)[:chars]


def timings(library: Library, typing_with_text: bool = False) -> dict[str, float]:
    if typing_with_text:
        parser = library.index._query
        parser._typing_parser = parser._parser
    keys = []
    for text in TYPED:
        for n in range(1, len(text) + 1):
            started = time.perf_counter()
            library.search(text[:n], partial_last=True)
            keys.append((time.perf_counter() - started) * 1000)
    full = []
    for text in COMPLETE:
        library.search(text)
        started = time.perf_counter()
        library.search(text)
        full.append((time.perf_counter() - started) * 1000)
    if typing_with_text:
        parser._typing_parser = parser._make_parser(query_module.TYPING_FIELDS)
    return {
        "keystroke median ms": statistics.median(keys),
        "keystroke p95 ms": sorted(keys)[int(len(keys) * 0.95)],
        "keystroke worst ms": max(keys),
        "complete median ms": statistics.median(full),
        "complete worst ms": max(full),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=20)
    parser.add_argument("--chars", type=int, default=300_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp()) / "library"
    try:
        with Library(root) as library:
            for _ in range(2):  # warm
                timings(library)
            rows = {"no texts": timings(library)}
            ids = [h.id for h in library.search("", limit=args.papers).hits]
            for n, paper_id in enumerate(ids):
                text = body_text(args.chars, n)
                doc = Document(title="", blocks=[Block("paragraph", text)], source="html")
                folder = paper_folder(root, paper_id)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "text.txt").write_text(doc.plain_text(), encoding="utf-8")
                (folder / "text.json").write_text(doc.to_json(), encoding="utf-8")
            library._text_stored(ids, index=False)
            started = time.perf_counter()
            library.run_indexer()
            indexed = time.perf_counter() - started
            for _ in range(2):
                timings(library)
            rows[f"{len(ids)} texts"] = timings(library)
            rows[f"{len(ids)} texts, typing+text"] = timings(library, typing_with_text=True)
            started = time.perf_counter()
            library.reindex()
            rebuild = time.perf_counter() - started
        print(
            f"indexing {len(ids)} texts of {args.chars:,} characters (index capped at "
            f"200,000 each): {indexed:.2f} s; a rebuild of the library: {rebuild:.2f} s"
        )
        names = list(next(iter(rows.values())))
        print(f"{'':28}" + "".join(f"{n:>22}" for n in names))
        for state, row in rows.items():
            print(f"{state:28}" + "".join(f"{row[n]:22.1f}" for n in names))
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
