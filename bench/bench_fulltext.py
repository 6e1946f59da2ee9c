"""Full-text extraction timings: pypdfium2 (raw and our extractor) vs pypdf, and the HTML pages.

    PYTHONPATH=src python bench/bench_fulltext.py [--fixtures ../shared/fixtures/fulltext] [--runs 3]

Each measurement runs in a fresh process (imports and caches do not leak between libraries);
the median of --runs extractions is printed with pages, characters and file size. pypdf is
optional (`pip install .[bench]`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

PDFS = [
    "arxiv_2302.07302v1_citesee_acm_2col.pdf",
    "arxiv_2206.10883v3_multilexsum_1col.pdf",
    "papermage_emnlp-demo_acl_2col.pdf",
]
HTMLS = [
    "latexml_astro_ml_plain_2023.html",
    "latexml_split_cycle_arxiv-feedback-proto_2022.html",
    "latexml_ssh_superconductivity_nosections_jinja-raw_2023.html",
]
METHODS = ["pypdfium2-raw", "extract_pdf", "pypdf"]


def run_one(method: str, path: str, runs: int) -> dict:
    """In this process: time `runs` extractions of `path` with `method`."""
    times, pages, chars = [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        if method == "pypdfium2-raw":
            import pypdfium2 as pdfium

            pdf = pdfium.PdfDocument(path)
            text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
            pages, chars = len(pdf), len(text)
            pdf.close()
        elif method == "pypdf":
            from pypdf import PdfReader

            reader = PdfReader(path)
            text = "".join(page.extract_text() for page in reader.pages)
            pages, chars = len(reader.pages), len(text)
        elif method == "extract_pdf":
            from paperreader.core.fulltext.pdf import extract_pdf

            doc = extract_pdf(path)
            pages, chars = doc.pages, len(doc.plain_text())
        elif method == "extract_html":
            from paperreader.core.fulltext.html import extract_html

            doc = extract_html(path)
            chars = len(doc.plain_text())
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "first_s": times[0],
        "pages": pages,
        "chars": chars,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    found = (d / "shared" / "fixtures" / "fulltext" for d in Path(__file__).resolve().parents)
    default = next((d for d in found if d.is_dir()), Path("../shared/fixtures/fulltext"))
    parser.add_argument("--fixtures", type=Path, default=default)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # method path (child process)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.runs)))
        return
    jobs = [(m, name) for name in PDFS for m in METHODS] + [("extract_html", n) for n in HTMLS]
    print(
        f"{'file':58} {'method':14} {'median s':>9} {'first s':>8} {'pages':>5} {'chars':>8} {'bytes':>10}"
    )
    for method, name in jobs:
        path = args.fixtures / name
        if not path.exists():
            print(f"{name:58} missing")
            continue
        child = subprocess.run(
            [sys.executable, __file__, "--runs", str(args.runs), "--one", method, str(path)],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            print(f"{name:58} {method:14} failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(child.stdout)
        print(
            f"{name:58} {method:14} {r['median_s']:9.3f} {r['first_s']:8.3f} {r['pages']:5} "
            f"{r['chars']:8} {path.stat().st_size:10,}"
        )


if __name__ == "__main__":
    main()
