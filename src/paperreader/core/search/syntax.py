"""A syntax check of the query language before it reaches Whoosh, which reads leniently what it
cannot parse (an unclosed `(` or `"` dropped, a lone `AND` searched as a word, `date:notadate`
matching every paper). Each problem is one line naming what is wrong and where (column, from 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from paperreader.core.errors import QueryError

# The fields a user writes, in the order an error lists them; fields the schema gains later
# (e.g. `text`) are listed after these.
SHOWN_FIELDS = ("title", "abstract", "author", "tag", "note", "date", "year", "id", "arxiv", "doi")
# Schema fields that are the index's own (searched through `is:`/`has:` or an alias).
HIDDEN_FIELDS = {"title_sort", "first_author", "flags", "state"}
DATE_FIELDS = {"date", "year", "published"}
FILTER_PREFIXES = {"is", "has"}
OPERATORS = {"AND", "OR", "NOT"}

_RUN = re.compile(r'[^\s()"]+')
_FIELD = re.compile(r"([^\W\d_][\w]*):(.*)", re.S)
_CLOSE = {"[": "]", "{": "}"}


@dataclass(frozen=True)
class DateClause:
    field: str
    value: str
    column: int


class Fields:
    """The field names a query may use, and how an unknown one is reported."""

    def __init__(self, schema_names: Iterable[str], aliases: dict[str, list[str]]) -> None:
        # (Whoosh's `spell_*` fields hold did-you-mean words: not for queries)
        names = {n for n in schema_names if not n.startswith("spell_")}
        self.known = {n.lower() for n in names} | {a for al in aliases.values() for a in al}
        self.known |= FILTER_PREFIXES
        alias_targets = set(aliases)
        extra = sorted(
            n
            for n in names
            if n not in HIDDEN_FIELDS
            and n not in alias_targets
            and n not in SHOWN_FIELDS
            and n not in {"authors", "tags", "ids"}
        )
        self.shown = [*SHOWN_FIELDS, *extra, "is:", "has:"]

    def unknown(self, name: str, column: int) -> QueryError:
        return QueryError(
            f"unknown field {name!r} at column {column}; known: {', '.join(self.shown)}"
        )


def check(text: str, fields: Fields) -> list[DateClause]:
    """QueryError for the first problem in `text`; else its date clauses (the caller checks
    their values with the date parser)."""
    tokens: list[tuple[str, str, int]] = []  # (kind, text, column): kind word, op, (, )
    dates: list[DateClause] = []
    opened: list[int] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            opened.append(i)
            tokens.append(("(", c, i + 1))
            i += 1
            continue
        if c == ")":
            if not opened:
                raise QueryError(f"unmatched ')' at column {i + 1}")
            opened.pop()
            tokens.append((")", c, i + 1))
            i += 1
            continue
        if c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(f'unclosed quote at column {i + 1}: end the phrase with "')
            tokens.append(("word", text[i : end + 1], i + 1))
            i = end + 1
            continue
        run = _RUN.match(text, i)
        assert run is not None
        token = run.group(0)
        field = _FIELD.fullmatch(token)
        if field and not field.group(2).startswith(("/", ":")):
            name, rest = field.group(1), field.group(2)
            if name.lower() not in fields.known:
                raise fields.unknown(name, i + 1)
            after = i + len(name) + 1
            if rest[:1] in _CLOSE:
                end = text.find(_CLOSE[rest[0]], after)
                if end < 0:
                    raise QueryError(f"unclosed {rest[0]!r} at column {after + 1}")
                value = text[after : end + 1]
                if name.lower() in DATE_FIELDS:
                    dates.append(DateClause(name, value, i + 1))
                tokens.append(("word", text[i : end + 1], i + 1))
                i = end + 1
                continue
            if not rest:
                following = text[after : after + 1]
                if following in ("(", '"'):
                    i = after  # the group or phrase that follows is the field's value
                    continue
                raise QueryError(f"{name}: at column {i + 1} needs a value (e.g. {name}:word)")
            if name.lower() in DATE_FIELDS:
                dates.append(DateClause(name, rest, i + 1))
            tokens.append(("word", token, i + 1))
            i += len(token)
            continue
        tokens.append(("op" if token in OPERATORS else "word", token, i + 1))
        i += len(token)
    if opened:
        raise QueryError(f"unclosed '(' at column {opened[-1] + 1}")
    _check_operators(tokens)
    return dates


def _check_operators(tokens: list[tuple[str, str, int]]) -> None:
    for k, (kind, word, column) in enumerate(tokens):
        if kind != "op":
            continue
        before = tokens[k - 1][0] if k else None
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        right = after is not None and (
            after[0] in ("word", "(") or (after[0] == "op" and after[1] == "NOT")
        )
        if word == "NOT":
            if not right:
                raise QueryError(f"NOT at column {column} needs a word after it")
            continue
        if before not in ("word", ")") or not right:
            raise QueryError(
                f"{word} at column {column} needs a word on each side "
                f"(for the word, write it in lower case or quote it)"
            )


def date_error(clause: DateClause) -> QueryError:
    return QueryError(
        f"{clause.field}:{clause.value} at column {clause.column} is not a date; "
        "e.g. date:2024, date:2024-03, date:>2023-06, date:[2023 TO 2024]"
    )
