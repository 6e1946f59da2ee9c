"""Reading the whole paper end to end: `attach`, `read`, full-text search, `fetch text` (a local
replay server), bad files, and LaTeX shown as Unicode wherever titles and abstracts are printed.

The real files are the shared fixtures (`shared/fixtures` found by walking up from this file),
never copied into the repository; the tests that need them skip when they are absent."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperreader.cli import commands
from paperreader.core import fetch
from paperreader.core.fulltext import files
from paperreader.core.library import Library
from paperreader.core.models import Paper
from replay_server import Server, closed_port


def find_shared() -> Path | None:
    """`shared/fixtures` in the nearest folder above this file that has one."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "fixtures").is_dir():
            return folder / "shared" / "fixtures"
    return None


SHARED = find_shared()


@pytest.fixture
def shared() -> Path:
    if SHARED is None:
        pytest.skip("shared/fixtures is not present beside the repository")
    return SHARED


@pytest.fixture
def fulltext(shared: Path) -> Path:
    if not (shared / "fulltext").is_dir():
        pytest.skip("shared/fixtures/fulltext is not present")
    return shared / "fulltext"


@pytest.fixture
def lone(library_path: Path) -> str:
    """A paper of the sample library (no arXiv id) with nothing attached."""
    with Library(library_path) as lib:
        return lib.search("", limit=1).hits[0].id


# file, its section titles in order (the first few), a sentence of its body, a phrase of it
REAL = [
    (
        "latexml_astro_ml_plain_2023.html",
        ["Abstract", "Introduction", "Review; Popular Classification Algorithms"],
        "Simple linear regression is a type of regression analysis where there is one "
        "independent variable",
        "one independent variable",
    ),
    (
        "latexml_split_cycle_arxiv-feedback-proto_2022.html",
        ["Abstract", "Introduction", "Preliminaries", "VCCRs and VSCCs", "Split Cycle"],
        "Recently Holliday and Pacuit (2021a) have characterized the Split Cycle rule using "
        "six axioms",
        "characterized the split cycle rule",
    ),
    (
        "latexml_ssh_superconductivity_nosections_jinja-raw_2023.html",
        ["Abstract", "References", "Supplemental Material"],
        "In this Letter, we perform large-scale QMC simulations of the square lattice SSH "
        "model at finite doping",
        "square lattice SSH model",
    ),
    (
        "arxiv_2302.07302v1_citesee_acm_2col.pdf",
        ["ABSTRACT", "CCS CONCEPTS", "KEYWORDS", "INTRODUCTION", "RELATED WORK"],
        "Science builds on the past work of others. Researchers draw from prior work to "
        "synthesize existing knowledge",
        "draw from prior work to synthesize",
    ),
    (
        "arxiv_2206.10883v3_multilexsum_1col.pdf",
        ["Abstract", "Introduction", "Related work"],
        "Success in summarization automation would allow the Clearinghouse",
        "summarization automation would allow",
    ),
    (
        "papermage_emnlp-demo_acl_2col.pdf",
        ["Abstract", "Introduction", "Related Work"],
        "Research papers and textbooks are central to the scientific enterprise",
        "central to the scientific enterprise",
    ),
]


@pytest.mark.parametrize(("name", "heads", "sentence", "phrase"), REAL, ids=[r[0] for r in REAL])
def test_attach_then_read_and_search(  # type: ignore[no-untyped-def]
    run, lone: str, fulltext: Path, name: str, heads: list[str], sentence: str, phrase: str
) -> None:
    code, out, err = run("attach", lone, str(fulltext / name))
    assert code == 0, err
    assert out.startswith(f"{lone}: {'PDF' if name.endswith('.pdf') else 'HTML'}")

    code, out, _ = run("read", lone)
    assert code == 0 and sentence in out
    at = 0
    for head in heads:  # each a line of its own (numbered or not), in this order
        found = re.compile(rf"(?m)^(?:[\w.]+ )?{re.escape(head)}$").search(out, at)
        assert found, head
        at = found.end()

    code, out, _ = run("read", lone, "--json")
    sections = json.loads(out)["sections"]
    assert [s["title"] for s in sections if s["title"]][: len(heads)] == heads
    assert {"number", "title", "level", "text"} <= set(sections[1])
    assert any(sentence in s["text"] for s in sections)

    code, out, _ = run("search", f'"{phrase}"', "--json")  # a phrase of the body
    hits = json.loads(out)["hits"]
    assert hits and hits[0]["id"] == lone
    assert hits[0]["snippet"]["matches"], hits[0]  # matched only in the full text: where

    word = phrase.split()[-1]
    code, out, _ = run("search", f"text:{word}", "--json")
    assert lone in [h["id"] for h in json.loads(out)["hits"]]

    code, out, _ = run("show", lone)
    assert "full text: " + ("PDF" if name.endswith(".pdf") else "HTML") in out
    data = json.loads(run("show", lone, "--json")[1])
    assert data["full_text"]["source"] in ("pdf", "html") and data["full_text"]["text_chars"] > 0


