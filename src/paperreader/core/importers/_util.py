"""Small helpers shared by the format modules: reading, LaTeX, names and dates."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from paperreader.core.errors import ImportFailure
from paperreader.core.importers.base import MAX_WHOLE_FILE
from paperreader.core.text import clean_line, clean_text, latex_to_unicode, unwrap


def read_whole(path: Path) -> bytes:
    """The whole file as bytes; ImportFailure (one line naming the file) when that is not possible."""
    try:
        size = path.stat().st_size
        if size > MAX_WHOLE_FILE:
            raise ImportFailure(
                f"{path}: too large to read whole ({size // (1024 * 1024)} MB; "
                f"the limit is {MAX_WHOLE_FILE // (1024 * 1024)} MB)"
            )
        return path.read_bytes()
    except IsADirectoryError:
        raise ImportFailure(f"{path}: is a directory") from None
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot read ({exc.strerror or exc})") from None


def to_text(data: bytes | str) -> str:
    """Bytes decoded as UTF-8 (or UTF-16 with a BOM), bad bytes replaced, BOM dropped."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").lstrip("\ufeff")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def first_line(message: object, limit: int = 200) -> str:
    """An exception or message as one short line."""
    text = str(message).strip().split("\n", 1)[0]
    return clean_line(text)[:limit] or type(message).__name__


def load_json(data: bytes | str, where: str) -> Any:
    """A whole JSON document; ImportFailure (one line naming `where`) when empty or invalid."""
    text = to_text(data)
    if not text.strip():
        raise ImportFailure(f"{where}: the file is empty")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ImportFailure(f"{where}: not valid JSON ({first_line(exc)})") from None


# --- LaTeX -----------------------------------------------------------------------------------

# Mendeley writes a backslash typed in a field as `$\backslash$` (so `R$\backslash$'enyi`).
_MENDELEY_BACKSLASH = re.compile(r"\{?\$\\backslash\$\}?")
_LATEX_NEEDED = re.compile(r"\\[a-zA-Z'`^\"~=.]|[{}]")
_MATH = re.compile(r"(\$[^$]*\$)")

# Escaped characters are swapped for private-use placeholders while the rest is converted, so
# that `\{` or `\$` cannot be taken for grouping or math, then restored at the end.
_ESCAPED = {
    r"\textbackslash": "\\",
    r"\textasciitilde": "~",
    r"\textasciicircum": "^",
    r"\textbraceleft": "{",
    r"\textbraceright": "}",
    r"\{": "{",
    r"\}": "}",
    r"\$": "$",
    r"\&": "&",
    r"\%": "%",
    r"\_": "_",
    r"\#": "#",
}
_PLACEHOLDER = {src: chr(0xE000 + i) for i, src in enumerate(_ESCAPED)}
_RESTORE = {chr(0xE000 + i): out for i, out in enumerate(_ESCAPED.values())}
_ESCAPE_RE = re.compile(
    r"\\text(?:backslash|asciitilde|asciicircum|braceleft|braceright)(?![a-zA-Z])(?:\s*\{\})?"
    r"|\\[{}$&%_#]"
)
_RESTORE_RE = re.compile("[\ue000-\ue00b]")
_DOLLAR = "\ue00f"

_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "aa": "å", "AA": "Å",
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "i": "ı", "j": "ȷ",
}  # fmt: skip
_BASE = r"(?:[A-Za-z]|\\[ij](?![A-Za-z]))"
# \'e  \'{e}  {\'e}  {\'{e}}  \v{c}  \v c  (letter accents need braces or a space)
_ACCENT_RE = re.compile(
    r"\{\\(['`^\"~=.])\s*(?:\{(" + _BASE + r")\}|(" + _BASE + r"))\}"
    r"|\\(['`^\"~=.])\s*(?:\{(" + _BASE + r")\}|(" + _BASE + r"))"
    r"|\{\\([uvHckr])(?:\{(" + _BASE + r")\}|\s+(" + _BASE + r"))\}"
    r"|\\([uvHckr])(?:\{(" + _BASE + r")\}|\s+(" + _BASE + r"))"
)
_LETTER_RE = re.compile(
    r"\{\\(ss|aa|AA|ae|AE|oe|OE|[oOlLij])\}|\\(ss|aa|AA|ae|AE|oe|OE|[oOlLij])(?![A-Za-z])(?:\{\})?"
)
_PLAIN_GROUP = re.compile(r"\{([^{}\\]*)\}")
_MACRO_BEFORE = re.compile(r"\\[A-Za-z]+\s*$")


def _accent(m: re.Match[str]) -> str:
    groups = m.groups()
    for i in range(0, len(groups), 3):
        if groups[i]:
            base = groups[i + 1] or groups[i + 2]
            return {"\\i": "i", "\\j": "j"}.get(base, base) + _ACCENTS[groups[i]]
    return m.group(0)


def _letter(m: re.Match[str]) -> str:
    return _LETTERS[m.group(1) or m.group(2)]


def _ungroup(m: re.Match[str]) -> str:
    if _MACRO_BEFORE.search(m.string, 0, m.start()):
        return m.group(0)  # a macro's argument: leave it to pylatexenc
    return m.group(1)


_LOGOS = re.compile(r"\\(La)?TeX(?![a-zA-Z])(?:\s*\{\})?")


def _convert_text(part: str) -> str:
    """Non-math LaTeX text to Unicode: common accents quickly, the rest through pylatexenc."""
    part = _LOGOS.sub(lambda m: "LaTeX" if m.group(1) else "TeX", part)
    part = _ACCENT_RE.sub(_accent, part)
    part = _LETTER_RE.sub(_letter, part)
    previous = None
    while previous != part and "{" in part:
        previous, part = part, _PLAIN_GROUP.sub(_ungroup, part)
    if _LATEX_NEEDED.search(part):
        part = latex_to_unicode(part)
    return part


