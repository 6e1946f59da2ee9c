"""PDF extraction on the shared real PDFs, and the line-to-block rules on made-up lines."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from paperreader.core.errors import FullTextError, PaperreaderError
from paperreader.core.fulltext.pdf import Line, build_document, extract_pdf

CITESEE = "arxiv_2302.07302v1_citesee_acm_2col.pdf"
MLS = "arxiv_2206.10883v3_multilexsum_1col.pdf"
PAPERMAGE = "papermage_emnlp-demo_acl_2col.pdf"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe]")


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def docs(fulltext_dir: Path) -> dict:
    return {name: extract_pdf(fulltext_dir / name) for name in (CITESEE, MLS, PAPERMAGE)}


def test_titles_pages_and_no_controls(docs: dict) -> None:
    assert docs[CITESEE].title.startswith("CiteSee: Augmenting Citations in Scientific Papers")
    assert docs[MLS].title.startswith("Multi-LexSum: Real-World Summaries")
    assert docs[PAPERMAGE].title.startswith("PaperMage: A Unified Toolkit")
    assert [docs[n].pages for n in (CITESEE, MLS, PAPERMAGE)] == [15, 37, 13]
    for doc in docs.values():
        assert doc.source == "pdf"
        assert not CONTROLS.search(doc.plain_text())
        assert not re.search("[ﬁﬂﬀﬃﬄ]", doc.plain_text())


def test_headings_numbered_and_in_order(docs: dict) -> None:
    heads = [(b.number, b.text) for _, b in docs[PAPERMAGE].headings()]
    assert heads[:4] == [
        ("", "Abstract"),
        ("1", "Introduction"),
        ("2", "Related Work"),
        ("2.1", "Turn-key software for scientific documents"),
    ]
    assert ("3.1", "Representing and manipulating visually-rich documents with magelib") in heads
    assert ("", "References") in heads
    levels = {b.number: b.level for _, b in docs[MLS].headings()}
    assert levels["2"] == 1 and levels["2.1"] == 2
    cite = [b.text for _, b in docs[CITESEE].headings()]
    assert cite.index("INTRODUCTION") < cite.index("RELATED WORK") < cite.index("REFERENCES")


def test_running_headers_page_numbers_and_stamp_are_gone(docs: dict) -> None:
    text = docs[CITESEE].plain_text()
    assert "Germany Chang et al." not in text
    assert "arXiv:2302.07302v1 [cs.HC]" not in text
    bare = [b.text for b in docs[MLS].blocks if re.fullmatch(r"\d{1,2}", b.text)]
    assert len(bare) <= 3  # digits in figures may stay; 37 page numbers must not


def test_sentences_across_lines_columns_and_hyphens(docs: dict) -> None:
    text = squash(docs[PAPERMAGE].plain_text())
    assert "there is increasing interest in developing new tools for extracting knowledge" in text
    assert "an open-source Python toolkit for processing scientific documents" in text
    # runs from column 1 past the footnotes and the figure into column 2
    assert "interactive clipping and synthesis (Kang et al., 2022, 2023) and more. Further," in text
    cite = squash(docs[CITESEE].plain_text())
    assert "One challenge is that even though there is some relationship between all" in cite
    assert "citing paper, only a subset of them will be relevant" in cite


def test_references_and_captions(docs: dict) -> None:
    refs = [b.text for b in docs[CITESEE].blocks if b.kind == "reference"]
    assert len(refs) == 65 and refs[0].startswith("[1] ") and refs[-1].startswith("[65] ")
    mls = [b.text for b in docs[MLS].blocks if b.kind == "reference"]
    assert mls[0].startswith("[1] Iz Beltagy") and mls[-1].startswith("[64] ")
    pm = [b.text for b in docs[PAPERMAGE].blocks if b.kind == "reference"]
    assert pm[0].startswith("Waleed Ammar") and 60 < len(pm) < 90
    captions = [b.text for b in docs[PAPERMAGE].blocks if b.kind == "caption"]
    assert any(
        c.startswith("Figure 1: papermage’s document creation and representation.")
        for c in captions
    )


def test_extraction_is_fast(fulltext_dir: Path) -> None:
    start = time.perf_counter()
    extract_pdf(fulltext_dir / MLS)
    assert time.perf_counter() - start < 2.0  # ~0.1 s measured for 37 pages


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad_encrypted_libreoffice-writer-password.pdf", "the PDF is encrypted"),
        ("bad_image-only_docling_ocr_test.pdf", "has no text layer (scanned?"),
        ("SOURCES.md", "is not a PDF or is damaged"),
    ],
)
def test_bad_files_fail_in_one_line(fulltext_dir: Path, name: str, says: str) -> None:
    with pytest.raises(FullTextError) as caught:
        extract_pdf(fulltext_dir / name)
    message = str(caught.value)
    assert isinstance(caught.value, PaperreaderError)
    assert message.startswith(name + ":") and says in message and "\n" not in message


def test_a_truncated_pdf_fails_or_reads_what_it_can(fulltext_dir: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    cut.write_bytes((fulltext_dir / PAPERMAGE).read_bytes()[:300_000])
    try:
        doc = extract_pdf(cut)
    except FullTextError as exc:
        assert "\n" not in str(exc)
    else:
        assert doc.pages == 13


def test_the_corrupt_zen_pdf_is_read(fulltext_dir: Path) -> None:
    doc = extract_pdf(fulltext_dir / "bad_corrupt_zen_of_python_corrupted.pdf")
    assert "Beautiful is better than ugly." in doc.plain_text()


# -- rules on made-up lines --------------------------------------------------------------------
def line(text: str, top: float, left: float = 72, page: int = 0, size: float = 10, **kw) -> Line:
    return Line(
        text, page, left, kw.pop("right", 520), top - size, top, size, kw.pop("bold", False), **kw
    )


def test_dehyphenation_keeps_real_compounds() -> None:
    pages = [
        [
            line("A first para with knowl", 700, hyphen=True),
            line("edge and a state-of-the", 688, hyphen=True),
            line("art method, open", 676, hyphen=True),
            line("source code, and GRO", 664, hyphen=True),
            line("BID tools.", 652, right=200),
        ]
    ]
    (block,) = build_document(pages).blocks
    assert (
        block.text
        == "A first para with knowledge and a state-of-the-art method, open-source code, and GRO-BID tools."
    )


def test_headings_headers_and_page_numbers_on_made_up_pages() -> None:
    names = ["Introduction", "Method", "Results", "Discussion", "Conclusion"]
    pages = []
    for n, name in enumerate(names):
        body = [
            line(f"Body text {w} of page {n}.", 680 - 12 * k, page=n)
            for k, w in enumerate("abcdef")
        ]
        header = line("Journal of Things, 2024", 780, size=8, page=n)
        heading = line(f"{n + 1} {name}", 700, bold=True, page=n)
        pages.append([header, heading, *body, line(str(n + 1), 40, page=n, size=8)])
    doc = build_document(pages)
    heads = [(b.number, b.text, b.level) for _, b in doc.headings()]
    assert heads == [(str(n + 1), name, 1) for n, name in enumerate(names)]
    assert "Journal of Things" not in doc.plain_text()
    assert not any(b.text.isdigit() for b in doc.blocks)
