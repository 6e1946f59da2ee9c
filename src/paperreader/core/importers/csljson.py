"""CSL-JSON (Zotero, Crossref, Better BibTeX, pandoc): a list of items with `title`, `author`,
`issued`, `DOI`, `URL`, `abstract`, `container-title`. Titles may carry HTML rich text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from paperreader.core.errors import ImportFailure
from paperreader.core.importers._util import (
    first_line,
    latex_line,
    latex_para,
    load_json,
    parse_date,
    read_whole,
    safe_date,
)
from paperreader.core.importers.base import Record, Skipped, arxiv_urls, github_url
from paperreader.core.models import Paper, normalise_arxiv_id, paper_id_for
from paperreader.core.text import clean_line, decode_html

NAME = "csljson"
DESCRIPTION = "CSL-JSON (Zotero / Crossref export)"

_CSL_KEY = re.compile(r'"(?:container-title|issued|citation-key|DOI|URL)"\s*:')
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.I)


def detect(head: str, path: Path) -> bool:
    start = head.lstrip()[:1]
    return start in ("[", "{") and '"type"' in head and bool(_CSL_KEY.search(head))


def read(path: Path, **_: object) -> Iterator[Record]:
    return parse(read_whole(path), where=str(path))


def parse(data: bytes | str, where: str = "<csl-json>") -> Iterator[Record]:
    doc = load_json(data, where)
    if isinstance(doc, dict):
        items = doc.get("items") if isinstance(doc.get("items"), list) else [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        raise ImportFailure(f"{where}: expected a list of CSL-JSON items")
    return _records(items, where)


def _records(items: list[Any], where: str) -> Iterator[Record]:
    for number, item in enumerate(items, start=1):
        key = item.get("id") if isinstance(item, dict) else None
        here = f"{where}: item {number}" + (f" ({clean_line(str(key))})" if key else "")
        try:
            yield _paper(item)
        except ValueError as exc:
            yield Skipped(here, str(exc))
        except Exception as exc:  # one odd item must not stop the import
            yield Skipped(here, f"cannot use this item ({first_line(exc)})")


def _str(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def _html_line(value: object) -> str:
    return latex_line(decode_html(_str(value)))


def _name(person: object) -> str:
    if isinstance(person, str):
        return _html_line(person)
    if not isinstance(person, dict):
        return ""
    if _str(person.get("literal")):
        return _html_line(person["literal"])
    parts = [
        person.get(k)
        for k in ("given", "dropping-particle", "non-dropping-particle", "family", "suffix")
    ]
    return _html_line(" ".join(_str(p) for p in parts if _str(p).strip()))


def _issued(value: object) -> date | None:
    if isinstance(value, str):
        return parse_date(value)
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        try:
            numbers = [int(str(p)) for p in parts[0][:3]]
        except ValueError:
            numbers = []
        if numbers:
            return safe_date(*numbers)
    return parse_date(value.get("raw")) or parse_date(value.get("literal"))


def _paper(item: object) -> Paper:
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    title = _html_line(item.get("title"))
    if not title:
        raise ValueError("no title")
    people = item.get("author") or item.get("editor") or []
    authors = (
        [n for n in (_name(p) for p in people if people) if n] if isinstance(people, list) else []
    )
    doi = clean_line(_str(item.get("DOI") or item.get("doi"))) or None
    if doi:
        doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.I) or None
    url = clean_line(_str(item.get("URL") or item.get("url")))
    url = url if re.match(r"https?://\S+$", url) else None
    arxiv_id = None
    if doi and _ARXIV_DOI.match(doi):
        arxiv_id = normalise_arxiv_id(_ARXIV_DOI.match(doi).group(1))
    for text in (url, _str(item.get("number")), _str(item.get("archive_location"))):
        if arxiv_id or not text:
            continue
        m = re.search(r"(?:arxiv\.org/(?:abs|pdf)/|arxiv:\s*)(\S+?)(?:\.pdf)?$", text, re.I)
        if m:
            arxiv_id = normalise_arxiv_id(m.group(1))
    keywords = [_html_line(k) for k in re.split(r"[,;]", _str(item.get("keyword")))]
    abstract = latex_para(decode_html(_str(item.get("abstract"))))
    venue = _html_line(item.get("container-title")) or None
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return Paper(
        id=paper_id_for(arxiv_id, doi, title),
        title=title,
        authors=authors,
        abstract=abstract,
        published=_issued(item.get("issued")),
        arxiv_id=arxiv_id,
        doi=doi,
        url=url or abs_url,
        pdf_url=pdf_url,
        code_url=github_url(url or "") or github_url(abstract),
        keywords=list(dict.fromkeys(k for k in keywords if k)),
        venue=venue,
        source=NAME,
    )