def latex_text(text: str | None) -> str:
    """LaTeX accents, commands and braces turned into Unicode; `$...$` math kept as written."""
    if not text:
        return ""
    text = _MENDELEY_BACKSLASH.sub(r"\\", text)
    if "\\" not in text and "{" not in text and "}" not in text:
        return text
    while is_braced(text):  # {{Title}}: the braces that protect a whole title's case
        text = text[1:-1]
    text = text.replace("\\$", _DOLLAR)  # an escaped dollar neither opens nor closes math
    parts = _MATH.split(text)
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = part.replace(_DOLLAR, "\\$")
            continue
        part = _ESCAPE_RE.sub(_hide, part)
        if _LATEX_NEEDED.search(part):
            part = _convert_text(part)
        parts[i] = _RESTORE_RE.sub(lambda m: _RESTORE[m.group(0)], part).replace(_DOLLAR, "$")
    return "".join(parts)


def _hide(m: re.Match[str]) -> str:
    found = m.group(0)
    key = found if len(found) == 2 else found[: len(found.split("{")[0].rstrip())]
    return _PLACEHOLDER[key]


_MENDELEY_ESCAPES = re.compile(
    r"\\backslash(?![a-zA-Z]*\})\s?"
    r"|(?<!\\)\{\\([$&%_{}#])\}|(?<!\\)\{\\\^\{\}\}|(?<!\\)\{~\}"
)


def mendeley_unescape(text: str) -> str:
    r"""Undo Mendeley's "escape LaTeX" export: `{\$}\backslashrho{\$}` was `$\rho$`."""
    if "\\backslash" not in text and "{\\" not in text and "{~}" not in text:
        return text
    text = _MENDELEY_BACKSLASH.sub(r"\\", text)

    def undo(m: re.Match[str]) -> str:
        found = m.group(0)
        if found.startswith("\\backslash"):
            return "\\"
        if m.group(1):
            return m.group(1)
        return "^" if "^" in found else "~"

    return _MENDELEY_ESCAPES.sub(undo, text)


def latex_line(text: str | None) -> str:
    """One clean line (titles, names, venues) from text that may hold LaTeX."""
    return clean_line(latex_text(text))


def latex_para(text: str | None) -> str:
    """An abstract from text that may hold LaTeX: wrapped lines joined, paragraphs kept."""
    return unwrap(latex_text(text))


def latex_url(text: str | None) -> str:
    """A URL or DOI written in BibTeX: only the escapes undone (a `~` stays a `~`)."""
    if not text:
        return ""
    text = re.sub(r"\{\\~\{\}\}|\\~\{\}|\\textasciitilde\{?\}?", "~", text)
    text = re.sub(r"\\([%&_#$~])", r"\1", text)
    return clean_line(text.replace("{", "").replace("}", "")).replace(" ", "")


def plain_para(text: str | None) -> str:
    return clean_text(text)


# --- names -----------------------------------------------------------------------------------

_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"}


def flip_name(name: str) -> str:
    """ "Last, First" -> "First Last"; "Last, Jr, First" -> "First Last Jr"; others unchanged."""
    parts = [p.strip() for p in split_top_level(name, ",")]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        last, first = parts
        return f"{first} {last}".strip()
    last, suffix, first = parts[0], parts[1], ", ".join(parts[2:])
    return " ".join(p for p in (first, last, suffix) if p)


def is_braced(text: str) -> bool:
    """True when the whole text is one `{...}` group (`{a} {b}` is not)."""
    if len(text) < 2 or text[0] != "{" or text[-1] != "}":
        return False
    depth = 0
    for i, ch in enumerate(text):
        if ch == "\\":
            continue
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0 and i < len(text) - 1:
                return False
    return depth == 0


def split_top_level(text: str, sep: str, *, quotes: bool = False) -> list[str]:
    """`text` split on `sep` where it is outside braces (and, with `quotes`, outside a
    top-level "quoted" string, as in a BibTeX `#` concatenation)."""
    out: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif quotes and ch == '"' and depth == 0:
            quoted = not quoted
        elif depth == 0 and not quoted and text.startswith(sep, i):
            out.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    out.append(text[start:])
    return out


def is_suffix(word: str) -> bool:
    return word.lower() in _SUFFIXES


# --- dates -----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


def month_number(value: str | None) -> int | None:
    if not value:
        return None
    value = value.strip().strip("{}").strip().rstrip(".").lower()
    if value.isdigit() and 1 <= int(value) <= 12:
        return int(value)
    return _MONTHS.get(value)


def safe_date(year: int, month: int = 1, day: int = 1) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, TypeError, OverflowError):
        try:
            return date(year, month, 1)
        except (ValueError, TypeError, OverflowError):
            try:
                return date(year, 1, 1)
            except (ValueError, TypeError, OverflowError):
                return None


_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def parse_date(value: object) -> date | None:
    """A date from ISO text (`2024-10-22T17:59:30Z`, `2019-06`, `2019`) or RFC 2822 text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    m = _ISO_DATE.match(value)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        if 1 <= month <= 12 and 1000 <= year <= 9999:
            return safe_date(year, month, day)
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def year_from(value: object) -> int | None:
    m = re.search(r"\b(\d{4})\b", str(value or ""))
    return int(m.group(1)) if m and 1000 <= int(m.group(1)) <= 9999 else None
