"""The format importers: own small fixtures (messy on purpose), the real-world files in
../shared/fixtures (skipped when absent), and property tests on arbitrary input."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperreader.core.errors import ImportFailure
from paperreader.core.importers import (
    Skipped,
    arxiv_atom,
    arxiv_snapshot,
    bibtex,
    csljson,
    formats,
    get_importer,
    guess_format,
    hf_api,
    read_records,
)
from paperreader.core.models import Paper

REPO = Path(__file__).resolve().parents[2]
OWN = REPO / "tests" / "fixtures" / "formats"
SHARED = REPO / ".." / "shared" / "fixtures"

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{name} is not in ../shared/fixtures beside the repository")
    return path


def split(records: list) -> tuple[list[Paper], list[Skipped]]:
    papers = [r for r in records if isinstance(r, Paper)]
    skipped = [r for r in records if isinstance(r, Skipped)]
    assert len(papers) + len(skipped) == len(records)
    return papers, skipped


def by_id(papers: list[Paper]) -> dict[str, Paper]:
    return {p.id: p for p in papers}


def assert_clean(paper: Paper) -> None:
    assert paper.id and paper.title
    for text in [paper.title, paper.abstract, *paper.authors, paper.venue or ""]:
        assert not CONTROL.search(text), repr(text)
    assert "\n" not in paper.title
    assert all(a and "\n" not in a for a in paper.authors)


# -- registry --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("arxiv_small.xml", "arxiv_atom"),
        ("arxiv_error.xml", "arxiv_atom"),
        ("hf_daily_small.json", "hf_api"),
        ("hf_paper_single.json", "hf_api"),
        ("snapshot_small.jsonl", "arxiv_snapshot"),
        ("messy_small.bib", "bibtex"),
        ("zotero_small.json", "csljson"),
    ],
)
def test_guess_format_of_own_fixtures(name: str, fmt: str) -> None:
    assert guess_format(OWN / name) == fmt


def test_registry_keeps_the_older_formats() -> None:
    names = set(formats())
    assert {"jsonl", "hfpage", "hf_api", "arxiv_atom", "arxiv_snapshot", "bibtex"} <= names
    assert "csljson" in names


@pytest.mark.parametrize("fmt", ["hf_api", "arxiv_atom", "arxiv_snapshot", "bibtex", "csljson"])
def test_missing_file_and_directory_raise_import_failure(fmt: str, tmp_path: Path) -> None:
    module = get_importer(fmt)
    with pytest.raises(ImportFailure, match="missing"):
        list(module.read(tmp_path / "missing"))
    with pytest.raises(ImportFailure, match="directory"):
        list(module.read(tmp_path))


@pytest.mark.parametrize("fmt", ["hf_api", "arxiv_atom", "bibtex", "csljson"])
def test_empty_file_is_an_import_failure(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_text("  \n")
    with pytest.raises(ImportFailure, match="empty"):
        list(get_importer(fmt).read(path))


# -- Hugging Face API ------------------------------------------------------------------------
def test_hf_api_small() -> None:
    papers, skipped = split(list(hf_api.read(OWN / "hf_daily_small.json")))
    assert [p.id for p in papers] == ["2410.17243", "2410.18057", "2410.20001"]
    assert [s.reason for s in skipped] == ["no title", "not a JSON object"]
    assert skipped[0].where.endswith("hf_daily_small.json: item 3")
    first = papers[0]
    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert first.authors == ["Zesen Cheng", "Hang Zhang", "Kehan Li", "Lidong Bing"]  # hidden kept
    assert first.abstract.startswith("Contrastive loss is a powerful approach for representation")
    assert "\n\n" in first.abstract and "where larger" in first.abstract
    assert first.published == date(2024, 10, 22)
    assert first.upvotes == 64
    assert first.code_url == "https://github.com/DAMO-NLP-SG/Inf-CLIP"
    assert first.project_url == "https://example.org/inf-clip"
    assert first.keywords == ["contrastive loss", "tile-based computation", "GPU memory"]
    assert first.url == "https://arxiv.org/abs/2410.17243"
    assert first.pdf_url == "https://arxiv.org/pdf/2410.17243"
    assert first.source == "hf_api"
    second = papers[1]
    assert second.authors == ["René Schwonnek", "Only In User"]
    assert second.abstract.endswith("privacy — results & more.")
    third = papers[2]
    assert third.published is None and third.upvotes is None
    for paper in papers:
        assert_clean(paper)


def test_hf_api_single_paper_object() -> None:
    papers, skipped = split(list(hf_api.read(OWN / "hf_paper_single.json")))
    assert not skipped
    assert [(p.id, p.title, p.upvotes) for p in papers] == [
        ("2401.04088", "Mixtral of Experts", 148)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"error": "Invalid date"}', "error: Invalid date"),
        ("[{]", "not valid JSON"),
        ("42", "expected a list"),
    ],
)
def test_hf_api_bad_documents(text: str, message: str) -> None:
    with pytest.raises(ImportFailure, match=message):
        list(hf_api.parse(text, where="answer"))


# -- arXiv Atom ------------------------------------------------------------------------------
def test_arxiv_atom_small() -> None:
    records = list(arxiv_atom.read(OWN / "arxiv_small.xml"))
    papers, skipped = split(records)
    assert [p.id for p in papers] == ["2403.01234", "hep-th/9901001", "2402.00003"]
    assert len(skipped) == 1 and "no title" in skipped[0].reason
    assert re.search(r"arxiv_small\.xml:\d+$", skipped[0].where)
    new = papers[0]
    assert new.title == "Solving the Schrödinger Equation in $O(n^2)$ Time: Theory & Practice"
    assert new.authors == ["Zoë Müller", "José García"]
    assert new.arxiv_id == "2403.01234"
    assert new.doi == "10.1103/PhysRevLett.132.100401"
    assert new.categories == ["quant-ph", "cs.DS"]  # the primary category first
    assert new.published == date(2024, 3, 2)
    assert new.venue == "Phys. Rev. Lett. 132, 100401 (2024)"
    assert new.url == "https://arxiv.org/abs/2403.01234"
    assert new.pdf_url == "https://arxiv.org/pdf/2403.01234"
    assert new.code_url == "https://github.com/example/qsolve"
    assert new.abstract == (
        "We solve the Schrödinger equation for $N$ particles in quadratic time. "
        "Code: https://github.com/example/qsolve.\n\nA second paragraph follows."
    )
    old = papers[1]
    assert old.arxiv_id == "hep-th/9901001"
    assert old.title == "Old-Style Identifiers and Wrapped Titles in String Theory"
    assert old.published == date(1999, 1, 4)
    assert old.categories == ["hep-th"]
    assert old.pdf_url == "https://arxiv.org/pdf/hep-th/9901001"
    controls = papers[2]
    assert controls.title == "A Title with <angle brackets> and a control sequence inside"
    assert len(controls.authors) == 3
    for paper in papers:
        assert_clean(paper)


def test_arxiv_error_feed_is_an_import_failure() -> None:
    with pytest.raises(ImportFailure, match="arXiv API error: incorrect id format for 1234.12345"):
        list(arxiv_atom.read(OWN / "arxiv_error.xml"))


def test_arxiv_empty_feed_is_an_import_failure() -> None:
    with pytest.raises(ImportFailure, match=r"no entries \(totalResults 0\)"):
        list(read_records(OWN / "arxiv_empty.xml"))
    page = arxiv_atom.parse_feed((OWN / "arxiv_empty.xml").read_bytes(), allow_empty=True)
    assert page.total == 0 and page.records == []


def test_arxiv_truncated_feed_keeps_the_entries_before_the_cut() -> None:
    papers, skipped = split(list(arxiv_atom.read(OWN / "arxiv_truncated.xml")))
    assert [p.id for p in papers] == ["2403.01234", "hep-th/9901001"]
    # the blank-title entry is complete before the cut; then the broken one
    assert [s.reason.split(" (")[0] for s in skipped] == [
        "entry http://arxiv.org/abs/2401.00002v1 has no title",
        "feed broken here",
    ]


def test_arxiv_feed_with_a_dtd_is_refused() -> None:
    with pytest.raises(ImportFailure, match="DTD"):
        list(arxiv_atom.read(OWN / "arxiv_doctype.xml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<html><body>Service unavailable</body></html>", "not an Atom feed"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "not a well-formed XML feed"),
        ("this is not xml at all", "not a well-formed"),
    ],
)
def test_arxiv_not_a_feed(text: str, message: str) -> None:
    with pytest.raises(ImportFailure, match=message):
        arxiv_atom.parse_feed(text, where="answer")


# -- arXiv snapshot --------------------------------------------------------------------------
def test_arxiv_snapshot_small() -> None:
    papers, skipped = split(list(arxiv_snapshot.read(OWN / "snapshot_small.jsonl")))
    assert [p.id for p in papers] == ["0704.0001", "0704.0046", "0704.0008", "cs/0112017"]
    where = [s.where.rsplit(":", 1)[1] for s in skipped]
    assert where == ["4", "5", "6", "9"]  # not JSON, null title, not an object, cut-off line
    first = by_id(papers)["0704.0001"]
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert first.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert first.published == date(2007, 4, 2)  # the first version, not update_date
    assert first.venue == "Phys.Rev.D76:013009,2007"
    assert first.doi == "10.1103/PhysRevD.76.013009"
    accents = by_id(papers)["0704.0046"]
    assert accents.authors == ["Ludovic Mathieu", "Jürgen Schütz"]  # affiliation dropped
    assert accents.categories == ["quant-ph", "cs.IT", "math.IT"]
    assert accents.code_url == "https://github.com/example/limit"
    suffix = by_id(papers)["0704.0008"]
    assert suffix.authors == ["Neal J. Evans II", "Damian C. Swift"]
    assert suffix.published == date(2009, 2, 5)  # no versions: update_date
    assert suffix.doi == "10.1063/1.2975338"
    assert by_id(papers)["cs/0112017"].title == "An Old-Style Identifier in Computer Science"
    for paper in papers:
        assert_clean(paper)


@pytest.mark.parametrize(
    ("options", "ids"),
    [
        ({"categories": ["cs.CL"]}, ["cs/0112017"]),
        ({"categories": ["cs"]}, ["0704.0046", "cs/0112017"]),
        ({"categories": ["hep-ph", "cond-mat"]}, ["0704.0001", "0704.0008"]),
        ({"since": date(2007, 4, 2)}, ["0704.0001", "0704.0008"]),
        ({"categories": ["quant-ph"], "since": date(2007, 4, 2)}, []),
    ],
)
def test_arxiv_snapshot_filters(options: dict, ids: list[str]) -> None:
    papers, _ = split(list(read_records(OWN / "snapshot_small.jsonl", **options)))
    assert [p.id for p in papers] == ids


def test_arxiv_snapshot_streams_line_by_line() -> None:
    line = (OWN / "snapshot_small.jsonl").read_text().splitlines()[0]
    endless = itertools.repeat(line.encode())  # never ends: reading all of it would hang
    first = list(itertools.islice(arxiv_snapshot.parse_lines(endless), 3))
    assert [p.id for p in first] == ["0704.0001"] * 3


# -- BibTeX ----------------------------------------------------------------------------------
def test_bibtex_small() -> None:
    records = list(bibtex.read(OWN / "messy_small.bib"))
    papers, skipped = split(records)
    ids = [p.id for p in papers]
    assert ids == [
        "1706.03762",
        "doi:10.1109/tit.1961._0001",
        "1402.6711",
        ids[3],
        ids[4],
        "doi:10.1103/physreva.66.032321",
        "doi:10.1103/physreva.66.022311",
        "2301.00001",
    ]
    reasons = {s.where.rsplit(" ", 1)[1]: s.reason for s in skipped}
    assert set(reasons) == {"(vaswani2017attention)", "(notitle)", "(broken)", "(truncated)"}
    assert "same paper as line 7" in reasons["(vaswani2017attention)"]
    assert reasons["(notitle)"] == "no title"
    assert all(re.search(r"messy_small\.bib:\d+ \(", s.where) for s in skipped)

    vaswani = papers[0]
    assert vaswani.title == "Attention is All you Need"
    assert vaswani.authors[6] == "Łukasz Kaiser" and len(vaswani.authors) == 8
    assert vaswani.venue == "Advances in Neural Information Processing Systems 30"  # @string + #
    assert vaswani.published == date(2017, 12, 1)
    assert vaswani.arxiv_id == "1706.03762" and vaswani.categories == ["cs.CL"]

    renyi = papers[1]
    assert renyi.title == "On Measures of Entropy and Information: Rényi's $\\alpha$-divergences"
    assert renyi.authors == ["Alfréd Rényi"]
    assert renyi.venue == "IEEE Transactions on Information Theory"  # "..." # {...} in @string
    assert renyi.doi == "10.1109/TIT.1961._0001"
    assert renyi.abstract == (
        "We generalise Shannon's entropy to order $\\alpha$ and show that 100% of it is "
        "preserved & more."
    )
    assert renyi.published == date(1961, 6, 1)

    mendeley = papers[2]
    assert mendeley.title == "Operationally-Motivated Rényi Relations with α"
    assert mendeley.authors == [
        "Erwin Schrödinger",
        "Hans Christian Ørsted",
        "Kurt Gödel",
        "Research and Development Team",
    ]
    assert mendeley.keywords == ["uncertainty", "quantum", "measurement"]

    texbook = papers[3]
    assert texbook.title == "The TeXbook" and texbook.published is None
    evans = papers[4]
    assert evans.authors == ["Neal J. Evans II", "Floris van der Tak"]
    assert evans.title == "Quoted title with Braces and a ö umlaut"
    arxiv_doi = papers[-1]
    assert arxiv_doi.published == date(2023, 1, 2)  # biblatex date
    for paper in papers:
        assert_clean(paper)
        assert "{" not in paper.title and "\\" not in paper.title.replace("$\\alpha$", "")


def test_bibtex_with_no_entries_is_an_import_failure() -> None:
    with pytest.raises(ImportFailure, match="no BibTeX entries"):
        bibtex.parse("just some text, no entries", where="x.bib")


def test_bibtex_resolves_concatenation_and_macros() -> None:
    text = '@string{a = "Jour" # {nal}}\n@article{k, title = a # " of " # {Tests}, year = 2000}'
    (paper,) = bibtex.parse(text)
    assert paper.title == "Journal of Tests"


# -- CSL-JSON --------------------------------------------------------------------------------
def test_csljson_small() -> None:
    papers, skipped = split(list(csljson.read(OWN / "zotero_small.json")))
    assert len(papers) == 3
    assert [s.reason for s in skipped] == ["no title", "not a JSON object"]
    assert "(no-title)" in skipped[0].where
    ozawa, vaswani, conf = papers
    assert ozawa.title == "Universally valid reformulation of the Heisenberg uncertainty principle"
    assert ozawa.authors == [
        "Masanao Ozawa",
        "Ludwig van Beethoven",
        "The LIGO Scientific Collaboration",
    ]
    assert ozawa.abstract == "Noise and disturbance & their trade-off, revisited."
    assert ozawa.published == date(2003, 4, 25)
    assert ozawa.venue == "Physical Review A"
    assert ozawa.id == "doi:10.1103/physreva.67.042105"
    assert ozawa.keywords == ["uncertainty", "measurement"]
    assert vaswani.id == "1706.03762" and vaswani.published == date(2017, 6, 12)
    assert conf.published == date(2019, 7, 1)
    assert conf.authors == ["Jörg Müller Jr."]
    assert conf.code_url == "https://github.com/example/confpaper"


# -- the real-world files ---------------------------------------------------------------------
def test_shared_arxiv_atom_feed() -> None:
    path = shared("arxiv_atom_all-testing_100entries_2026.xml")
    assert guess_format(path) == "arxiv_atom"
    papers, skipped = split(list(read_records(path)))
    assert len(papers) == 100 and not skipped
    root = ET.parse(path).getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    raw_authors = [len(e.findall(f"{atom}author")) for e in root.findall(f"{atom}entry")]
    assert [len(p.authors) for p in papers] == raw_authors
    assert sum(raw_authors) == 366
    ids = by_id(papers)
    assert {"cs/0503050", "hep-ph/0301050", "gr-qc/0103067"} <= set(ids)
    assert ids["gr-qc/0103067"].authors == ["Mark P. Haugan", "C. Lämmerzahl"]
    assert sum(1 for p in papers if p.doi) == 32
    assert all(p.categories and p.published for p in papers)
    assert any(p.title.startswith("$ω$Test") for p in papers)  # math kept as written
    for paper in papers:
        assert_clean(paper)


def test_shared_hf_daily_papers() -> None:
    path = shared("hf_daily_papers_2024-10-25.json")
    assert guess_format(path) == "hf_api"
    papers, skipped = split(list(read_records(path)))
    assert len(papers) == 29 and not skipped
    raw = json.loads(path.read_text())
    assert [len(p.authors) for p in papers] == [len(r["paper"]["authors"]) for r in raw]
    assert sum(len(p.authors) for p in papers) == 191
    assert [p.title for p in papers] == [" ".join(r["paper"]["title"].split()) for r in raw]
    assert Counter(p.published for p in papers)[date(2024, 10, 24)] == 19
    assert all(p.upvotes is not None and p.arxiv_id for p in papers)
    for paper in papers:
        assert_clean(paper)


def test_shared_arxiv_snapshot() -> None:
    path = shared("arxiv_kaggle_snapshot_head200.jsonl")
    assert guess_format(path) == "arxiv_snapshot"
    papers, skipped = split(list(read_records(path)))
    assert len(papers) == 200 and not skipped
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert [len(p.authors) for p in papers] == [len(r["authors_parsed"]) for r in raw]
    assert sum(len(p.authors) for p in papers) == 537
    titles = {p.id: p.title for p in papers}
    assert titles["0704.0001"].endswith("at Tevatron and LHC energies")
    assert all("\\" not in a and "{" not in a for p in papers for a in p.authors)
    assert any("Gröbner" in t for t in titles.values())
    cs = [p for p in read_records(path, categories=["cs"]) if isinstance(p, Paper)]
    assert cs and all(any(c.startswith("cs") for c in p.categories) for p in cs)
    for paper in papers:
        assert_clean(paper)


def test_shared_mendeley_bibtex() -> None:
    """942 entries: 940 parse cleanly and 2 repeat a key (hayashi02, polyanskiy10) for a
    *different* paper (other DOI and title), so both are kept: 942 papers, nothing skipped.
    Their ids fall to 932 distinct: the file lists some papers twice under different keys
    (the library merges those). 7 entries have no year and import without a date."""
    path = shared("bibtex_mendeley_messy_942entries.bib")
    assert guess_format(path) == "bibtex"
    papers, skipped = split(list(read_records(path)))
    assert len(papers) == 942 and not skipped
    assert len({p.id for p in papers}) == 932
    assert sum(1 for p in papers if p.published is None) == 7
    raw = path.read_text()
    assert len(re.findall(r"^@\w+\{", raw, re.M)) == 942
    # authors against bibtexparser's own name splitting of the raw file
    import bibtexparser
    from bibtexparser.middlewares import SeparateCoAuthors

    library = bibtexparser.parse_string(raw, append_middleware=[SeparateCoAuthors()])
    entries = list(library.entries)
    for failed in library.failed_blocks:  # middlewares skip failed blocks: parse them alone
        alone = bibtexparser.parse_string(failed.raw, append_middleware=[SeparateCoAuthors()])
        entries.extend(alone.entries)
    assert len(entries) == 942
    expected = 0
    for entry in entries:
        names = entry.fields_dict["author"].value if "author" in entry.fields_dict else []
        expected += len([n for n in names if n.strip().lower() != "others"])
    assert sum(len(p.authors) for p in papers) == expected == 2184
    for paper in papers:
        assert_clean(paper)
        assert "\\" not in re.sub(r"\$[^$]*\$", "", paper.title), paper.title
        assert not re.search(r"[{}]", re.sub(r"\$[^$]*\$", "", paper.title)), paper.title
    titles = {p.title for p in papers}
    assert "Information Causality, Szemerédi-Trotter and Algebraic Variants of CHSH" in titles


# -- properties: nothing but Papers, Skipped or ImportFailure --------------------------------
FUZZ_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SEEDS = {
    "hf_api": "hf_daily_small.json",
    "arxiv_atom": "arxiv_small.xml",
    "arxiv_snapshot": "snapshot_small.jsonl",
    "bibtex": "messy_small.bib",
    "csljson": "zotero_small.json",
}


def _import_bytes(fmt: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input"
        path.write_bytes(data)
        try:
            records = list(get_importer(fmt).read(path))
        except ImportFailure as exc:
            assert "\n" not in str(exc)
            return
    for record in records:
        assert isinstance(record, (Paper, Skipped)), record
        if isinstance(record, Paper):
            assert_clean(record)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@FUZZ_SETTINGS
@given(data=st.binary(max_size=600))
def test_any_bytes(fmt: str, data: bytes) -> None:
    _import_bytes(fmt, data)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@FUZZ_SETTINGS
@given(text=st.text(max_size=400))
def test_any_text(fmt: str, text: str) -> None:
    _import_bytes(fmt, text.encode("utf-8", errors="surrogatepass"))


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@FUZZ_SETTINGS
@given(
    cut=st.integers(min_value=0, max_value=10_000), junk=st.text(max_size=30), pos=st.floats(0, 1)
)
def test_damaged_seed_files(fmt: str, cut: int, junk: str, pos: float) -> None:
    seed = (OWN / SEEDS[fmt]).read_text(encoding="utf-8")
    damaged = seed[: len(seed) - cut % max(len(seed), 1)]
    at = int(len(damaged) * pos)
    damaged = damaged[:at] + junk + damaged[at:]
    _import_bytes(fmt, damaged.encode("utf-8", errors="surrogatepass"))


MENDELEY_URLS = r"""@article{Kos2014,
author = {Kos, Jernej},
eprint = {1311.3887},
title = {{A paper with two pages}},
url = {http://scitation.aip.org/content/aip/journal/jmp/55/8/10.1063/1.4892761 http://arxiv.org/abs/1311.3887},
year = {2014}
}
@article{Lee2015,
author = {Lee, Ann},
doi = {10.1000/xyz},
title = {{Pages on two lines and glued}},
url = {http://example.org/a
http://example.org/b\_chttp://example.org/d},
year = {2015}
}
"""


def test_bibtex_url_fields_holding_several_urls_keep_each_one(tmp_path: Path) -> None:
    from paperreader.core.models import split_urls

    path = tmp_path / "mendeley.bib"
    path.write_text(MENDELEY_URLS, encoding="utf-8")
    papers, skipped = split(list(read_records(path, "bibtex")))
    assert skipped == []
    kos, lee = by_id(papers)["1311.3887"], by_id(papers)["doi:10.1000/xyz"]
    assert kos.urls == [
        "http://scitation.aip.org/content/aip/journal/jmp/55/8/10.1063/1.4892761",
        "http://arxiv.org/abs/1311.3887",
    ]
    assert kos.all_links() == {  # the arXiv page first (never twice), then the others
        "abstract": "https://arxiv.org/abs/1311.3887",
        "link": "http://scitation.aip.org/content/aip/journal/jmp/55/8/10.1063/1.4892761",
        "pdf": "https://arxiv.org/pdf/1311.3887",
    }
    assert lee.urls == ["http://example.org/a", "http://example.org/b_c", "http://example.org/d"]
    assert list(lee.all_links().items()) == [
        ("doi", "https://doi.org/10.1000/xyz"),
        ("abstract", "http://example.org/a"),
        ("link", "http://example.org/b_c"),
        ("link 2", "http://example.org/d"),
    ]
    # A record imported before (one glued url) shows its links apart too.
    old = Paper(id="x", title="x", url="http://arxiv.org/abs/1311.3887http://scitation.aip.org/y")
    assert list(old.all_links().values()) == [
        "http://arxiv.org/abs/1311.3887",
        "http://scitation.aip.org/y",
    ]
    assert split_urls("not a url, https://a.b/c;") == ["https://a.b/c"]
