"""BibTeX export: keys, escaping, arXiv fields, and a round trip through the BibTeX importer."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import bibtexparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperreader.core.exporters import bibtex as exporter
from paperreader.core.importers import arxiv_atom, arxiv_snapshot, bibtex, csljson, hf_api
from paperreader.core.models import Note, Paper, ReadState, UserData, paper_id_for
from paperreader.core.text import clean_line

REPO = Path(__file__).resolve().parents[2]
OWN = REPO / "tests" / "fixtures" / "formats"
SHARED = REPO / ".." / "shared" / "fixtures"


def make(title: str, authors: list[str], **fields: object) -> Paper:
    arxiv_id = fields.get("arxiv_id")
    doi = fields.get("doi")
    return Paper(id=paper_id_for(arxiv_id, doi, title), title=title, authors=authors, **fields)  # type: ignore[arg-type]


def export_text(papers: list[Paper], user=None) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    assert exporter.export(papers, out, user=user) == len(papers)
    return out.getvalue()


def reimport(text: str) -> list[Paper]:
    records = bibtex.parse(text, where="export.bib")
    assert all(isinstance(r, Paper) for r in records), [
        r for r in records if not isinstance(r, Paper)
    ]
    return records  # type: ignore[return-value]


VASWANI = make(
    "Attention Is All You Need",
    ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"],
    arxiv_id="1706.03762",
    published=date(2017, 6, 12),
    categories=["cs.CL", "cs.LG"],
    abstract="The dominant sequence transduction models are based on RNNs.",
    url="https://arxiv.org/abs/1706.03762",
)


def test_key_and_arxiv_fields() -> None:
    text = export_text([VASWANI])
    assert text.startswith("@misc{vaswani2017attention,\n")
    assert "  eprint = {1706.03762},\n" in text
    assert "  archivePrefix = {arXiv},\n" in text
    assert "  primaryClass = {cs.CL},\n" in text
    assert "  author = {Vaswani, Ashish and Shazeer, Noam and Kaiser, Łukasz},\n" in text
    assert "  year = {2017},\n  month = jun,\n" in text
    assert "  url = {https://arxiv.org/abs/1706.03762},\n" in text


def test_keys_are_ascii_unique_and_skip_stopwords() -> None:
    papers = [
        make("The Schrödinger Equation", ["Erwin Schrödinger"], published=date(1926, 1, 1)),
        make(
            "On the Schrödinger Equation, again", ["Erwin Schrödinger"], published=date(1926, 3, 1)
        ),
        make("A Schrödinger Note", ["E. Schrödinger"], published=date(1926, 5, 1)),
        make("Ørsted's Discovery", ["Hans Christian Ørsted"], published=date(1820, 1, 1)),
        make("Untitled authors", [], published=None),
        make("数学", ["佚名"], published=date(2020, 1, 1)),
        make("Old Names", ["Floris van der Tak", "Neal J. Evans II"], published=date(2008, 1, 1)),
    ]
    keys = re.findall(r"^@\w+\{([^,]+),", export_text(papers), re.M)
    assert keys == [
        "schrodinger1926schrodinger",
        "schrodinger1926schrodingerb",
        "schrodinger1926schrodingerc",
        "orsted1820orsted",
        "anonuntitled",
        "anon2020",
        "tak2008old",
    ]
    assert all(re.fullmatch(r"[a-z0-9]+", k) for k in keys)


def test_keys_are_stable() -> None:
    assert export_text([VASWANI, VASWANI]) == export_text([VASWANI, VASWANI])


def test_special_characters_are_escaped_and_math_kept() -> None:
    paper = make(
        "50% of {braces} & #tags_with_underscores ~ ^ \\ in $O(n^{2})$ time",
        ["Zoë Müller"],
        doi="10.1000/a_b%7Bc",
        venue="Journal of Things & Stuff",
    )
    text = export_text([paper])
    assert (
        r"{{50\% of \{braces\} \& \#tags\_with\_underscores \textasciitilde{} "
        r"\textasciicircum{} \textbackslash{} in $O(n^{2})$ time}}" in text
    )
    assert "  journal = {Journal of Things \\& Stuff},\n" in text
    assert text.startswith("@article{")
    assert "Müller, Zoë" in text  # UTF-8 kept
    (back,) = reimport(text)
    assert back.title == paper.title
    assert back.venue == paper.venue
    assert back.doi == paper.doi


def test_a_lone_dollar_is_escaped() -> None:
    paper = make("Answers for $5 a Query", ["A. Author"])
    text = export_text([paper])
    assert r"{{Answers for \$5 a Query}}" in text
    (back,) = reimport(text)
    assert back.title == paper.title


def test_names_bibtex_would_misread_are_braced() -> None:
    paper = make(
        "Collaborations",
        ["The ATLAS Collaboration and Friends", "Google, Inc.", "Plato", "danah boyd"],
    )
    text = export_text([paper])
    assert (
        "{The ATLAS Collaboration and Friends} and {Google, Inc.} and Plato and boyd, danah" in text
    )
    (back,) = reimport(text)
    assert back.authors == paper.authors


def test_user_tags_go_to_keywords() -> None:
    paper = make("Tagged", ["A. Author"], keywords=["diffusion"])
    user = UserData(
        paper_id=paper.id,
        tags=["to-read", "diffusion", "c++"],
        state=ReadState.READING,
        note=Note("mine", datetime(2024, 1, 1), datetime(2024, 1, 1)),
    )
    text = export_text([paper], user=lambda pid: user if pid == paper.id else None)
    assert "  keywords = {diffusion, to-read, c++},\n" in text
    (back,) = reimport(text)
    assert back.keywords == ["diffusion", "to-read", "c++"]


def test_bibtexparser_reads_every_entry_back() -> None:
    papers = [p for p in bibtex.read(OWN / "messy_small.bib") if isinstance(p, Paper)] + [
        p for p in arxiv_atom.read(OWN / "arxiv_small.xml") if isinstance(p, Paper)
    ]
    text = export_text(papers)
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    assert len(library.entries) == len(papers)
    assert len({e.key for e in library.entries}) == len(papers)


def assert_round_trip(papers: list[Paper]) -> None:
    back = reimport(export_text(papers))
    assert [(p.id, p.title, p.authors) for p in back] == [
        (p.id, p.title, p.authors) for p in papers
    ]
    assert [p.abstract for p in back] == [p.abstract for p in papers]
    assert [(p.arxiv_id, p.doi) for p in back] == [(p.arxiv_id, p.doi) for p in papers]
    assert [p.year for p in back] == [p.year for p in papers]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (bibtex, "messy_small.bib"),
        (arxiv_atom, "arxiv_small.xml"),
        (hf_api, "hf_daily_small.json"),
        (arxiv_snapshot, "snapshot_small.jsonl"),
        (csljson, "zotero_small.json"),
    ],
)
def test_round_trip_own_fixtures(module, name: str) -> None:  # type: ignore[no-untyped-def]
    assert_round_trip([p for p in module.read(OWN / name) if isinstance(p, Paper)])


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (bibtex, "bibtex_mendeley_messy_942entries.bib"),
        (arxiv_atom, "arxiv_atom_all-testing_100entries_2026.xml"),
        (hf_api, "hf_daily_papers_2024-10-25.json"),
        (arxiv_snapshot, "arxiv_kaggle_snapshot_head200.jsonl"),
    ],
)
def test_round_trip_shared_fixtures(module, name: str) -> None:  # type: ignore[no-untyped-def]
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{name} is not in ../shared/fixtures beside the repository")
    assert_round_trip([p for p in module.read(path) if isinstance(p, Paper)])


# Text as it reaches the library: already cleaned, so the round trip must give it back exactly.
_letters = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me")
)
_latexish = st.sampled_from(list("aZ0 {}\\$&%#_~^'\"`-.,@=") + ["and", "\\'e", "--", "``"])
_words = st.lists(_letters | _latexish, min_size=1, max_size=25).map("".join)


@settings(max_examples=50, deadline=None)
@given(title=_words, authors=st.lists(_words, max_size=4))
def test_round_trip_any_text(title: str, authors: list[str]) -> None:
    title = clean_line(title)
    authors = [a for a in (clean_line(a) for a in authors) if re.search(r"[^\W_]", a)]
    if not re.search(r"[^\W_]", title):
        return
    paper = make(title, authors)
    (back,) = reimport(export_text([paper]))
    assert (back.title, back.authors) == (paper.title, paper.authors)
