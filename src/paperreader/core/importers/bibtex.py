"""BibTeX and biblatex files (Zotero, Mendeley, JabRef, Google Scholar exports).

bibtexparser 2 splits the file into blocks; values are resolved here (`@string` macros, `#`
concatenation, braces and quotes), then LaTeX is turned into Unicode. Entries that share a key
are kept when they describe different papers and skipped when they repeat the same paper.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import bibtexparser
from bibtexparser import model

from paperreader.core.errors import ImportFailure
from paperreader.core.importers._util import (
    first_line,
    flip_name,
    is_braced,
    latex_line,
    latex_para,
    latex_url,
    mendeley_unescape,
    month_number,
    parse_date,
    read_whole,
    safe_date,
    split_top_level,
    to_text,
    year_from,
)
from paperreader.core.importers.base import Record, Skipped, arxiv_urls, github_url
from paperreader.core.models import Paper, normalise_arxiv_id, paper_id_for, split_urls

NAME = "bibtex"
DESCRIPTION = "BibTeX / biblatex (.bib)"

_ENTRY_START = re.compile(r"^\s*@\s*[a-zA-Z]+\s*[{(]", re.M)
_KEY_IN_RAW = re.compile(r"@\s*[a-zA-Z]+\s*[{(]\s*([^,\s{}()]+)")
_ARXIV_IN_TEXT = re.compile(
    r"arxiv[:\s]*(?:abs/)?([a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})", re.I
)
_URL_FIELDS = {"url", "doi", "eprint", "arxivid", "file", "pdf"}
_AND = re.compile(r"\s+and\s+", re.I)


def detect(head: str, path: Path) -> bool:
    return bool(_ENTRY_START.search(head))


def read(path: Path, **_: object) -> Iterator[Record]:
    return iter(parse(read_whole(path), where=str(path)))


def parse(data: bytes | str, where: str = "<bibtex>") -> list[Record]:
    """Every entry of a BibTeX text as a Paper or a Skipped; ImportFailure when there are none."""
    text = to_text(data)
    if not text.strip():
        raise ImportFailure(f"{where}: the file is empty")
    log = logging.getLogger("bibtexparser")
    level = log.level
    log.setLevel(logging.CRITICAL)  # it logs every broken block as a warning: ours are Skipped
    try:
        library = bibtexparser.parse_string(text, parse_stack=[])
    except RecursionError:
        raise ImportFailure(f"{where}: cannot parse BibTeX (nested too deeply)") from None
    except Exception as exc:  # the splitter's own errors: the file cannot be split at all
        raise ImportFailure(f"{where}: cannot parse BibTeX ({first_line(exc)})") from None
    finally:
        log.setLevel(level)
    if not library.entries and not library.failed_blocks:
        raise ImportFailure(f"{where}: no BibTeX entries found")
    return list(_records(library, where))


def _records(library: bibtexparser.Library, where: str) -> Iterator[Record]:
    strings: dict[str, str] = {}
    first_by_key: dict[str, tuple[int, str]] = {}  # key -> (line, paper id)
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, model.String):
            try:
                strings[block.key.lower()] = resolve_value(block.value, strings)
            except Exception:  # a broken macro only affects the fields that use it
                continue
            continue
        duplicate = isinstance(block, model.DuplicateBlockKeyBlock)
        entry = block.ignore_error_block if isinstance(block, model.ParsingFailedBlock) else block
        if isinstance(block, model.ParsingFailedBlock) and not isinstance(entry, model.Entry):
            key = _raw_key(block.raw)
            yield Skipped(f"{where}:{line} ({key})", f"cannot parse: {_reason(block.error)}")
            continue
        if not isinstance(entry, model.Entry):
            continue  # comments and @preamble
        here = f"{where}:{line} ({entry.key})"
        try:
            paper = entry_paper(entry, strings)
        except ValueError as exc:
            yield Skipped(here, str(exc))
            continue
        except Exception as exc:  # one odd entry must not stop the import
            yield Skipped(here, f"cannot use this entry ({first_line(exc)})")
            continue
        seen = first_by_key.get(entry.key)
        if duplicate and seen and seen[1] == paper.id:
            yield Skipped(here, f"duplicate key {entry.key!r}: same paper as line {seen[0]}")
            continue
        first_by_key.setdefault(entry.key, (line, paper.id))
        yield paper


def _reason(error: object) -> str:
    reason = getattr(error, "abort_reason", None) or error
    return first_line(reason)


def _raw_key(raw: str | None) -> str:
    m = _KEY_IN_RAW.search(raw or "")
    return m.group(1) if m else "?"


def resolve_value(raw: str, strings: dict[str, str]) -> str:
    """The value as written, with macros substituted, pieces joined, outer delimiters removed."""
    out = []
    for piece in split_top_level(raw, "#", quotes=True):
        piece = piece.strip()
        if len(piece) >= 2 and (
            (piece[0] == "{" and piece[-1] == "}") or (piece[0] == '"' and piece[-1] == '"')
        ):
            out.append(piece[1:-1])
        elif piece.isdigit():
            out.append(piece)
        else:
            out.append(strings.get(piece.lower(), piece))
    return "".join(out)


def split_names(value: str) -> list[str]:
    """Names split on `and` outside braces: `{Research and Development Team}` stays one name."""
    names, depth, start, i = [], 0, 0, 0
    while i < len(value):
        ch = value[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and ch.isspace():
            m = _AND.match(value, i)
            if m:
                names.append(value[start:i])
                i = start = m.end()
                continue
        i += 1
    names.append(value[start:])
    return [n.strip() for n in names if n.strip()]


def parse_names(value: str) -> list[str]:
    authors = []
    for name in split_names(value):
        if name.lower() == "others":
            continue  # "and others": et al.
        braced = is_braced(name)  # {Research and Development Team}: one name, as written
        name = latex_line(name[1:-1] if braced else flip_name(name))
        if name and (braced or (re.search(r"[^\W_]", name) and name.lower() != "and")):
            authors.append(name)
    return authors


def _doi(value: str) -> str | None:
    doi = latex_url(value)
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.I)
    return doi if doi.startswith("10.") else None


def entry_paper(entry: model.Entry, strings: dict[str, str]) -> Paper:
    fields: dict[str, str] = {}
    for f in entry.fields:
        key = f.key.strip().lower()
        if key not in fields:  # with duplicate fields, the first one counts
            value = resolve_value(str(f.value), strings)
            fields[key] = value if key in _URL_FIELDS else mendeley_unescape(value)
    title = latex_line(fields.get("title"))
    if not title:
        raise ValueError("no title")
    authors = parse_names(fields.get("author") or fields.get("editor") or "")
    published: date | None = parse_date(fields.get("date"))
    if published is None:
        year = year_from(fields.get("year"))
        if year:
            published = safe_date(year, month_number(fields.get("month")) or 1)
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    eprint = latex_url(fields.get("eprint"))
    arxiv_id = None
    if eprint and prefix in ("arxiv", ""):
        arxiv_id = normalise_arxiv_id(eprint)
    arxiv_id = arxiv_id or normalise_arxiv_id(latex_url(fields.get("arxivid")))
    # Mendeley writes several URLs into one field, space or newline separated: one link each.
    urls = [u for part in (fields.get("url") or "").split() for u in split_urls(latex_url(part))]
    url = urls[0] if urls else None
    if not arxiv_id:
        for text in (
            " ".join(urls),
            fields.get("journal"),
            fields.get("note"),
            fields.get("howpublished"),
        ):
            m = _ARXIV_IN_TEXT.search(text or "")
            if m:
                arxiv_id = normalise_arxiv_id(m.group(1))
                break
    doi = _doi(fields.get("doi") or "")
    if not arxiv_id and doi and doi.lower().startswith("10.48550/arxiv."):
        arxiv_id = normalise_arxiv_id(doi[len("10.48550/arxiv.") :])
    primary = latex_line(fields.get("primaryclass") or fields.get("eprintclass"))
    keywords = [latex_line(k) for k in re.split(r"[,;]", fields.get("keywords") or "")]
    venue = next(
        (
            latex_line(fields[k])
            for k in ("journal", "journaltitle", "booktitle", "school", "institution")
            if latex_line(fields.get(k))
        ),
        None,
    )
    abstract = latex_para(fields.get("abstract"))
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return Paper(
        id=paper_id_for(arxiv_id, doi, title),
        title=title,
        authors=authors,
        abstract=abstract,
        published=published,
        arxiv_id=arxiv_id,
        doi=doi,
        url=url or abs_url,
        other_urls=urls[1:],
        pdf_url=pdf_url,
        code_url=next(filter(None, map(github_url, urls)), None)
        or github_url(fields.get("note") or "")
        or github_url(abstract),
        categories=[primary] if primary else [],
        keywords=list(dict.fromkeys(k for k in keywords if k)),
        venue=venue,
        source=NAME,
    )
