"""Hugging Face Daily Papers API: `/api/daily_papers` (a list of {"paper": {...}, ...}) or one
paper object as `/api/papers/<id>` returns it."""

from __future__ import annotations

import re
from collections.abc import Iterator
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
)
from paperreader.core.importers.base import Record, Skipped, arxiv_urls, github_url
from paperreader.core.models import Paper, normalise_arxiv_id, paper_id_for
from paperreader.core.text import clean_line

NAME = "hf_api"
DESCRIPTION = "Hugging Face daily papers API JSON (/api/daily_papers)"

_KEY = re.compile(r'"(?:paper|upvotes|discussionId|publishedAt)"\s*:')


def detect(head: str, path: Path) -> bool:
    start = head.lstrip()[:1]
    return start in ("[", "{") and '"summary"' in head and bool(_KEY.search(head))


def read(path: Path, **_: object) -> Iterator[Record]:
    return parse(read_whole(path), where=str(path))


def parse(data: bytes | str, where: str = "<data>") -> Iterator[Record]:
    """Papers from a daily-papers response; ImportFailure when it is not such a response."""
    items = _items(data, where)
    return _records(items, where)


def _items(data: bytes | str, where: str) -> list[Any]:
    doc = load_json(data, where)
    if isinstance(doc, dict):
        if "error" in doc and "title" not in doc and "paper" not in doc:
            raise ImportFailure(f"{where}: the API answered an error: {first_line(doc['error'])}")
        return [doc]
    if isinstance(doc, list):
        return doc
    raise ImportFailure(f"{where}: expected a list of daily papers or one paper object")


def _records(items: list[Any], where: str) -> Iterator[Record]:
    for number, item in enumerate(items, start=1):
        here = f"{where}: item {number}"
        try:
            yield _paper(item, here)
        except _Unusable as exc:
            yield Skipped(here, str(exc))
        except Exception as exc:  # one odd record must not stop the import
            yield Skipped(here, f"cannot use this record ({first_line(exc)})")


class _Unusable(ValueError):
    pass


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _http_url(value: object) -> str | None:
    text = clean_line(_str(value))
    if re.match(r"https?://[^\s]+$", text):
        return text
    return None


def _paper(item: object, here: str) -> Paper:
    if not isinstance(item, dict):
        raise _Unusable("not a JSON object")
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else item
    title = latex_line(_str(paper.get("title")) or _str(item.get("title")))
    if not title:
        raise _Unusable("no title")
    abstract = latex_para(_str(paper.get("summary")) or _str(item.get("summary")))
    raw_id = paper.get("id")
    arxiv_id = normalise_arxiv_id(str(raw_id)) if isinstance(raw_id, (str, int, float)) else None
    authors = []
    for author in paper.get("authors") or []:
        name = ""
        if isinstance(author, str):
            name = author
        elif isinstance(author, dict):
            user = author.get("user") if isinstance(author.get("user"), dict) else {}
            name = _str(author.get("name")) or _str(user.get("fullname"))
        name = latex_line(name)
        if name:
            authors.append(name)
    published = parse_date(paper.get("publishedAt")) or parse_date(item.get("publishedAt"))
    upvotes = paper.get("upvotes")
    if not isinstance(upvotes, int) or isinstance(upvotes, bool):
        upvotes = None
    keywords = [
        latex_line(k) for k in paper.get("ai_keywords") or [] if isinstance(k, str) and k.strip()
    ]
    code_url = _http_url(paper.get("githubRepo")) or github_url(abstract)
    project_url = _http_url(paper.get("projectPage"))
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return Paper(
        id=paper_id_for(arxiv_id, None, title),
        title=title,
        authors=authors,
        abstract=abstract,
        published=published,
        arxiv_id=arxiv_id,
        url=abs_url,
        pdf_url=pdf_url,
        code_url=code_url,
        project_url=project_url,
        keywords=list(dict.fromkeys(k for k in keywords if k)),
        upvotes=upvotes,
        source=NAME,
    )
