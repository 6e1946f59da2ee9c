"""Cleaning untrusted text from papers before it is stored, indexed or shown.

Text from feeds and files may hold terminal escape sequences (OSC 52 writes the clipboard,
`ESC c` resets the terminal), C0/C1 controls, bidi overrides and zero-width characters.
Everything that enters the library goes through `clean_text` or `clean_line`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paperreader.core.models import Paper

# ESC-introduced sequences: OSC/DCS/SOS/PM/APC strings (terminated by BEL or ST, or unclosed up
# to the end), CSI sequences, and two-character escapes. The 8-bit C1 forms are covered too.
_ESCAPES = re.compile(
    r"""
    (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])  .*? (?:\x07|\x1b\\|\x9c|$)   # string sequences
  | (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]?                                 # CSI
  | \x1b [ -/]* [0-~]?                                                   # other escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# Controls (C0 but tab/newline, DEL, C1), bidi marks/embeddings/overrides/isolates (incl. the
# Arabic letter mark), zero-width chars, and the invisible "tag" characters used to smuggle text.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# Runs of spaces to squeeze: a single " " is not matched (it would be replaced by itself, and
# an abstract has ~200 of them: 26 us a 1,300-character abstract, 15 us this way).
_SPACES = re.compile(
    r"(?: [ \t\u00a0\u2000-\u200a\u3000]|[\t\u00a0\u2000-\u200a\u3000])"
    r"[ \t\u00a0\u2000-\u200a\u3000]*"
)
_MANY_NEWLINES = re.compile(r"\n{3,}")


def strip_controls(text: str) -> str:
    """Remove escape sequences and invisible/control characters, keeping newlines and tabs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text or not text.isascii():  # (the sequences' only ASCII start: 33 us saved)
        text = _ESCAPES.sub("", text)
    return _INVISIBLE.sub("", text)


def clean_text(text: str | None, *, keep_newlines: bool = True) -> str:
    """Safe, normalised text: NFC, no controls, squeezed spaces, at most one blank line."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", strip_controls(text))
    if not keep_newlines:
        return _SPACES.sub(" ", text.replace("\n", " ")).strip()
    text = "\n".join(line.strip() for line in _SPACES.sub(" ", text).split("\n"))
    return (_MANY_NEWLINES.sub("\n\n", text) if "\n\n\n" in text else text).strip()


def clean_line(text: str | None) -> str:
    """One line of safe text: wrapped lines are joined with a space."""
    return clean_text(text, keep_newlines=False)


def unwrap(text: str | None) -> str:
    """Join hard-wrapped lines inside paragraphs; keep paragraph breaks."""
    cleaned = clean_text(text)
    paragraphs = re.split(r"\n\s*\n", cleaned)
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def decode_html(text: str) -> str:
    """Decode entities and drop tags (`<i>`, `<sub>`) from text that came from HTML feeds."""
    if "<" in text:
        text = re.sub(r"</?[a-zA-Z][^<>]{0,200}>", "", text)
    return html.unescape(text) if "&" in text else text


_LATEX_HINT = re.compile(r"\\[a-zA-Z'`^\"~=.%&#_]|[{}]")
# An unescaped % starts a LaTeX comment: pylatexenc would drop the rest of the line.
_BARE_PERCENT = re.compile(r"(?<!\\)%")


def latex_to_unicode(text: str) -> str:
    """Turn LaTeX accents and braces into Unicode (`Schr\\"{o}dinger` -> Schrödinger).

    Math between `$...$` is kept as written: readers want to see the formula.
    """
    if not _LATEX_HINT.search(text):
        return text
    from pylatexenc.latex2text import LatexNodes2Text

    parts = _MATH_SPANS.split(text)
    converter = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)
    out = []
    for k, part in enumerate(parts):
        if k % 2:  # math, kept as written
            out.append(part)
            continue
        for is_latex, piece in islands(_BARE_PERCENT.sub(r"\\%", part)):
            if not is_latex:
                out.append(piece)
                continue
            try:
                out.append(converter.latex_to_text(piece))
            except Exception:  # pylatexenc is lenient, but never let a title break an import
                out.append(piece)
    return "".join(out)


