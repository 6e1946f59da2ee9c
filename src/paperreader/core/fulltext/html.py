"""Text out of arXiv/LaTeXML HTML (ltx_* classes) with lxml: sections, paragraphs, maths as Unicode."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from paperreader.core.errors import FullTextError
from paperreader.core.fulltext.document import Block, Document
from paperreader.core.fulltext.latex import to_unicode
from paperreader.core.text import clean_line, strip_controls

MAX_BYTES = 50_000_000  # a LaTeXML page is under 5 MB; more is not a paper

# Dropped with everything inside them.
_DROP_TAGS = {
    "script",
    "style",
    "nav",
    "noscript",
    "header",
    "footer",
    "button",
    "svg",
    "img",
    "form",
    "input",
    "template",
    "iframe",
    "object",
    "head",
}
_DROP_CLASSES = {
    "ltx_page_navbar",
    "ltx_TOC",
    "ltx_page_footer",
    "ltx_page_logo",
    "ltx_dates",
    "ltx_authors",
    "ltx_pagination",
    "ltx_tabular",
    "ltx_listing_data",
    "ltx_ERROR",
}
_SECTION_LEVELS = {
    "ltx_section": 1,
    "ltx_appendix": 1,
    "ltx_bibliography": 1,
    "ltx_abstract": 1,
    "ltx_acknowledgements": 1,
    "ltx_index": 1,
    "ltx_chapter": 1,
    "ltx_part": 1,
    "ltx_subsection": 2,
    "ltx_subsubsection": 3,
    "ltx_paragraph": 3,
    "ltx_subparagraph": 3,
}
_TEX_LINE_BREAK = re.compile(r"(?<!\\)%[ \t]*\n\s*")  # LaTeXML wraps alttext with `%`+newline
# Terminal escapes (7-bit forms: the 8-bit ones are UTF-8 continuation bytes) and C0 controls.
_C0 = re.compile(
    rb"\x1b[\]PX^_].{0,4096}?(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]?|\x1b[ -/]*[0-~]?"
    rb"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]",
    re.DOTALL,
)
_NUMERIC_TAG = re.compile(r"^\[?\s*(\d{1,4})\s*\]?\.?$")


def extract_html(source: Path | str | bytes) -> Document:
    """The text of a LaTeXML HTML page (a path, or its bytes) as a Document (source "html").

    Raises FullTextError (one line) for a page without a body or without any text."""
    import lxml.etree
    import lxml.html

    name = "the page" if isinstance(source, bytes) else Path(source).name
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise FullTextError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise FullTextError(f"{name}: the page is too large to be a paper ({len(data):,} bytes)")
    data = _C0.sub(b"", data)  # escapes and controls: never shown, and lxml refuses them later
    lowered = data.lower()
    if b"<html" in lowered and b"</html" not in lowered:  # a download cut short
        raise FullTextError(f"{name}: the HTML page is cut short (no </html>); get it again")
    try:
        root = lxml.html.document_fromstring(data)
    except (lxml.etree.ParserError, ValueError):
        raise FullTextError(f"{name}: the HTML page is empty") from None
    body = root.find("body")
    if body is None:
        raise FullTextError(f"{name}: the HTML page has no body")
    walker = _Walker()
    doc = walker.read(root, body)
    if not doc.blocks:
        raise FullTextError(f"{name}: the HTML page has no text (is it a LaTeXML paper?)")
    return doc


def _classes(el) -> set[str]:  # type: ignore[no-untyped-def]
    value = el.get("class")
    return set(value.split()) if value else set()


@lru_cache(maxsize=4096)
def math_text(alttext: str) -> str:
    """One formula's alttext as Unicode (`\\alpha_1` -> α₁)."""
    tex = _TEX_LINE_BREAK.sub("", alttext).strip()
    if not tex:
        return ""
    return to_unicode("$" + tex.replace("$", "\\$") + "$")


def _replace_with_text(el, text: str) -> None:  # type: ignore[no-untyped-def]
    """Put `text` where `el` was (lxml keeps text in .text/.tail, not in nodes)."""
    parent = el.getparent()
    if parent is None:
        return
    joined = strip_controls(text + (el.tail or ""))  # lxml refuses control characters
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


def _text(el) -> str:  # type: ignore[no-untyped-def]
    return clean_line(el.text_content())


