"""The query language to a Whoosh query: filter words, fielded clauses, typed words, joined pairs, the NOT fix."""

from __future__ import annotations

import functools
import re
import threading

from whoosh import query as Q
from whoosh.qparser import (
    FieldAliasPlugin,
    FuzzyTermPlugin,
    GtLtPlugin,
    MultifieldParser,
    OrGroup,
)
from whoosh.qparser.dateparse import DateParserPlugin

from paperreader.core.errors import QueryError
from paperreader.core.fulltext.latex import to_unicode
from paperreader.core.search.expansion import (
    PARTIAL_MIN,
    BoundedFuzzy,
    BoundedPrefix,
    PartialPrefix,
)
from paperreader.core.search.schema import analyse
from paperreader.core.search.syntax import Fields, check, date_error

# A query's plain words are looked for in these fields; the full text (`text`, boosted lower
# in the schema) only in complete queries: as-you-type queries (partial_last) leave it out,
# see docs/benchmarks.md ("Full text and typing"). `text:word` searches it at any time.
TYPING_FIELDS = ["title", "abstract", "authors", "tags", "note", "ids"]
DEFAULT_FIELDS = [*TYPING_FIELDS, "text"]


FIELD_ALIASES = {
    "authors": ["author", "by"],
    "tags": ["tag"],
    "note": ["notes"],
    "date": ["year", "published"],
    "ids": ["id", "arxiv", "doi"],
}


SORTS = ("relevance", "newest", "oldest", "title")
# `word~5` builds a Levenshtein automaton that took 47 s on 98 papers: 2 edits is plenty.
MAX_FUZZY_DISTANCE = 2


_FILTER_WORDS = {
    "is:bookmarked": "flags:bookmarked",
    "is:starred": "flags:bookmarked",
    "is:unread": "state:unread",
    "is:reading": "state:reading",
    "is:read": "state:read",
    "has:note": "flags:note",
    "has:notes": "flags:note",
    "has:tag": "flags:tagged",
    "has:tags": "flags:tagged",
    "has:code": "flags:code",
}


_FILTER_RE = re.compile(r"(?<![\w:])(?:is|has):\w+", re.I)
_PLAIN_WORD = re.compile(r"""(?<![\w:"*~'-])([^\W\d_][\w'-]*)(?![\w:*~])""")
_OPERATORS = {"and", "or", "not", "to"}
_PLAIN_TOKEN = re.compile(r"[^\W\d_][\w'-]*")  # a word _PLAIN_WORD finds, alone
_FUZZY_WORD = re.compile(r"(\w+)~")
_FIELDED = re.compile(r'(?<![^\s(])\w+:(?:"[^"]*"|\[[^\]]*\]|\{[^}]*\}|[^\s()]+)')
_LONG_FIELDS = ("title", "abstract")
# LaTeX written in a query (`\alpha`, `$\beta$-VAE`): searched as the Unicode the index holds
_LATEX_BIT = re.compile(r"(?<!\\)\$[^$]+\$|\\[A-Za-z]+(?:\{[^{}]*\})?")


def latex_to_unicode(text: str) -> str:
    """The query with its LaTeX bits as Unicode (`\\alpha` -> `α`); the rest untouched (a
    `{...}` date range is query syntax, not LaTeX)."""
    if "\\" not in text and "$" not in text:
        return text
    return _LATEX_BIT.sub(lambda m: to_unicode(m.group(0)).strip() or " ", text)


def _typed_prefixes(word: str) -> list[Q.Query]:
    """The word being typed, last in the query, also as a prefix of the long fields' words."""
    last = word.lower()
    if len(last) < PARTIAL_MIN:
        return []
    return [PartialPrefix(f, last, boost=0.9) for f in _LONG_FIELDS]


class Typing(Q.Or):
    """Or([the words before, the parts of the word after them]): to Whoosh, an Or; to the
    search, a union whose first part it keeps between keystrokes (scoring.Extend)."""