_MATH_SPANS = re.compile(r"(\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\))", re.DOTALL)
# What pylatexenc's text mode changes: macros and escapes, groups, and its "specials".
_LATEX_CHARS = re.compile(r"[\\{}~&]|``|''|--|[!?]`")
# A word ending in a macro takes the next word as its argument (`\\c c`, `\\' e`, `\\it x`).
_MACRO_END = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z\s])$")
_ENVIRONMENT = re.compile(r"\\begin\s*\{([^{}]*)\}")


def islands(text: str) -> list[tuple[bool, str]]:
    """`text` cut into plain pieces and the words that hold LaTeX (with a group or a macro's
    arguments whole): only those go through pylatexenc, whose cost grows with the length of
    what it reads (a 1,500-character abstract with one `\\textbf{...}`: ~15 ms whole). Whitespace
    at a cut may differ from converting the whole; callers squeeze spaces anyway."""
    pieces: list[tuple[bool, str]] = []
    pos, size = 0, len(text)
    while (found := _LATEX_CHARS.search(text, pos)) is not None:
        start = found.start()
        while start > pos and not text[start - 1].isspace():
            start -= 1
        end, depth = start, 0
        while end < size:
            char = text[end]
            if char == "\\":
                end += 2
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth = max(0, depth - 1)
            elif char.isspace() and depth == 0:
                after = end
                while after < size and text[after].isspace():
                    after += 1
                # the next word is LaTeX too, or an argument of this word's macro (`\\c c`,
                # `\\textbf {x}`): one island
                if after < size and (
                    text[after] in "{[\\"
                    or _LATEX_CHARS.match(text, after)
                    or _MACRO_END.search(text, start, end)
                ):
                    end = after
                    continue
                break
            end += 1
        if (env := _ENVIRONMENT.search(text, start, end)) is not None:  # the whole environment
            closing = text.find(f"\\end{{{env.group(1)}}}", env.end())
            end = max(end, size if closing < 0 else closing + len(env.group(1)) + 6)
        if start > pos:
            pieces.append((False, text[pos:start]))
        pieces.append((True, text[start:end]))
        pos = end
    if pos < size:
        pieces.append((False, text[pos:]))
    return pieces


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


# Real abstracts are under 5,000 characters and titles under 500; a feed or file that holds more
# is broken or hostile. Capping at import keeps indexing, the detail view and highlighting fast.
MAX_TITLE = 2_000
MAX_ABSTRACT = 100_000
MAX_AUTHORS = 2_000
MAX_SHORT = 2_000  # author names, venues, urls, ids


def bound_fields(paper: Paper) -> Paper:
    """Cut a paper's text fields to sane sizes, in place (an ellipsis marks a cut)."""
    paper.title = truncate(paper.title, MAX_TITLE)
    paper.abstract = truncate(paper.abstract, MAX_ABSTRACT)
    if len(paper.authors) > MAX_AUTHORS:
        paper.authors = paper.authors[:MAX_AUTHORS]
    if any(len(a) > MAX_SHORT for a in paper.authors):
        paper.authors = [truncate(a, MAX_SHORT) for a in paper.authors]
    for name in ("url", "pdf_url", "code_url", "project_url", "venue", "doi"):
        value = getattr(paper, name)
        if isinstance(value, str) and len(value) > MAX_SHORT:
            setattr(paper, name, value[:MAX_SHORT])
    paper.other_urls = [u[:MAX_SHORT] for u in paper.other_urls[:50]]
    paper.categories = [truncate(c, 200) for c in paper.categories[:200]]
    paper.keywords = [truncate(k, 200) for k in paper.keywords[:500]]
    return paper
