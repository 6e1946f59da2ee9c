"""LaTeXML HTML on the shared real pages: sections in order, sentences whole, maths as Unicode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperreader.core.errors import FullTextError
from paperreader.core.fulltext.html import extract_html

ASTRO = "latexml_astro_ml_plain_2023.html"
SPLIT = "latexml_split_cycle_arxiv-feedback-proto_2022.html"
SSH = "latexml_ssh_superconductivity_nosections_jinja-raw_2023.html"
RAW_LATEX = re.compile(r"\\[a-zA-Z]{2,}|\\[{}]|%s")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def docs(fulltext_dir: Path) -> dict:
    return {name: extract_html(fulltext_dir / name) for name in (ASTRO, SPLIT, SSH)}


def test_titles(docs: dict) -> None:
    assert docs[ASTRO].title == "Analyzing Astronomical Data with Machine Learning Techniques"
    assert docs[SPLIT].title == "An Axiomatic Characterization of Split Cycle"
    assert docs[SSH].title.startswith(
        "High-temperature superconductivity induced by the Su-Schrieffer"
    )
    assert all(doc.source == "html" and doc.pages == 0 for doc in docs.values())


def test_sections_in_order_with_numbers_and_levels(docs: dict) -> None:
    heads = [(b.number, b.text, b.level) for _, b in docs[ASTRO].headings()]
    assert heads[:4] == [
        ("", "Abstract", 1),
        ("1", "Introduction", 1),
        ("2", "Review; Popular Classification Algorithms", 1),
        ("2.1", "Linear regression", 2),
    ]
    assert [h[0] for h in heads if h[0]] == [
        "1",
        "2",
        *[f"2.{i}" for i in range(1, 8)],
        "3",
        "4",
        "5",
        "6",
    ]
    assert heads[-1][1] == "References"
    split = [b.text for _, b in docs[SPLIT].headings()]
    order = [
        "Introduction",
        "Preliminaries",
        "Split Cycle",
        "Ballots with Ties",
        "Conclusion",
        "References",
    ]
    assert [split.index(t) for t in order] == sorted(split.index(t) for t in order)
    ssh = [(b.number, b.text) for _, b in docs[SSH].headings()]
    assert ("", "References") in ssh and ("A", "Supplemental Material") in ssh


def test_known_sentences_are_whole(docs: dict) -> None:
    assert (
        "One of the most popular branches of ML is Supervised Learning (Jain, 1999)."
        in docs[ASTRO].plain_text()
    )
    assert (
        "Experimental quest for high-temperature and room-temperature superconductivity (SC) at "
        "ambient pressure has been a long-standing research theme in physics."
        in docs[SSH].plain_text()
    )


def test_maths_become_unicode(docs: dict) -> None:
    split = docs[SPLIT].plain_text()
    assert "wherein for candidates c₁,…,cₙ, a majority of voters prefer c₁ to c₂" in split
    assert "A (linear) profile is a function 𝐏:V → ℒ(X)" in split
    assert "ω_D and λ are phonon frequency and EPC strength" in docs[SSH].plain_text()
    for doc in docs.values():
        text = doc.plain_text()
        assert not RAW_LATEX.search(text), RAW_LATEX.search(text)
        assert not CONTROLS.search(text)
        assert "italic_" not in text and "start_POSTSUBSCRIPT" not in text  # no MathML soup


def test_references_footnotes_items_captions(docs: dict) -> None:
    kinds = {name: [b.kind for b in doc.blocks] for name, doc in docs.items()}
    assert kinds[ASTRO].count("reference") == 14
    assert kinds[SPLIT].count("reference") == 37
    assert kinds[SSH].count("reference") == 86
    assert kinds[SPLIT].count("footnote") == 8
    notes = [b.text for b in docs[SPLIT].blocks if b.kind == "footnote"]
    assert notes[0].startswith("1 Eppley’s (2000) “Beatpath Criterion Method”")
    items = [b.text for b in docs[SPLIT].blocks if b.kind == "list_item"]
    assert items[0].startswith(
        "1. For each majority cycle, identify the pairwise majority victories"
    )
    captions = [b.text for b in docs[SSH].blocks if b.kind == "caption"]
    assert captions[0].startswith("Figure 1: (a) Quantum phase diagram of the SSH model")


def test_scripts_styles_and_navigation_are_dropped(docs: dict) -> None:
    text = docs[SPLIT].plain_text()
    assert "function(" not in text and "{display" not in text
    assert "Report issue" not in text


def test_bytes_work_too(fulltext_dir: Path) -> None:
    doc = extract_html((fulltext_dir / ASTRO).read_bytes())
    assert doc.title.startswith("Analyzing Astronomical Data")


@pytest.mark.parametrize(
    "page", [b"", b"   \n", b"<html></html>", b"<html><head><title>x</title></head></html>"]
)
def test_empty_pages_fail_in_one_line(page: bytes) -> None:
    with pytest.raises(FullTextError) as caught:
        extract_html(page)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("the page:")


def test_hostile_text_is_cleaned() -> None:
    page = (
        b"<html><body><article class='ltx_document'><h1 class='ltx_title ltx_title_document'>T</h1>"
        b"<p class='ltx_p'>Hello \x1b]52;c;aGk=\x07world <math alttext='\\alpha^2'>junk</math>"
        b"<script>alert(1)</script></p></article></body></html>"
    )
    doc = extract_html(page)
    assert doc.blocks[0].text == "Hello world α²"
