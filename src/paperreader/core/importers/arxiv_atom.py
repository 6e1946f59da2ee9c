"""arXiv API Atom feeds (`export.arxiv.org/api/query`), current and older styles.

The feed is untrusted XML: a document type declaration or entity definition is refused outright
(no entity expansion, no external resources), and the text is parsed incrementally so that a
feed cut off in the middle still yields the entries before the cut.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperreader.core.errors import ImportFailure
from paperreader.core.importers._util import (
    first_line,
    latex_line,
    latex_para,
    parse_date,
    read_whole,
    to_text,
)
from paperreader.core.importers.base import Record, Skipped, arxiv_urls, github_url
from paperreader.core.models import Paper, normalise_arxiv_id, paper_id_for
from paperreader.core.text import clean_line

NAME = "arxiv_atom"
DESCRIPTION = "arXiv API Atom feed"

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

_FORBIDDEN = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def detect(head: str, path: Path) -> bool:
    return "<feed" in head and "http://www.w3.org/2005/Atom" in head and "arxiv" in head.lower()


def read(path: Path, **_: object) -> Iterator[Record]:
    return iter(parse_feed(read_whole(path), where=str(path)).records)


@dataclass
class FeedPage:
    """One parsed feed: its records and what the feed says about the whole result."""

    records: list[Record] = field(default_factory=list)
    total: int | None = None  # opensearch:totalResults
    start: int | None = None  # opensearch:startIndex

    @property
    def papers(self) -> list[Paper]:
        return [r for r in self.records if isinstance(r, Paper)]


def parse_feed(data: bytes | str, where: str = "<feed>", *, allow_empty: bool = False) -> FeedPage:
    """Parse a whole feed. Raises ImportFailure for non-feeds, API error feeds and (unless
    `allow_empty`) feeds without entries; a feed broken part way yields what came before."""
    text = to_text(data)
    if not text.strip():
        raise ImportFailure(f"{where}: the file is empty")
    if _FORBIDDEN.search(text):
        raise ImportFailure(f"{where}: refusing XML with a DTD or entity declarations")
    # The text is already decoded: a declared encoding must not be applied a second time.
    text = _DECLARATION.sub("", text, count=1)
    page = FeedPage()
    parser = ET.XMLPullParser(events=("start", "end"))
    state = _State()
    line_no = 0
    try:
        for line_no, line in enumerate(text.splitlines(keepends=True), start=1):
            parser.feed(line)
            _consume(parser, state, page, where, line_no)
        parser.close()
        _consume(parser, state, page, where, line_no)
    except ET.ParseError as exc:
        if not page.records:
            raise ImportFailure(
                f"{where}: not a well-formed XML feed ({first_line(exc)})"
            ) from None
        page.records.append(
            Skipped(
                f"{where}:{state.entry_line or line_no}", f"feed broken here ({first_line(exc)})"
            )
        )
    if not state.seen_root:
        raise ImportFailure(f"{where}: not an Atom feed")
    if not page.records and not allow_empty:
        total = f" (totalResults {page.total})" if page.total is not None else ""
        raise ImportFailure(f"{where}: the feed has no entries{total}")
    return page


@dataclass
class _State:
    seen_root: bool = False
    depth: int = 0
    entry_line: int | None = None
    entries: int = 0


def _consume(parser: ET.XMLPullParser, state: _State, page: FeedPage, where: str, line: int):
    for event, elem in parser.read_events():
        if event == "start":
            if state.depth == 0:
                if elem.tag != f"{ATOM}feed":
                    raise ImportFailure(f"{where}: not an Atom feed (root element {elem.tag!r})")
                state.seen_root = True
            elif state.depth == 1 and elem.tag == f"{ATOM}entry":
                state.entry_line = line
            state.depth += 1
            continue
        state.depth -= 1
        if state.depth != 1:
            continue
        if elem.tag == f"{OPENSEARCH}totalResults":
            page.total = _int(elem.text)
        elif elem.tag == f"{OPENSEARCH}startIndex":
            page.start = _int(elem.text)
        elif elem.tag == f"{ATOM}entry":
            state.entries += 1
            here = f"{where}:{state.entry_line or line}"
            page.records.append(_entry_record(elem, here, where))
            state.entry_line = None
            elem.clear()


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _text(elem: ET.Element, tag: str) -> str:
    found = elem.find(tag)
    return "".join(found.itertext()) if found is not None else ""


def _entry_record(entry: ET.Element, here: str, where: str) -> Record:
    raw_id = clean_line(_text(entry, f"{ATOM}id"))
    raw_title = _text(entry, f"{ATOM}title")
    if "/api/errors" in raw_id or (raw_title.strip() == "Error" and not normalise_arxiv_id(raw_id)):
        message = clean_line(_text(entry, f"{ATOM}summary")) or raw_id or "unknown error"
        raise ImportFailure(f"{where}: arXiv API error: {message}")
    try:
        return _paper(entry, raw_id, raw_title)
    except ValueError as exc:
        return Skipped(here, str(exc))
    except Exception as exc:  # one odd entry must not stop the import
        return Skipped(here, f"cannot use this entry ({first_line(exc)})")


def _paper(entry: ET.Element, raw_id: str, raw_title: str) -> Paper:
    title = latex_line(raw_title)
    if not title:
        raise ValueError(f"entry {raw_id or '(no id)'} has no title")
    links = {}
    for link in entry.findall(f"{ATOM}link"):
        href = clean_line(link.get("href"))
        if not re.match(r"https?://\S+$", href):
            continue
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            links.setdefault("pdf", href)
        elif link.get("title") == "doi":
            links.setdefault("doi", href)
        elif link.get("rel", "alternate") == "alternate":
            links.setdefault("abs", href)
    arxiv_id = normalise_arxiv_id(raw_id) or normalise_arxiv_id(links.get("abs"))
    doi = clean_line(_text(entry, f"{ARXIV}doi")).split(" ")[0] or None
    abstract = latex_para(_text(entry, f"{ATOM}summary"))
    comment = clean_line(_text(entry, f"{ARXIV}comment"))
    authors = [latex_line(_text(a, f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")]
    categories: list[str] = []
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.findall(f"{ATOM}category")]
    for term in terms:
        term = clean_line(term)
        if term and term not in categories:
            categories.append(term)
    published = parse_date(_text(entry, f"{ATOM}published")) or parse_date(
        _text(entry, f"{ATOM}updated")
    )
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return Paper(
        id=paper_id_for(arxiv_id, doi, title),
        title=title,
        authors=[a for a in authors if a],
        abstract=abstract,
        published=published,
        arxiv_id=arxiv_id,
        doi=doi,
        url=abs_url or links.get("abs"),
        pdf_url=pdf_url or links.get("pdf"),
        code_url=github_url(comment) or github_url(abstract),
        categories=categories,
        venue=latex_line(_text(entry, f"{ARXIV}journal_ref")) or None,
        source=NAME,
    )
