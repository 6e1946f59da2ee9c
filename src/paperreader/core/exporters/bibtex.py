"""BibTeX that BibTeX, biber and bibtexparser read back (and `paperreader import` too).

Keys look like `vaswani2017attention` (first author's last name, year, first title word that is
not a stopword; lowercase ASCII); a clash gets `b`, `c`, ... appended. Text is written as UTF-8
with LaTeX's special characters escaped; `$...$` math is written as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TextIO

from paperreader.core.models import Paper, UserData, arxiv_links

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "for",
        "to",
        "and",
        "or",
        "with",
        "without",
        "from",
        "by",
        "at",
        "as",
        "is",
        "are",
        "be",
        "via",
        "using",
        "into",
        "onto",
        "over",
        "under",
        "towards",
        "toward",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "who",
        "do",
        "does",
        "can",
        "we",
        "our",
        "your",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "not",
        "no",
        "all",
        "new",
    ]
)
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_FOLD = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "œ": "oe",
     "Œ": "OE", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i"}
)  # fmt: skip
_MATH = re.compile(r"(\$[^$]*\$)")
_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_UNPAIRED_ESCAPES = {
    **_TEXT_ESCAPES,
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
}
_TEXT_SPECIAL = re.compile(r"[\\{}$&%#_~^]")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def ascii_fold(text: str) -> str:
    """Lowercase ASCII letters and digits only: `Schrödinger` -> `schrodinger`."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "", folded.lower())


def _balanced(text: str) -> bool:
    """Braces balanced as BibTeX counts them: every brace, escaped or not."""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def escape(text: str) -> str:
    """Text for a BibTeX field: specials escaped outside math, balanced `$...$` math kept.

    BibTeX counts escaped braces too, so `\\{` and `\\}` are used only when they pair up;
    otherwise braces are written as `\\textbraceleft{}` and `\\textbraceright{}`."""
    parts = _MATH.split(text or "")

    def render(escapes: dict[str, str]) -> str:
        return "".join(
            part
            if i % 2 and _balanced(part) and not part.endswith("\\$")
            else _TEXT_SPECIAL.sub(lambda m: escapes[m.group(0)], part)
            for i, part in enumerate(parts)
        )

    result = render(_TEXT_ESCAPES)
    return result if _balanced(result) else render(_UNPAIRED_ESCAPES)


def _escape_url(url: str) -> str:
    # url/doi fields are verbatim for biber; only what would break the braces is escaped.
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def _split_name(name: str) -> tuple[str, str, str]:
    """(first, last, suffix) from "First von Last Suffix"."""
    words = [w for w in name.split(" ") if w]
    suffix = ""
    if len(words) > 2 and words[-1].lower() in _SUFFIXES:
        suffix = words.pop()
    if len(words) == 1:
        return "", words[0], suffix
    start = len(words) - 1
    for i in range(1, len(words) - 1):  # a lowercase particle starts the last name: "van der"
        if words[i][:1].islower():
            start = i
            break
    return " ".join(words[:start]), " ".join(words[start:]), suffix


def format_name(name: str) -> str:
    """ "Ashish Vaswani" -> "Vaswani, Ashish"; names that BibTeX would split wrongly are braced."""
    name = " ".join(w for w in name.split(" ") if w)
    if "," in name or re.search(r"\band\b", name, re.I) or not name:
        return "{" + escape(name) + "}"
    first, last, suffix = _split_name(name)
    if not first:
        return escape(last) if not suffix else f"{escape(last)}, {escape(suffix)}, "
    if suffix:
        return f"{escape(last)}, {escape(suffix)}, {escape(first)}"
    return f"{escape(last)}, {escape(first)}"


def _last_name(name: str) -> str:
    return _split_name(name)[1] if name.strip(" ") else ""


def base_key(paper: Paper) -> str:
    author = ""
    if paper.authors:
        last = _last_name(paper.authors[0])
        author = ascii_fold(last.split()[-1] if last.split() else "") or ascii_fold(last)
    word = next(
        (ascii_fold(w) for w in re.findall(r"[^\W_]+", paper.title) if w.lower() not in STOPWORDS),
        "",
    )
    year = str(paper.year) if paper.year else ""
    key = f"{author or 'anon'}{year}{word}"
    return key or "paper"


def _suffixes() -> Iterable[str]:
    letters = "bcdefghijklmnopqrstuvwxyz"
    yield from letters
    n = 2
    while True:
        yield from (f"{a}{n}" for a in letters)
        n += 1


def _field(name: str, value: str) -> str:
    return f"  {name} = {{{value}}},\n"


def entry(paper: Paper, key: str, tags: Iterable[str] = ()) -> str:
    kind = "article" if paper.venue else "misc"
    lines = [f"@{kind}{{{key},\n"]
    lines.append(_field("title", "{" + escape(paper.title) + "}"))
    if paper.authors:
        lines.append(_field("author", " and ".join(format_name(a) for a in paper.authors)))
    if paper.published:
        lines.append(_field("year", str(paper.published.year)))
        lines.append(f"  month = {_MONTHS[paper.published.month - 1]},\n")
    if paper.venue:
        lines.append(_field("journal", escape(paper.venue)))
    if paper.arxiv_id:
        lines.append(_field("eprint", escape(paper.arxiv_id)))
        lines.append(_field("archivePrefix", "arXiv"))
        if paper.categories:
            lines.append(_field("primaryClass", escape(paper.categories[0])))
    if paper.doi:
        lines.append(_field("doi", _escape_url(paper.doi)))
    url = next(iter(paper.urls), None) or arxiv_links(paper.arxiv_id)[0]
    if url:
        lines.append(_field("url", _escape_url(url)))
    if paper.abstract:
        lines.append(_field("abstract", escape(paper.abstract)))
    keywords = list(dict.fromkeys([*paper.keywords, *tags]))
    if keywords:
        lines.append(_field("keywords", ", ".join(escape(k) for k in keywords)))
    lines.append("}\n")
    return "".join(lines)


def export(
    papers: Iterable[Paper], out: TextIO, user: Callable[[str], UserData | None] | None = None
) -> int:
    """Write one entry per paper; returns how many were written."""
    used: set[str] = set()
    count = 0
    for paper in papers:
        key = base = base_key(paper)
        if key in used:
            key = next(base + s for s in _suffixes() if base + s not in used)
        used.add(key)
        mine = user(paper.id) if user else None
        if count:
            out.write("\n")
        out.write(entry(paper, key, mine.tags if mine else ()))
        count += 1
    return count
