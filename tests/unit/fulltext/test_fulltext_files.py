"""Attaching files and fetching text from a local replay server: stored whole, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperreader.core import fetch
from paperreader.core.errors import FullTextError
from paperreader.core.fetch import FetchError
from paperreader.core.fulltext import files
from paperreader.core.fulltext.document import load_document, paper_folder
from paperreader.core.fulltext.fetch_text import fetch_text
from paperreader.core.models import Paper
from replay_server import Server, closed_port

PDF = "papermage_emnlp-demo_acl_2col.pdf"
HTML = "latexml_astro_ml_plain_2023.html"
FAST = {"retries": 0, "backoff": 0.0}


def listing(root: Path) -> list[str]:
    area = root / "files"
    return sorted(str(p.relative_to(area)) for p in area.rglob("*")) if area.exists() else []


def test_detect_kind_by_magic_not_name() -> None:
    assert files.detect_kind(b"%PDF-1.5\n...") == "pdf"
    assert files.detect_kind(b"{% raw %}\n<!DOCTYPE html><html>") == "html"
    assert files.detect_kind(b"\xef\xbb\xbf  <HTML><body>") == "html"
    assert files.detect_kind(b"PK\x03\x04 zip") is None


def test_attach_a_pdf_stores_original_and_text(fulltext_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "download.bin"  # the name says nothing: the bytes decide
    source.write_bytes((fulltext_dir / PDF).read_bytes())
    doc = files.attach(tmp_path / "lib", "2310.01234", source)
    folder = paper_folder(tmp_path / "lib", "2310.01234")
    assert sorted(p.name for p in folder.iterdir()) == ["paper.pdf", "text.json", "text.txt"]
    assert (folder / "paper.pdf").read_bytes() == source.read_bytes()
    assert load_document(tmp_path / "lib", "2310.01234") == doc
    assert (folder / "text.txt").read_text(encoding="utf-8") == doc.plain_text()
    assert files.has_text(tmp_path / "lib", "2310.01234")
    assert files.original_path(tmp_path / "lib", "2310.01234") == folder / "paper.pdf"
    assert listing(tmp_path / "lib") == [
        "2310.01234",
        *[f"2310.01234/{n}" for n in ("paper.pdf", "text.json", "text.txt")],
    ]


def test_attach_html_replaces_an_earlier_pdf(fulltext_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    files.attach(root, "hep-th/9901001", fulltext_dir / PDF)
    doc = files.attach(root, "hep-th/9901001", fulltext_dir / HTML)
    assert doc.source == "html"
    folder = paper_folder(root, "hep-th/9901001")
    assert sorted(p.name for p in folder.iterdir()) == ["paper.html", "text.json", "text.txt"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad_encrypted_libreoffice-writer-password.pdf", "encrypted"),
        ("bad_image-only_docling_ocr_test.pdf", "no text layer"),
        ("SOURCES.md", "neither a PDF nor an HTML page"),
    ],
)
def test_a_failed_attach_keeps_the_old_files(
    fulltext_dir: Path, tmp_path: Path, name: str, says: str
) -> None:
    root = tmp_path / "lib"
    before = files.attach(root, "p1", fulltext_dir / HTML)
    folder = paper_folder(root, "p1")
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(FullTextError) as caught:
        files.attach(root, "p1", fulltext_dir / name)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == snapshot
    assert load_document(root, "p1") == before
    assert [p.name for p in (root / "files").iterdir()] == ["p1"]  # no temp folder left


def test_a_failed_first_attach_stores_nothing(fulltext_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FullTextError):
        files.attach(
            tmp_path / "lib", "p2", fulltext_dir / "bad_encrypted_libreoffice-writer-password.pdf"
        )
    assert listing(tmp_path / "lib") == []
    assert not files.has_text(tmp_path / "lib", "p2")
    with pytest.raises(FullTextError, match="cannot read the file"):
        files.attach(tmp_path / "lib", "p2", tmp_path / "missing.pdf")


def test_remove(fulltext_dir: Path, tmp_path: Path) -> None:
    files.attach(tmp_path, "p3", fulltext_dir / HTML)
    assert files.remove(tmp_path, "p3") is True
    assert not files.has_text(tmp_path, "p3") and files.original_path(tmp_path, "p3") is None
    assert files.remove(tmp_path, "p3") is False


# -- fetching from arXiv (a local replay server) -------------------------------------------------
@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERREADER_ARXIV_FILES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)


PAPER = Paper(id="2302.07302", title="CiteSee", arxiv_id="2302.07302")


def test_fetch_html_first(fulltext_dir: Path, tmp_path: Path, server: Server) -> None:
    server.script["/html/2302.07302"] = [(200, (fulltext_dir / HTML).read_bytes())]
    doc = fetch_text(tmp_path, PAPER, base_url=server.url, **FAST)
    assert doc.source == "html" and load_document(tmp_path, PAPER.id) == doc
    assert [r["path"] for r in server.requests] == ["/html/2302.07302"]
    assert server.requests[0]["agent"].startswith("paperreader/")


def test_fetch_falls_back_to_the_pdf(fulltext_dir: Path, tmp_path: Path, server: Server) -> None:
    server.script["/pdf/2302.07302"] = [(200, (fulltext_dir / PDF).read_bytes())]
    pages: list[tuple[int, int | None]] = []
    doc = fetch_text(
        tmp_path, PAPER, base_url=server.url, progress=lambda d, t: pages.append((d, t)), **FAST
    )
    assert doc.source == "pdf" and doc.pages == 13 and pages[-1] == (13, 13)
    assert [r["path"] for r in server.requests] == ["/html/2302.07302", "/pdf/2302.07302"]
    assert files.original_path(tmp_path, PAPER.id).name == "paper.pdf"


def test_an_html_page_without_text_falls_back_too(
    fulltext_dir: Path, tmp_path: Path, server: Server
) -> None:
    server.script["/html/2302.07302"] = [(200, b"<html><body><p></p></body></html>")]
    server.script["/pdf/2302.07302"] = [(200, (fulltext_dir / PDF).read_bytes())]
    assert fetch_text(tmp_path, PAPER, base_url=server.url, **FAST).source == "pdf"


def test_neither_html_nor_pdf(tmp_path: Path, server: Server) -> None:
    with pytest.raises(FetchError) as caught:
        fetch_text(tmp_path, PAPER, base_url=server.url, **FAST)
    message = str(caught.value)
    assert (
        "neither HTML nor a PDF for 2302.07302" in message
        and "404" in message
        and "\n" not in message
    )
    assert listing(tmp_path) == []


def test_a_bad_pdf_stores_nothing(fulltext_dir: Path, tmp_path: Path, server: Server) -> None:
    server.script["/pdf/2302.07302"] = [
        (200, (fulltext_dir / "bad_image-only_docling_ocr_test.pdf").read_bytes())
    ]
    with pytest.raises(FullTextError, match="no text layer"):
        fetch_text(tmp_path, PAPER, base_url=server.url, **FAST)
    assert [p for p in listing(tmp_path) if not p.startswith(".")] == []
    assert not files.has_text(tmp_path, PAPER.id)


def test_connection_refused(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        fetch_text(tmp_path, PAPER, **FAST)  # the environment points at a closed port
    message = str(caught.value)
    assert "cannot connect to 127.0.0.1" in message and "\n" not in message
    assert listing(tmp_path) == []


def test_a_paper_without_arxiv_id(tmp_path: Path) -> None:
    with pytest.raises(FullTextError) as caught:
        fetch_text(tmp_path, Paper(id="10.1000/xyz", title="T", doi="10.1000/xyz"))
    assert (
        str(caught.value) == "10.1000/xyz: no arXiv id, so no text to fetch (attach a PDF instead)"
    )
