"""Plain data classes shared by the core, the CLI and the UI."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

ARXIV_NEW_ID = re.compile(r"(?<![\w.])(\d{4}\.\d{4,5})(v\d+)?(?![\w])")
ARXIV_OLD_ID = re.compile(r"(?<![\w.])([a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?(?!\w)")


def normalise_arxiv_id(raw: str | None) -> str | None:
    """The arXiv id without its version (`2403.01234v2` -> `2403.01234`), or None."""
    if not raw:
        return None
    raw = raw.strip()
    raw = re.sub(r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)", "", raw, flags=re.I)
    raw = re.sub(r"\.pdf$", "", raw)
    for pattern in (ARXIV_NEW_ID, ARXIV_OLD_ID):
        m = pattern.fullmatch(raw) or pattern.fullmatch(raw.split()[0] if raw.split() else raw)
        if m:
            return m.group(1)
    return None


_URL = re.compile(r"https?://\S+$", re.I)
_GLUED = re.compile(r"(?<=\S)(?=https?://)", re.I)  # a URL written right after another


def split_urls(text: str | None) -> list[str]:
    """The URLs in a field that may hold several: separated by spaces or newlines, or glued
    together (`http://a/xhttp://b/y`). Anything that is not a URL is dropped."""
    found: list[str] = []
    for part in (text or "").split():
        for piece in _GLUED.split(part):
            piece = piece.strip().rstrip(",;")
            if _URL.match(piece) and piece not in found:
                found.append(piece)
    return found


def arxiv_links(arxiv_id: str | None) -> tuple[str | None, str | None]:
    """The abstract page and PDF of an arXiv paper (None, None without an id): the one place
    arXiv links are built."""
    if not arxiv_id:
        return None, None
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"


def _same_url(url: str) -> str:
    url = re.sub(r"^https?://(?:www\.)?", "", url.strip(), flags=re.I)
    return url.rstrip("/").lower()


def normalise_title(title: str) -> str:
    """Lower case, accents folded, punctuation and spacing squeezed: the key for title matches."""
    folded = unicodedata.normalize("NFKD", title)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", folded.lower()).strip()


def title_slug(title: str, max_words: int = 5) -> str:
    """A short readable id made from the title, stable for the same normalised title."""
    import hashlib

    norm = normalise_title(title)
    words = norm.split()[:max_words]
    digest = hashlib.sha1(norm.encode()).hexdigest()[:6]
    return "-".join(words + [digest]) if words else f"untitled-{digest}"


def paper_id_for(arxiv_id: str | None, doi: str | None, title: str) -> str:
    """Stable id: arXiv id (no version) when known, else the DOI, else derived from the title."""
    if arxiv_id:
        return arxiv_id
    if doi:
        return "doi:" + doi.lower()
    return title_slug(title)


class ReadState(str, Enum):
    UNREAD = "unread"
    READING = "reading"
    READ = "read"

    def next(self) -> ReadState:
        order = list(ReadState)
        return order[(order.index(self) + 1) % len(order)]


@dataclass
class Paper:
    """One paper's bibliographic record (never the user's own data: that is UserData)."""

    id: str
    title: str
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    published: date | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None  # the abstract / landing page
    other_urls: list[str] = field(default_factory=list)  # more pages, as a source listed them
    pdf_url: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    venue: str | None = None
    upvotes: int | None = None
    source: str = ""

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    @property
    def urls(self) -> list[str]:
        """The paper's pages as the sources gave them: `url` (split, should it hold several)
        and `other_urls`."""
        return list(dict.fromkeys([*split_urls(self.url), *self.other_urls]))

    def all_links(self) -> dict[str, str]:
        """Every link by kind, best first: the arXiv abstract page, the DOI, the other pages
        (`abstract`, then `link`, `link 2`…), the PDF, the code, the project page. The CLI, the
        reader and the exporters all read this, so they agree."""
        abs_url, pdf_url = arxiv_links(self.arxiv_id)
        doi_url = f"https://doi.org/{self.doi}" if self.doi else None
        links: dict[str, str] = {}
        if abs_url:
            links["abstract"] = abs_url
        if doi_url:
            links["doi"] = doi_url
        seen = {_same_url(u) for u in links.values()}
        extra = 0
        for url in self.urls:
            if _same_url(url) in seen or (
                self.arxiv_id and normalise_arxiv_id(url) == self.arxiv_id
            ):
                continue
            seen.add(_same_url(url))
            if "abstract" not in links:
                links["abstract"] = url
            else:
                extra += 1
                links["link" if extra == 1 else f"link {extra}"] = url
        for kind, url in (
            ("pdf", self.pdf_url or pdf_url),
            ("code", self.code_url),
            ("project", self.project_url),
        ):
            if url and _same_url(url) not in seen:
                seen.add(_same_url(url))
                links[kind] = url
        return links

    def to_dict(self) -> dict[str, Any]:
        # (by hand: the fields are flat, and dataclasses.asdict's deep copy took a tenth of
        # an import's time)
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("authors", "other_urls", "categories", "keywords"):
            data[name] = list(data[name])
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        if not values.get("id") or not values.get("title"):
            raise ValueError("a paper needs an id and a title")
        pub = values.get("published")
        if isinstance(pub, str) and pub:
            values["published"] = date.fromisoformat(pub[:10])
        elif isinstance(pub, datetime):
            values["published"] = pub.date()
        elif not isinstance(pub, date):
            values["published"] = None
        for list_field in ("authors", "other_urls", "categories", "keywords"):
            values[list_field] = [str(v) for v in values.get(list_field) or []]
        return cls(**values)


@dataclass
class Note:
    text: str
    created: datetime
    updated: datetime


@dataclass
class UserData:
    """What the user adds to a paper: the irreplaceable part, kept in the YAML store."""

    paper_id: str
    bookmarked: bool = False
    state: ReadState = ReadState.UNREAD
    tags: list[str] = field(default_factory=list)
    note: Note | None = None
    title: str = ""  # a copy of the paper's title, only so the YAML file reads well
    position: int = 0  # where the article view was left: the block at the top (0: the start)

    @property
    def is_empty(self) -> bool:
        return (
            not self.bookmarked
            and self.state is ReadState.UNREAD
            and not self.tags
            and (self.note is None or not self.note.text.strip())
        )


@dataclass
class Match:
    """Where a query matched one field: character spans into the field's text."""

    field: str
    spans: list[tuple[int, int]]


@dataclass
class Hit:
    """One search result row: enough for a list row without loading the full record."""

    id: str
    title: str
    first_author: str
    published: date | None
    score: float
    bookmarked: bool = False
    has_note: bool = False
    state: ReadState = ReadState.UNREAD
    tags: list[str] = field(default_factory=list)
    new: bool = False  # added since the last visit (see Library.new_ids)


@dataclass
class SearchResult:
    """A page of hits plus what the UI needs to say about the whole result."""

    query: str
    total: int
    hits: list[Hit]
    offset: int = 0
    elapsed_ms: float = 0.0
    suggestion: str | None = None  # "did you mean" query, when a word was corrected
    corrected: bool = False  # hits are for the suggestion, not the query as typed
    terms: set[tuple[str, str]] = field(default_factory=set)  # matched (field, indexed term)
    # The page's hits that matched the query only in their full text (they show a snippet)
    text_only: set[str] = field(default_factory=set)
    reason: str | None = None  # why a recommendation view is empty, when it is


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # the first few reasons for skips

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped"
        )
