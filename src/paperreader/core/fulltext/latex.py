"""LaTeX in titles, abstracts, authors and maths alttext turned into readable Unicode."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from paperreader.core.text import islands, strip_controls

# Above this many characters pylatexenc takes seconds and hundreds of MB: use the cheap cleanup.
MAX_INPUT = 100_000
# An output may grow (`\alpha` is shorter, `\sqrt{x}` -> `√(x)` longer) but never by more.
GROWTH = 3
SLACK = 20

# Cheap test: text without any of these is not LaTeX and comes back unchanged.
_HINT = re.compile(r"[$\\{}~]|--")
# What makes text LaTeX-ish (a bare `~` or `--` alone does not: `~100 ms` is prose).
_LATEXISH = re.compile(r"[$\\{}]")
_TIE = re.compile(r"(?<=[^\s~])~(?=[^\s~])")  # `Fig.~3`, `Smith~et~al.`: a tie, not "about"
# `10--20`, `a -- b`, `Relations---A`; never `--help`
_PLAIN_DASH = re.compile(r"(?<=\w)---?(?=[\w ])|(?<= )---?(?= )")
_PLAIN_ARROW = re.compile(r"(?<![-<])-->|<--(?![->])")  # `D0 --> K`
_BARE_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")
_ESCAPED_DOLLAR = re.compile(r"\\\$")
_DOLLAR_DIGIT = re.compile(r"(?<!\\)\$(?=\d)")
# Math: $$..$$, $..$, \(..\), \[..\]; the text between is converted as text.
_MATH = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]",
    re.DOTALL,
)
# A sub/superscript: `_2`, `^{p,q}`, `_\alpha`, `^{\mathrm{th}}` (one level of inner braces).
_SCRIPT = re.compile(r"([_^])\s*(?:\{((?:[^{}]|\{[^{}]*\})*)\}|(\\[A-Za-z]+)|([^\s{}\\_^$]))")
_PUA = re.compile("[\ue000-\uf8ff]")
_RELATION = re.compile(r"\s*([=<>≤≥≠≈≃≅≡∼∝→←↔⇒⇐⇔↦∈∉⊂⊃⊆⊇≪≫≲≳])\s*")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n\s*\n\s*")
# Cheap fallback (huge or hostile input, or pylatexenc failed): no parser, linear regexes.
_CHEAP_MACRO = re.compile(r"\\([A-Za-z]+)\s?")
_CHEAP_ACCENT = re.compile(r"\\([\"'`^~=.])\s*\{?([A-Za-z])\}?")
_COMBINING = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
}
_CHEAP_DROP = re.compile(r"[{}$]|\\(?=[^A-Za-z])")

# Macros pylatexenc does not know. Font switches and sizing are dropped; a few common author
# macros get their meaning; anything else unknown is kept as its name, never silently lost.
_DROP = frozenset(
    [
        "rm",
        "bf",
        "it",
        "em",
        "sf",
        "tt",
        "sl",
        "sc",
        "cal",
        "mit",
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "Biggl",
        "Biggr",
        "displaystyle",
        "textstyle",
        "scriptstyle",
        "nonumber",
        "noindent",
        "bm",
        "boldsymbol",
        "mathversion",
        "normalfont",
        "small",
        "large",
        "Large",
        "footnotesize",
        "tiny",
        "huge",
        "relax",
        "protect",
        "operatorname",
        "mathop",
        "hbox",
        "limits",
        "nolimits",
    ]
)
_EXTRA = {
    "colon": ":",
    "la": "⟨",
    "ra": "⟩",
    "lesssim": "≲",
    "gtrsim": "≳",
    "msun": "M☉",
    "rsun": "R☉",
    "lsun": "L☉",
    "kms": "km/s",
    "eps": "ε",
}
_SUP: dict[str, str] = {}
_SUB: dict[str, str] = {}
_SYMBOLS: dict[str, str] = {}  # `alpha` -> α, for the cheap fallback


def _script_tables() -> None:
    try:
        from unicodeit.data import REPLACEMENTS, SUBSUPERSCRIPTS
    except ImportError:  # pragma: no cover - unicodeit is a dependency; degrade to `_{..}`
        return
    for key, char in SUBSUPERSCRIPTS:
        if len(key) == 2:
            (_SUP if key[0] == "^" else _SUB)[key[1]] = char
    for key, char in REPLACEMENTS:
        if re.fullmatch(r"\\[A-Za-z]+", key) and len(char) == 1:
            _SYMBOLS.setdefault(key[1:], char)
    _SYMBOLS.update(_EXTRA)
    _SUP.update({"'": "′", "′": "′", "″": "″", "*": "*", "∗": "*"})


_script_tables()
logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)  # it prints config warnings


def to_unicode(text: str) -> str:
    """Readable Unicode for a string that may hold LaTeX; plain text comes back as it is.

    Never raises and never grows the text by more than 3x: on any parser failure, or input over
    MAX_INPUT characters, a cheap regex cleanup is used instead. Escapes and control characters
    are removed from the result."""
    if not text or not _HINT.search(text):
        return text or ""
    if not _LATEXISH.search(text):
        return _plain(text)
    if len(text) > MAX_INPUT:
        return _cheap(text)
    try:
        out = _convert(text)
    except Exception:  # RecursionError, KeyError, ValueError...: pylatexenc on odd input
        return _cheap(text)
    if len(out) > GROWTH * len(text) + SLACK or ("%s" in out and "%s" not in text):
        return _cheap(text)
    return out


def _plain(text: str) -> str:
    """Prose with ties or dashes but no other LaTeX: `Fig.~3`, `10--20`; `~100 ms` stays."""
    text = _TIE.sub(" ", text)
    text = _PLAIN_ARROW.sub(lambda m: "→" if m.group(0) == "-->" else "←", text)
    return _PLAIN_DASH.sub(lambda m: "—" if len(m.group(0)) == 3 else "–", text)


def _cheap(text: str) -> str:
    """No parser: macro names without the backslash, no braces or dollars (linear time)."""
    text = _CHEAP_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m[2] + _COMBINING[m[1]]), text)
    text = _CHEAP_MACRO.sub(lambda m: _SYMBOLS.get(m[1], m[1]) + " ", text)
    text = _CHEAP_DROP.sub("", text)
    return _tidy(strip_controls(_plain(text.replace("~", " "))))


def _balance_dollars(text: str) -> str:
    """An odd number of `$`: currency (`$5`) is escaped first, then the last one."""
    bare = [m.start() for m in re.finditer(r"(?<!\\)\$", text)]
    if len(bare) % 2 == 0:
        return text
    text = _DOLLAR_DIGIT.sub(r"\\$", text)
    bare = [m.start() for m in re.finditer(r"(?<!\\)\$", text)]
    if len(bare) % 2:
        text = text[: bare[-1]] + "\\" + text[bare[-1] :]
    return text


def _convert(text: str) -> str:
    text = _PUA.sub("", strip_controls(text))
    text = _BARE_PERCENT.sub(r"\1\\%", text)  # `90% of` is not a comment: keep the line
    text = _balance_dollars(text)
    out: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        out.append(_text_part(text[pos : m.start()]))
        math = next(g for g in m.groups() if g is not None)
        out.append(_math_part(math))
        pos = m.end()
    out.append(_text_part(text[pos:]))
    return _tidy("".join(out))


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def _text_part(part: str) -> str:
    if not part:
        return ""
    if not _LATEXISH.search(part):
        return _latex_dashes(part)
    edge_l = " " if part[:1].isspace() else ""
    edge_r = " " if part[-1:].isspace() else ""
    # Only the words that hold LaTeX go through pylatexenc (its cost grows with what it reads)
    converter = _converter()
    body = "".join(
        converter.latex_to_text(piece) if is_latex else piece for is_latex, piece in islands(part)
    )
    return edge_l + body.strip() + edge_r


def _latex_dashes(part: str) -> str:
    part = part.replace("---", "—").replace("--", "–")
    return _TIE.sub(" ", part.replace("~", " ")) if "~" in part else part


def _math_part(math: str) -> str:
    """One formula: scripts to Unicode where the characters exist, the rest via pylatexenc."""
    held: list[str] = []

    def hold(value: str) -> str:
        if len(held) >= 6000:
            return value
        held.append(value)
        return chr(0xE000 + len(held) - 1)

    def release(value: str) -> str:
        return _PUA.sub(lambda m: held[ord(m.group(0)) - 0xE000], value)

    def script(m: re.Match[str]) -> str:
        mark, braced, macro, char = m.groups()
        raw = braced if braced is not None else macro or char
        if braced and ("_" in raw or "^" in raw):
            raw = _SCRIPT.sub(script, raw)  # x^{2^{n}}: the inner script first
        if _LATEXISH.search(raw):
            raw = _converter().latex_to_text(raw).strip()
        inner = release(raw)
        table = _SUP if mark == "^" else _SUB
        if inner and all(c in table for c in inner):
            return hold("".join(table[c] for c in inner))
        inner = " ".join(inner.split())
        return hold(f"{mark}{inner}" if len(inner) == 1 else f"{mark}{{{inner}}}")

    math = _SCRIPT.sub(script, math)
    converted = _converter().latex_to_text("$" + math + "$") if _LATEXISH.search(math) else math
    converted = release(converted)
    converted = _RELATION.sub(r" \1 ", converted)
    return " ".join(converted.split())


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    from pylatexenc import latex2text

    db = latex2text.get_default_latex_context_db()

    def unknown(node, l2tobj=None):  # type: ignore[no-untyped-def]
        name = getattr(node, "macroname", "")
        args = getattr(getattr(node, "nodeargd", None), "argnlist", None) or []
        inner = ""
        if l2tobj is not None and any(args):
            inner = " ".join(l2tobj.nodelist_to_text([a]) for a in args if a is not None)
        if name in _DROP or name in ("mbox", "fbox", "makebox", "text"):
            return inner
        space = " " if getattr(node, "macro_post_space", "") else ""
        return _EXTRA.get(name, name) + (" " + inner if inner else space)

    db.set_unknown_macro_spec(latex2text.MacroTextSpec("", simplify_repl=unknown))
    return latex2text.LatexNodes2Text(latex_context=db, math_mode="text")