def rewrite_filters(text: str) -> str:
    """`is:bookmarked`, `has:note` and friends become terms of the index's flag fields."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        if word not in _FILTER_WORDS:
            raise QueryError(
                f"unknown filter {m.group(0)!r}; known: " + ", ".join(sorted(_FILTER_WORDS))
            )
        return _FILTER_WORDS[word]

    return _FILTER_RE.sub(swap, text)


def _not_excludes(query: Q.Query) -> Q.Query:
    """`a b NOT c` means a or b, excluding c (Whoosh's OR grouping would OR in "not c")."""
    if not isinstance(query, Q.Or):
        return query
    negatives = [s.query for s in query.subqueries if isinstance(s, Q.Not)]
    if not negatives:
        return query
    positives = [s for s in query.subqueries if not isinstance(s, Q.Not)]
    base = Q.Or(positives, boost=query.boost, scale=query.scale) if positives else Q.Every()
    return Q.AndNot(base, Q.Or(negatives))


def _has_operators(text: str) -> bool:
    return bool(re.search(r"\b(AND|OR|NOT)\b|[\"()]", text))


class QueryParser:
    """The query language, parsed against one schema."""

    def __init__(self, schema) -> None:  # type: ignore[no-untyped-def]
        self.schema = schema
        self._parser = self._make_parser(DEFAULT_FIELDS)
        self._typing_parser = self._make_parser(TYPING_FIELDS)
        self.fields = Fields(schema.names(), FIELD_ALIASES)
        self._date_errors = threading.local()  # what the date plugin could not read, per thread
        self._date_parser = MultifieldParser(["date"], schema)
        self._date_parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
        self._date_parser.add_plugin(GtLtPlugin())
        self._date_parser.add_plugin(DateParserPlugin(free=False, callback=self._bad_date))

    def _bad_date(self, message: str) -> None:
        errors = getattr(self._date_errors, "found", None)
        if errors is not None:
            errors.append(message)

    def check(self, text: str) -> None:
        """QueryError naming the first problem of `text` and where it is (see syntax.py)."""
        for clause in check(text, self.fields):
            self._date_errors.found = []
            try:
                self._date_parser.parse(f"date:{clause.value}")
                bad = bool(self._date_errors.found)
            except Exception:
                bad = True
            finally:
                self._date_errors.found = None
            if bad:
                raise date_error(clause)

    def _make_parser(self, fields: list[str] = DEFAULT_FIELDS) -> MultifieldParser:
        parser = MultifieldParser(fields, self.schema, group=OrGroup)
        parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
        parser.add_plugin(FuzzyTermPlugin())
        parser.add_plugin(GtLtPlugin())
        parser.add_plugin(DateParserPlugin(free=False))
        return parser

    def parse(self, text: str, *, partial_last: bool = False) -> Q.Query:
        """Parse the query language. Plain words are ORed with a bonus for matching more of
        them; a clause aimed at one field (`date:2024`, `author:smith`, `is:bookmarked`) must
        hold, unless the user wrote their own AND / OR / NOT structure. A query that cannot
        mean what was typed is a QueryError (see syntax.py); LaTeX in it is read as Unicode."""
        self.check(text)
        text = rewrite_filters(latex_to_unicode(text))
        clauses: list[str] = []
        if not _has_operators(text):
            clauses = [m.group(0) for m in _FIELDED.finditer(text)]
            text = _FIELDED.sub(" ", text)
        parts = [self._parse_free(text, partial_last=partial_last)] if text.strip() else []
        parts += [self._parse_text(clause) for clause in clauses]
        if not parts:
            return Q.Every()
        return parts[0] if len(parts) == 1 else Q.And(parts)

    def _parse_text(self, text: str, *, typing: bool = False) -> Q.Query:
        parser = self._typing_parser if typing else self._parser
        try:
            query = parser.parse(text)
        except Exception as exc:
            raise QueryError(f"cannot read the query {text!r}: {exc}") from None
        if query is Q.NullQuery or isinstance(query, type(Q.NullQuery)):
            return Q.Every()
        # The words written before `~`, by their analysed form (see BoundedFuzzy).
        written = {}
        for m in _FUZZY_WORD.finditer(text):
            for stem in analyse(m.group(1)):
                written[stem] = m.group(1).lower()
        bound = functools.partial(self._bound_expansions, written=written)
        return query.accept(bound).accept(_not_excludes)

    def _parse_free(self, text: str, *, partial_last: bool) -> Q.Query:
        tokens = text.split()
        if (
            partial_last
            and len(tokens) > 1
            and text == text.rstrip()
            and all(_PLAIN_TOKEN.fullmatch(t) and t.lower() not in _OPERATORS for t in tokens)
        ):
            return self._parse_typed(tokens)
        query = self._parse_text(text, typing=partial_last)
        extras: list[Q.Query] = []
        words = [w for w in _PLAIN_WORD.findall(text) if w.lower() not in _OPERATORS]
        for a, b in zip(words, words[1:], strict=False):
            extras.extend(self._joined(a, b))
        stripped = text.rstrip()
        if partial_last and words and stripped == text and stripped.endswith(words[-1]):
            extras.extend(_typed_prefixes(words[-1]))
        if extras and not _has_operators(text):
            query = Q.Or([query, *extras])
        return query

    def _parse_typed(self, words: list[str]) -> Q.Query:
        """Plain words being typed, as _parse_free reads them (each word in every field, each
        pair joined, the last one also as a prefix), built a word at a time: each word's
        parts in a Typing after those of the words before it, so the search can keep the
        words before between keystrokes."""
        query = self._parse_text(words[0], typing=True)
        for n in range(1, len(words)):
            parts = [
                query,
                self._parse_text(words[n], typing=True),
                *self._joined(words[n - 1], words[n]),
            ]
            if n == len(words) - 1:
                parts.extend(_typed_prefixes(words[n]))
            query = Typing(parts)
        return query

    def _joined(self, a: str, b: str) -> list[Q.Query]:
        """Two neighbouring words written as one: "flash attention" also finds
        "FlashAttention"."""
        joined = analyse(a + b)
        return [Q.Term(f, joined[0]) for f in _LONG_FIELDS] if joined else []

    def _bound_expansions(self, q: Q.Query, written: dict[str, str]) -> Q.Query:
        if type(q) is Q.Prefix:
            return BoundedPrefix(q.fieldname, q.text, boost=q.boost)
        if type(q) is Q.FuzzyTerm:
            return BoundedFuzzy(
                q.fieldname,
                q.text,
                boost=q.boost,
                maxdist=min(q.maxdist, MAX_FUZZY_DISTANCE),
                prefixlength=q.prefixlength,
                word=written.get(q.text),
            )
        return q