def test_full_text_ranks_below_the_title_and_plain_search_prints_a_snippet(  # type: ignore[no-untyped-def]
    run, library_path: Path, fulltext: Path
) -> None:
    with Library(library_path) as lib:
        first, second = [h.id for h in lib.search("", limit=2).hits]
        word = lib.get(second).title.split()[0].strip(":,").lower()
    run("attach", first, str(fulltext / "latexml_astro_ml_plain_2023.html"))
    code, out, err = run("search", "photometric")  # a word of that text alone
    assert code == 0 and first in out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if first in line)
    assert "photometric" in lines[at + 1].lower()  # the snippet line under the hit
    # A word of another paper's title ranks that paper above a full text that has it too.
    code, out, _ = run("search", word, "--json")
    ids = [h["id"] for h in json.loads(out)["hits"]]
    assert second in ids and (first not in ids or ids.index(second) < ids.index(first))


def test_the_as_you_type_query_leaves_the_full_text_out(library_path: Path, fulltext: Path) -> None:
    with Library(library_path) as lib:
        pid = lib.search("", limit=1).hits[0].id
        lib.attach(pid, fulltext / "latexml_split_cycle_arxiv-feedback-proto_2022.html")
        assert pid in [h.id for h in lib.search("holliday pacuit").hits]
        assert pid not in [h.id for h in lib.search("holliday pacuit", partial_last=True).hits]
        assert pid in [h.id for h in lib.search("text:pacuit", partial_last=True).hits]


def test_a_rebuild_reads_the_texts_again(library_path: Path, fulltext: Path) -> None:
    with Library(library_path) as lib:
        pid = lib.search("", limit=1).hits[0].id
        lib.attach(pid, fulltext / "papermage_emnlp-demo_acl_2col.pdf")
        lib.reindex()
        assert [h.id for h in lib.search('"central to the scientific enterprise"').hits] == [pid]
        assert lib.remove_text(pid)
        assert lib.search('"central to the scientific enterprise"').total == 0


BAD = [
    ("bad_encrypted_libreoffice-writer-password.pdf", "encrypt"),
    ("bad_image-only_docling_ocr_test.pdf", "OCR"),
    ("bad_corrupt_zen_of_python_corrupted.pdf", ""),
    ("latexml_astro_ml_plain_2023.html", "cut short"),  # cut short below
    ("head-only.html", "head-only.html: the HTML page has no body"),  # written below
]


@pytest.mark.parametrize(("name", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_one_line_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    run, lone: str, library_path: Path, fulltext: Path, tmp_path: Path, name: str, says: str
) -> None:
    source = fulltext / name
    if name.startswith("latexml"):  # a truncated download: the first 2,000 bytes
        source = tmp_path / "cut.html"
        source.write_bytes((fulltext / name).read_bytes()[:2000])
    elif name == "head-only.html":  # an HTML page without a body
        source = tmp_path / name
        source.write_text("<!DOCTYPE html><html><head><title>T</title></head></html>")
    code, out, err = run("attach", lone, str(source))
    if code == 0:  # the corrupt PDF may keep a partial text: then it is stored whole
        assert name.startswith("bad_corrupt")
        return
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("paperreader: ")]
    assert len(lines) == 1 and says.lower() in lines[0].lower(), err
    assert not files.has_text(library_path, lone)
    assert not (library_path / "files" / lone).exists()
    code, out, _ = run("show", lone)
    assert code == 0 and "full text: none" in out  # still shows its abstract
    assert run("read", lone)[0] == 1


def test_not_a_pdf_and_a_missing_file(run, lone: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "notes.pdf"
    junk.write_text("just some words\n")
    code, _, err = run("attach", lone, str(junk))
    assert code == 1 and "neither a PDF nor an HTML page" in err and len(err.splitlines()) == 1
    code, _, err = run("attach", lone, str(tmp_path / "nope.pdf"))
    assert code == 1 and "cannot read the file" in err
    code, _, err = run("attach", "no-such-paper", str(junk))
    assert code == 1 and "no paper" in err


# -- fetch text (a local replay server) ----------------------------------------------------------
ARXIV = "2302.07302"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)
    srv = Server()
    monkeypatch.setenv("PAPERREADER_ARXIV_FILES_URL", srv.url)
    yield srv
    srv.close()


@pytest.fixture
def arxiv_paper(library_path: Path) -> str:
    with Library(library_path) as lib:
        lib.add_papers([Paper(id=ARXIV, title="CiteSee", arxiv_id=ARXIV, abstract="Citations.")])
    return ARXIV


def test_fetch_text_html(run, server: Server, fulltext: Path, arxiv_paper: str) -> None:  # type: ignore[no-untyped-def]
    page = (fulltext / "latexml_astro_ml_plain_2023.html").read_bytes()
    server.script[f"/html/{ARXIV}"] = [(200, page)]
    code, out, err = run("fetch", "text", arxiv_paper)
    assert code == 0, err
    assert out.startswith(f"{ARXIV}: HTML")
    assert [r["path"] for r in server.requests] == [f"/html/{ARXIV}"]
    assert ARXIV in run("search", '"one independent variable"')[1]


