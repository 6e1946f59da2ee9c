"""What a paper is to the index and back: analyzers, the schema, a paper's document, a hit from stored fields."""

from __future__ import annotations

from datetime import datetime

from whoosh.analysis import (
    CharsetFilter,
    IntraWordFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from paperreader.core.models import Hit, Paper, ReadState, UserData, normalise_title

SCHEMA_VERSION = "4"
UNDATED = datetime(1900, 1, 1)
_WORD = r"\w+(?:[-'.]\w+)*"


TEXT_ANALYZER = (
    RegexTokenizer(_WORD)
    | IntraWordFilter(mergewords=True, mergenums=True)
    | LowercaseFilter()
    | CharsetFilter(accent_map)
    | StopFilter(minsize=1)
    | StemFilter(cachesize=50000)
)


NAME_ANALYZER = RegexTokenizer(r"\w+") | LowercaseFilter() | CharsetFilter(accent_map)


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        ids=KEYWORD(lowercase=True, commas=True),
        title=TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=3.0, spelling=True),
        title_sort=ID(sortable=True),
        authors=TEXT(analyzer=NAME_ANALYZER, field_boost=1.5),
        first_author=STORED,
        abstract=TEXT(analyzer=TEXT_ANALYZER, spelling=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True, field_boost=2.0),
        note=TEXT(analyzer=TEXT_ANALYZER, field_boost=2.0),  # the user's own words
        flags=KEYWORD(stored=True, lowercase=True),
        state=ID(stored=True),
        date=DATETIME(stored=True, sortable=True),
    )


def flags_for(paper: Paper, user: UserData | None) -> list[str]:
    flags = []
    if user and user.bookmarked:
        flags.append("bookmarked")
    if user and user.note and user.note.text.strip():
        flags.append("note")
    if user and user.tags:
        flags.append("tagged")
    if paper.code_url:
        flags.append("code")
    if paper.arxiv_id:
        flags.append("arxiv")
    return flags


def document(paper: Paper, user: UserData | None) -> dict[str, object]:
    ids = [paper.id, paper.arxiv_id or "", paper.doi or ""]
    doc: dict[str, object] = {
        "id": paper.id,
        "ids": ",".join(i.lower() for i in ids if i),
        "title": paper.title,
        "title_sort": normalise_title(paper.title)[:200] or "~",
        "authors": " ; ".join(paper.authors),
        "first_author": paper.first_author,
        "abstract": paper.abstract,
        "tags": ",".join(user.tags) if user else "",
        "note": user.note.text if user and user.note else "",
        "flags": " ".join(flags_for(paper, user)),
        "state": (user.state if user else ReadState.UNREAD).value,
    }
    when = paper.published
    # Undated papers get a sentinel, so "newest" lists them last, as the SQLite list does
    # (Whoosh sorted missing dates first when reversed).
    doc["date"] = datetime(when.year, when.month, when.day) if when else UNDATED
    return doc


def analyse(word: str) -> list[str]:
    """A word as the text fields index it (its stems; none for a stop word)."""
    return [t.text for t in TEXT_ANALYZER(word)]


def hit_from_fields(fields: dict[str, object], score: float) -> Hit:
    """A search hit from a document's stored fields."""
    when = fields.get("date")
    flags = fields.get("flags", "").split()
    return Hit(
        id=fields["id"],
        title=fields.get("title", ""),
        first_author=fields.get("first_author", "") or "",
        published=when.date() if isinstance(when, datetime) and when != UNDATED else None,
        score=score,
        bookmarked="bookmarked" in flags,
        has_note="note" in flags,
        state=ReadState(fields.get("state") or "unread"),
        tags=[t for t in (fields.get("tags") or "").split(",") if t],
    )
