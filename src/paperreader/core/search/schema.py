"""What a paper is to the index and back: analyzers, the schema, a paper's document, a hit from stored fields."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    IntraWordFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from paperreader.core.fulltext.latex import to_unicode
from paperreader.core.models import Hit, Paper, ReadState, UserData, normalise_title

SCHEMA_VERSION = "5"  # 5: titles and abstracts indexed as Unicode, Greek names, the full text
UNDATED = datetime(1900, 1, 1)
_WORD = r"\w+(?:[-'.]\w+)*"
# The full text indexed per paper at most: one 50 MB text file must not make a commit take
# minutes (200,000 characters is a long paper: ~30,000 words).
INDEXED_TEXT_MAX = 200_000
TEXT_BOOST = 0.5  # the full text's words count for less than the title's, abstract's, note's

_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρστυφχψωςϑϕϖϵϱϰ",
        [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
            "zeta",
            "eta",
            "theta",
            "iota",
            "kappa",
            "lambda",
            "mu",
            "nu",
            "xi",
            "omicron",
            "pi",
            "rho",
            "sigma",
            "tau",
            "upsilon",
            "phi",
            "chi",
            "psi",
            "omega",
            "sigma",
            "theta",
            "phi",
            "pi",
            "epsilon",
            "rho",
            "kappa",
        ],
        strict=True,
    )
)


class GreekNames(Filter):
    """A word of Greek letters (`α`, `αβ`) also as its letters' names (`alpha`, `alphabeta`)
    at the same position when indexing, and only as the names in a query: `α`, `alpha` and
    `\\alpha` (converted by the query parser) all find `$\\alpha$`."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        for t in tokens:
            text = t.text
            if text and ("\u0370" <= text[0] <= "\u03ff") and all(c in _GREEK for c in text):
                named = "".join(_GREEK[c] for c in text)
                if t.mode == "query":
                    t.text = named
                    yield t
                    continue
                yield t
                t.text = named
            yield t


TEXT_ANALYZER = (
    RegexTokenizer(_WORD)
    | IntraWordFilter(mergewords=True, mergenums=True)
    | LowercaseFilter()
    | GreekNames()
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
        # the paper's full text (attached or fetched), with positions for phrases; not stored:
        # snippets are cut from text.txt
        text=TEXT(analyzer=TEXT_ANALYZER, field_boost=TEXT_BOOST),
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


@dataclass
class IndexedPaper(Paper):
    """A paper with its full text, as the index is given it (see SearchIndex.text_loader)."""

    full_text: str = ""

    @classmethod
    def of(cls, paper: Paper, text: str) -> IndexedPaper:
        values = {f.name: getattr(paper, f.name) for f in fields(Paper)}
        return cls(**values, full_text=text[:INDEXED_TEXT_MAX])


def document(paper: Paper, user: UserData | None) -> dict[str, object]:
    ids = [paper.id, paper.arxiv_id or "", paper.doi or ""]
    title = to_unicode(paper.title)
    doc: dict[str, object] = {
        "id": paper.id,
        "ids": ",".join(i.lower() for i in ids if i),
        "title": title,  # stored: what lists and `search` show
        "title_sort": normalise_title(title)[:200] or "~",
        "authors": " ; ".join(to_unicode(a) for a in paper.authors),
        "first_author": to_unicode(paper.first_author),
        "abstract": to_unicode(paper.abstract),
        "text": getattr(paper, "full_text", "")[:INDEXED_TEXT_MAX],
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