class _Walker:
    """Walks the page in document order and appends blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.runin = ""  # `Theorem 2.1.`: put before the next paragraph

    def read(self, root, body) -> Document:  # type: ignore[no-untyped-def]
        self._prepare(body)
        title_el = next(iter(body.xpath(".//*[contains(@class,'ltx_title_document')]")), None)
        title = _text(title_el) if title_el is not None else ""
        if not title:
            head_title = root.find(".//title")
            title = _text(head_title) if head_title is not None else ""
        if title_el is not None:
            title_el.getparent().remove(title_el)
        article = next(iter(body.xpath(".//*[contains(@class,'ltx_document')]")), None)
        self._walk(article if article is not None else body)
        return Document(title=title, blocks=self.blocks, source="html")

    def _prepare(self, body) -> None:  # type: ignore[no-untyped-def]
        """Drop chrome, scripts and tables of data; maths become their Unicode alttext."""
        for el in list(body.iter()):
            if not isinstance(el.tag, str):  # comments, processing instructions
                if el.getparent() is not None:
                    _replace_with_text(el, "")
                continue
            dropped = el.tag in _DROP_TAGS or _classes(el) & _DROP_CLASSES
            if dropped and el.getparent() is not None:
                _replace_with_text(el, "")
        for el in list(body.iter("math")):
            alt = el.get("alttext")
            text = math_text(alt) if alt else clean_line(el.text_content())
            _replace_with_text(el, text)

    def _walk(self, el) -> None:  # type: ignore[no-untyped-def]
        for child in el:
            if not isinstance(child.tag, str):
                continue
            classes = _classes(child)
            level = next((_SECTION_LEVELS[c] for c in classes if c in _SECTION_LEVELS), 0)
            if child.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or "ltx_title" in classes:
                self._heading(child, level or self._level_of(el))
            elif "ltx_bibitem" in classes:
                self._reference(child)
            elif "ltx_item" in classes or (child.tag == "li" and "ltx_tocentry" not in classes):
                self._item(child)
            elif "ltx_caption" in classes or child.tag == "figcaption":
                self._add("caption", _text(child))
            elif "ltx_equation" in classes or "ltx_equationgroup" in classes:
                self._add("math", _text(child))
            elif child.tag == "p" or "ltx_p" in classes:
                self._paragraph(child)
            elif (
                "ltx_abstract" in classes
                and child.find("h6") is None
                and not self._has_title(child)
            ):
                self.blocks.append(Block("heading", "Abstract", 1))
                self._walk(child)
            else:
                self._walk(child)

    @staticmethod
    def _has_title(el) -> bool:  # type: ignore[no-untyped-def]
        return any("ltx_title" in _classes(c) for c in el if isinstance(c.tag, str))

    @staticmethod
    def _level_of(parent) -> int:  # type: ignore[no-untyped-def]
        return next((_SECTION_LEVELS[c] for c in _classes(parent) if c in _SECTION_LEVELS), 1)

    def _heading(self, el, level: int) -> None:  # type: ignore[no-untyped-def]
        classes = _classes(el)
        if "ltx_runin" in classes or "ltx_title_theorem" in classes or "ltx_title_proof" in classes:
            self.runin = _text(el)  # `Definition 2.1.`, `Proof.`
            return
        number = ""
        tag = next(iter(el.xpath(".//*[contains(@class,'ltx_tag')]")), None)
        if tag is not None:
            number = _text(tag)
            _replace_with_text(tag, " ")
        text = _text(el)
        if number.lower().startswith("appendix "):
            number = number.split(" ", 1)[1]
        number = number.rstrip(".")
        if text or number:
            self.blocks.append(
                Block("heading", text or number, min(max(level, 1), 3), number if text else "")
            )

    def _paragraph(self, el) -> None:  # type: ignore[no-untyped-def]
        notes = self._take_notes(el)
        text = _text(el)
        if self.runin and text:
            text, self.runin = f"{self.runin} {text}", ""
        self._add("paragraph", text)
        for note in notes:
            self._add("footnote", note)

    def _take_notes(self, el) -> list[str]:  # type: ignore[no-untyped-def]
        """Footnotes sit inside the sentence in LaTeXML: lift them out, keep their mark."""
        notes = []
        for note in el.xpath(".//*[contains(concat(' ', @class, ' '), ' ltx_note ')]"):
            content = next(iter(note.xpath(".//*[contains(@class,'ltx_note_content')]")), None)
            mark = next(iter(note.xpath("./*[contains(@class,'ltx_note_mark')]")), None)
            mark_text = _text(mark) if mark is not None else ""
            if content is not None:
                for inner in content.xpath(
                    "./*[contains(@class,'ltx_note_mark') or contains(@class,'ltx_tag_note')]"
                ):
                    _replace_with_text(inner, "")
                body = _text(content)
                if body:
                    notes.append(f"{mark_text} {body}".strip())
            if note.getparent() is not None:
                _replace_with_text(note, mark_text)
        return notes

    def _item(self, el) -> None:  # type: ignore[no-untyped-def]
        tag = next(iter(el.xpath("./*[contains(@class,'ltx_tag')]")), None)
        label = ""
        if tag is not None:
            label = _text(tag)
            _replace_with_text(tag, " ")
        notes = self._take_notes(el)
        text = _text(el)
        if label and label not in ("•", "∙", "◦", "–", "-", "*"):
            text = f"{label} {text}"
        self._add("list_item", text)
        for note in notes:
            self._add("footnote", note)

    def _reference(self, el) -> None:  # type: ignore[no-untyped-def]
        tag = next(iter(el.xpath("./*[contains(@class,'ltx_tag')]")), None)
        label = ""
        if tag is not None:
            found = _NUMERIC_TAG.match(_text(tag))
            label = f"[{found.group(1)}] " if found else ""
            _replace_with_text(tag, " ")
        self._add("reference", label + _text(el))

    def _add(self, kind: str, text: str) -> None:
        if text:
            self.blocks.append(Block(kind, text))
