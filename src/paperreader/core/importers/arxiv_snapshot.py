"""The arXiv metadata snapshot (Kaggle `arxiv-metadata-oai-snapshot.json`): JSON Lines.

The full snapshot is several GB, so it is read one line at a time (constant memory) and can be
filtered while reading: `categories` (prefixes such as `cs.CL` or `cs`) and `since` (a date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from paperreader.core.errors import ImportFailure
from paperreader.core.importers._util import (
    first_line,
    latex_line,
    latex_para,
    parse_date,
    split_top_level,
)
from paperreader.core.importers.base import (
    Record,
    Skipped,
    arxiv_urls,
    first_json_object,
    github_url,
)
from paperreader.core.models import Paper, normalise_arxiv_id, paper_id_for
from paperreader.core.text import clean_line

NAME = "arxiv_snapshot"
DESCRIPTION = "arXiv metadata snapshot (Kaggle JSON Lines)"


def detect(head: str, path: Path) -> bool:
    record = first_json_object(head)
    if record is None:  # a first line too long for the head: look for the snapshot's keys
        first = head.lstrip().split("\n", 1)[0]
        return first.startswith("{") and '"authors_parsed"' in first and '"versions"' in first
    return "id" in record and "authors_parsed" in record


def read(
    path: Path,
    *,
    categories: Iterable[str] | None = None,
    since: date | None = None,
    **_: object,
) -> Iterator[Record]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator
    except IsADirectoryError:
        raise ImportFailure(f"{path}: is a directory") from None
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _read_open(fh, str(path), categories, since)


def _read_open(
    fh: IO[bytes], where: str, categories: Iterable[str] | None, since: date | None
) -> Iterator[Record]:
    with fh:
        try:
            yield from parse_lines(fh, where, categories=categories, since=since)
        except OSError as exc:
            raise ImportFailure(f"{where}: cannot read ({exc.strerror or exc})") from None


def parse_lines(
    lines: Iterable[bytes | str],
    where: str = "<snapshot>",
    *,
    categories: Iterable[str] | None = None,
    since: date | None = None,
) -> Iterator[Record]:
    """Papers from snapshot lines; records outside the filters are left out silently."""
    prefixes = [p.strip().lower() for p in categories or [] if p and p.strip()]
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        here = f"{where}:{number}"
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield Skipped(here, f"not valid JSON ({first_line(exc)})")
            continue
        if not isinstance(data, dict):
            yield Skipped(here, "not a JSON object")
            continue
        try:
            cats = _str(data.get("categories")).split()
            if prefixes and not any(c.lower().startswith(p) for c in cats for p in prefixes):
                continue
            published = _published(data)
            if since is not None and (published is None or published < since):
                continue
            yield _paper(data, cats, published)
        except ValueError as exc:
            yield Skipped(here, str(exc))
        except Exception as exc:  # one odd record must not stop a multi-GB import
            yield Skipped(here, f"cannot use this record ({first_line(exc)})")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _published(data: dict[str, Any]) -> date | None:
    versions = data.get("versions")
    if isinstance(versions, list) and versions:
        first = next(
            (v for v in versions if isinstance(v, dict) and v.get("version") == "v1"), versions[0]
        )
        if isinstance(first, dict):
            found = parse_date(first.get("created"))
            if found:
                return found
    return parse_date(data.get("update_date"))


def _name(parts: object) -> str:
    if not isinstance(parts, list):
        return ""
    last, first, suffix = ([_str(p) for p in parts[:3]] + ["", "", ""])[:3]
    name = " ".join(p.strip() for p in (first, last, suffix) if p.strip())
    return re.sub(r"\. -(?=\w)", ".-", latex_line(name))  # "C. -P. Yuan" -> "C.-P. Yuan"


def _authors_from_text(text: str) -> list[str]:
    # Affiliations are written in parentheses, possibly nested: drop them.
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", "", text)
    names = []
    for chunk in split_top_level(text.replace("\n", " "), ","):
        names.extend(re.split(r"\s+and\s+", chunk))
    return [latex_line(n) for n in names if latex_line(n)]


def _paper(data: dict[str, Any], cats: list[str], published: date | None) -> Paper:
    title = latex_line(_str(data.get("title")))
    if not title:
        raise ValueError("no title")
    arxiv_id = normalise_arxiv_id(_str(data.get("id")))
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = [n for n in (_name(p) for p in parsed) if n]
    else:
        authors = _authors_from_text(_str(data.get("authors")))
    doi = clean_line(_str(data.get("doi"))).split(" ")[0] or None
    abstract = latex_para(_str(data.get("abstract")))
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return Paper(
        id=paper_id_for(arxiv_id, doi, title),
        title=title,
        authors=authors,
        abstract=abstract,
        published=published,
        arxiv_id=arxiv_id,
        doi=doi,
        url=abs_url,
        pdf_url=pdf_url,
        code_url=github_url(_str(data.get("comments"))) or github_url(abstract),
        categories=list(dict.fromkeys(clean_line(c) for c in cats if clean_line(c))),
        venue=latex_line(_str(data.get("journal-ref"))) or None,
        source=NAME,
    )