def test_fetch_text_html_404_then_pdf(
    run, server: Server, fulltext: Path, arxiv_paper: str
) -> None:  # type: ignore[no-untyped-def]
    server.script[f"/pdf/{ARXIV}"] = [
        (200, (fulltext / "papermage_emnlp-demo_acl_2col.pdf").read_bytes())
    ]
    code, out, err = run("fetch", "text", arxiv_paper)
    assert code == 0, err
    assert out.startswith(f"{ARXIV}: PDF, 13 pages")
    assert [r["path"] for r in server.requests] == [f"/html/{ARXIV}", f"/pdf/{ARXIV}"]
    assert ARXIV in run("search", "text:papermage")[1]


def test_fetch_text_both_404(run, server: Server, library_path: Path, arxiv_paper: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("fetch", "text", arxiv_paper)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "neither HTML nor a PDF" in err
    assert not files.has_text(library_path, ARXIV)


def test_fetch_text_offline(
    run, monkeypatch: pytest.MonkeyPatch, library_path: Path, arxiv_paper: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)
    monkeypatch.setenv("PAPERREADER_ARXIV_FILES_URL", f"http://127.0.0.1:{closed_port()}")
    code, out, err = run("fetch", "text", arxiv_paper)
    assert code == 1 and out == "" and len(err.splitlines()) == 1, err
    assert not files.has_text(library_path, ARXIV)
    assert "Citations." in run("show", ARXIV)[1]  # the abstract is still there


def test_fetch_text_without_an_arxiv_id(run, lone: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("fetch", "text", lone)
    assert code == 1 and "no arXiv id" in err and len(err.splitlines()) == 1


# -- LaTeX shown as Unicode ------------------------------------------------------------------------
IMPORTS = [
    "arxiv_atom_all-testing_100entries_2026.xml",
    "arxiv_kaggle_snapshot_head200.jsonl",
    "hf_daily_papers_2024-10-25.json",
    "bibtex_mendeley_messy_942entries.bib",
]
RAW_LATEX = re.compile(r"\$[^$]*\$|\\[A-Za-z]+|--")


def test_show_prints_at_most_one_percent_of_titles_and_abstracts_with_raw_latex(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every real paper of the shared fixtures, imported into a fresh library: `show` prints
    its title (first line) and abstract (after the first blank line); count those that keep
    `$…$`, a `\\command` or `--`."""
    missing = [name for name in IMPORTS if not (shared / name).is_file()]
    if missing:
        pytest.skip(f"not in shared/fixtures: {', '.join(missing)}")
    with Library(tmp_path / "lib", seed=False) as lib:
        for name in IMPORTS:
            lib.import_path(shared / name, index=False)
        monkeypatch.setattr(commands, "open_library", lambda args: lib)
        printed = raw = 0
        examples = []
        for paper in lib.records.iter_all():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                commands.cmd_show(argparse.Namespace(id=paper.id, json=False))
            lines = out.getvalue().splitlines()
            title, abstract = lines[0], "\n".join(lines[lines.index("") + 1 :])
            for text in (title, abstract):
                if not text.strip() or text == "(no abstract)":
                    continue
                printed += 1
                if RAW_LATEX.search(text):
                    raw += 1
                    examples.append(text[:80])
    assert printed > 1000
    assert raw <= printed / 100, examples[:10]


def test_greek_letters_are_found_by_letter_name_and_latex(library_path: Path) -> None:
    with Library(library_path) as lib:
        lib.add_papers(
            [Paper(id="greek-1", title=r"Tuning $\alpha$ in $\beta$-VAE models", abstract="")]
        )
        for query in ["α", "alpha", r"\alpha", r"$\alpha$", "β-VAE", r"$\beta$-VAE", "beta"]:
            assert "greek-1" in [h.id for h in lib.search(query).hits], query
        hit = lib.search("alpha").hits[0]
        assert hit.title == "Tuning α in β-VAE models"
        assert lib.matches(lib.get("greek-1"), lib.search("alpha"))["title"] == [(7, 8)]


def test_bibtex_export_keeps_the_latex_and_markdown_converts(run, library_path: Path) -> None:  # type: ignore[no-untyped-def]
    with Library(library_path) as lib:
        lib.add_papers([Paper(id="greek-2", title=r"On $\gamma$ rays", abstract="")])
        lib.set_bookmark("greek-2")
    _, out, _ = run("export", "--bookmarked", "--format", "bibtex")
    assert r"$\gamma$" in out
    _, out, _ = run("export", "--bookmarked", "--format", "markdown")
    assert "On γ rays" in out
    data = json.loads(run("show", "greek-2", "--json")[1])
    assert data["title"] == "On γ rays" and data["title_latex"] == r"On $\gamma$ rays"
