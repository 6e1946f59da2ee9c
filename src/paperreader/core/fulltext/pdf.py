"""Text out of a PDF with pypdfium2: lines with their geometry, then paragraphs and headings."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paperreader.core.errors import FullTextError
from paperreader.core.fulltext.document import Block, Document
from paperreader.core.text import clean_line

Progress = Callable[[int, int | None], None]

MAX_PAGES = 2_000  # a "paper" longer than this is a book or a hostile file: read the start
MAX_CHARS_PER_PAGE = 200_000

_SOFT_HYPHEN = "\ufffe"  # pdfium's mark for a hyphen at a line end (the halves are joined)
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_BULLET = re.compile(r"^[•◦▪‣∙●○■□➢►]\s*")
_NUMBERED = re.compile(r"^((?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+(\S.{0,100})$")
_UNNUMBERED = re.compile(
    r"^(abstract|references|bibliography|acknowledge?ments?|appendix|appendices|"
    r"ccs concepts|keywords|index terms|limitations|ethics statement|broader impacts?|"
    r"conclusions?|introduction|related work)$",
    re.IGNORECASE,
)
_REFERENCES = re.compile(r"^(references|bibliography)$", re.IGNORECASE)
_CAPTION = re.compile(
    r"^(?:Figure|Fig\.|Table|Algorithm|Listing)\s*[A-Z]?\d+\s*[:.|]", re.IGNORECASE
)
_REF_START = re.compile(r"^\[\d{1,4}\]\s")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?[-–(]?\s*\d{1,4}\s*[-–)]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE
)
_ARXIV_STAMP = re.compile(r"^arXiv:\S+\s+\[[^\]]{1,30}\]\s+\d{1,2}\s+\w{3}\s+\d{4}$")
# Second halves that make a real compound when a line breaks at the hyphen (open-|source).
_COMPOUND_TAILS = frozenset(
    [
        "based",
        "source",
        "art",
        "specific",
        "aware",
        "level",
        "scale",
        "grained",
        "trained",
        "tuned",
        "world",
        "end",
        "like",
        "free",
        "driven",
        "oriented",
        "agnostic",
        "step",
        "shot",
        "dimensional",
        "structured",
        "rich",
        "quality",
        "defined",
        "related",
        "wise",
        "time",
        "term",
        "domain",
        "task",
        "layer",
        "modal",
        "class",
    ]
)
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]$")


@dataclass
class Line:
    """One visual line of a page, with where it sits (PDF points, y up) and its font."""

    text: str
    page: int
    left: float
    right: float
    bottom: float
    top: float
    size: float
    bold: bool
    hyphen: bool = False  # ended with pdfium's line-end hyphen mark


def extract_pdf(path: Path | str, progress: Progress | None = None) -> Document:
    """The text of the PDF at `path` as a Document (source "pdf").

    Raises FullTextError (one line) when the file is encrypted, damaged, not a PDF, or has no
    text layer. `progress(done, total)` is called after each page."""
    import pypdfium2 as pdfium

    path = Path(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FullTextError(f"{path.name}: the PDF is encrypted (password protected)") from None
        raise FullTextError(f"{path.name}: is not a PDF or is damaged") from None
    except OSError as exc:
        raise FullTextError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        total = min(len(pdf), MAX_PAGES)
        pages: list[list[Line]] = []
        for index in range(total):
            try:
                pages.append(_page_lines(pdf, index))
            except pdfium.PdfiumError:
                pages.append([])  # one broken page: keep the others
            if progress:
                progress(index + 1, total)
    finally:
        pdf.close()
    if not any(line.text.strip() for page in pages for line in page):
        raise FullTextError(f"{path.name}: the PDF has no text layer (scanned? it needs OCR)")
    doc = build_document(pages)
    doc.pages = total
    return doc


def _page_lines(pdf, index: int) -> list[Line]:  # type: ignore[no-untyped-def]
    import pypdfium2.raw as raw

    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            count = min(textpage.count_chars(), MAX_CHARS_PER_PAGE)
            text = textpage.get_text_range(0, count) if count > 0 else ""
            return list(_split_lines(text, textpage, raw, index))
        finally:
            textpage.close()
    finally:
        page.close()


def _split_lines(text: str, textpage, raw, page: int):  # type: ignore[no-untyped-def]
    """Visual lines: pdfium ends them with CRLF, or joins them at a line-end hyphen (U+FFFE)."""
    start = 0
    length = len(text)
    while start < length:
        end = start
        while end < length and text[end] not in "\r\n" + _SOFT_HYPHEN:
            end += 1
        hyphen = end < length and text[end] == _SOFT_HYPHEN
        seg = text[start:end]
        stripped = seg.strip()
        if stripped:
            first = start + (len(seg) - len(seg.lstrip()))
            last = start + len(seg.rstrip()) - 1
            middle = (first + last) // 2
            try:
                left, bottom, _, top = textpage.get_charbox(first, loose=True)
                _, bottom2, right, top2 = textpage.get_charbox(last, loose=True)
                # pdfium may run two visual lines into one: span them both
                bottom, top = min(bottom, bottom2), max(top, top2)
            except Exception:  # a char without a box: place it nowhere in particular
                left = bottom = right = top = 0.0
            size = float(raw.FPDFText_GetFontSize(textpage, middle))
            if size < 3:  # text scaled by its matrix reports size 1: measure the glyph box
                box = textpage.get_charbox(middle, loose=True)
                size = round(box[3] - box[1], 1)
            weight = int(raw.FPDFText_GetFontWeight(textpage, middle))
            yield Line(stripped, page, left, right, bottom, top, size, weight >= 600, hyphen)
        start = end + 1
        if hyphen:
            continue
        while start < length and text[start] in "\r\n":
            start += 1


# -- from lines to blocks ----------------------------------------------------------------------
def build_document(pages: list[list[Line]]) -> Document:
    """Blocks in reading order from each page's lines (pure: tests feed it made-up lines)."""
    pages = [[_normalise(line) for line in page] for page in pages]
    pages = _drop_running_lines(pages)
    body = _body_size(pages)
    builder = _Builder(body)
    for page in pages:
        margins = _margins(page, body)
        for line in page:
            builder.add(line, margins)
    builder.flush()
    return Document(title=builder.title, blocks=builder.blocks, source="pdf")


def _normalise(line: Line) -> Line:
    text = clean_line(line.text.translate(_LIGATURES))
    return Line(
        text,
        line.page,
        line.left,
        line.right,
        line.bottom,
        line.top,
        line.size,
        line.bold,
        line.hyphen,
    )


def _drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove running headers/footers (the same line at the top or bottom of most pages, page
    numbers masked), bare page numbers there, and the arXiv side stamp."""
    edge = 3

    def key(line: Line) -> str:
        return _DIGITS.sub("#", line.text.lower())

    seen: Counter[str] = Counter()
    for page in pages:
        ranked = sorted(page, key=lambda line: -line.top)
        seen.update({key(line) for line in ranked[:edge] + ranked[-edge:]})
    need = max(3, len(pages) // 3) if len(pages) >= 3 else len(pages) + 1
    out = []
    for page in pages:
        ranked = sorted(page, key=lambda line: -line.top)
        edges = {id(line) for line in ranked[:edge] + ranked[-edge:]}
        kept = []
        for line in page:
            if _ARXIV_STAMP.match(line.text):
                continue
            if id(line) in edges and (seen[key(line)] >= need or _PAGE_NUMBER.match(line.text)):
                continue
            kept.append(line)
        out.append(kept)
    return out


def _body_size(pages: list[list[Line]]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _margins(page: list[Line], body: float) -> list[float]:
    """Left edges of the text columns: x positions where many body lines start."""
    starts = Counter(round(line.left) for line in page if abs(line.size - body) < 1.5)
    found: list[float] = []
    for x, _count in sorted(starts.items(), key=lambda item: -item[1]):
        near = sum(c for x2, c in starts.items() if abs(x2 - x) <= 2)
        if near >= 4 and all(abs(x - f) > 20 for f in found):
            found.append(float(x))
    return sorted(found) or [min((line.left for line in page), default=0.0)]


class _Builder:
    """Groups lines into blocks; footnotes wait until the paragraph around them ends."""

    def __init__(self, body: float) -> None:
        self.body = body
        self.blocks: list[Block] = []
        self.title = ""
        self.title_lines: list[str] = []
        self.title_size = 0.0
        self.title_done = False
        self.kind = ""  # the open block
        self.parts: list[str] = []
        self.last: Line | None = None  # its last line
        self.last_margin = 0.0
        self.last_short = False
        self.in_refs = False
        self.note: list[str] = []  # an open footnote or caption (the paragraph stays open)
        self.note_last: Line | None = None
        self.note_kind = ""
        self.notes: list[Block] = []  # footnotes and captions waiting for the paragraph to end
        self.item_left = 0.0
        self.heading_line: Line | None = None  # the heading just added (it may wrap)

    def add(self, line: Line, margins: list[float]) -> None:
        text = line.text
        if not text or self._title(line):
            return
        margin = max([m for m in margins if m <= line.left + 2] or [margins[0]])
        indent = line.left - margin
        if self._aside(line):
            return
        heading = self._heading(line)
        if heading:
            self.flush()
            number, title, level = heading
            self.blocks.append(Block("heading", title, level, number))
            self.in_refs = bool(_REFERENCES.match(title))
            self.heading_line = line
            return
        if self._heading_goes_on(line):
            head = self.blocks[-1]
            self.blocks[-1] = Block("heading", f"{head.text} {text}", head.level, head.number)
            self.heading_line = line
            return
        self.heading_line = None
        if _CAPTION.match(text):
            self._open("caption")
        elif _BULLET.match(text):
            self._open("list_item")
            self.item_left = line.left
            text = _BULLET.sub("", text)
        elif self.in_refs:
            if self._new_reference(line, indent):
                self._open("reference")
        elif not self.parts or self._font_change(line) or self._breaks(line, margin, indent):
            self._open("paragraph")
        self._append(self.parts, text, self.last)
        self.last_short = self._short(line, margins)
        self.last, self.last_margin = line, margin

    def _title(self, line: Line) -> bool:
        """The first large lines of page 1 are the title."""
        if self.title_done:
            return False
        big = line.page == 0 and line.size >= self.body + 2.5 and len(self.title_lines) < 4
        if big and (not self.title_lines or abs(line.size - self.title_size) < 0.3):
            self.title_lines.append(line.text)
            self.title_size = line.size
            return True
        if self.title_lines or line.page > 0:
            self.title = " ".join(self.title_lines)
            self.title_done = True
        return False

    def _aside(self, line: Line) -> bool:
        """Footnotes, and captions that cut into an unfinished paragraph, are kept aside and
        placed after that paragraph, so the paragraph reads on across the figure or note."""
        small = line.size < self.body - 1.2
        low = line.bottom < 0.3 * max(line.top, 1.0) + 150
        open_paragraph = (
            self.kind == "paragraph"
            and self.last is not None
            and not (self.last_short and _SENTENCE_END.search(self.last.text))
        )
        if small and low and not self.in_refs and re.match(r"^[\d∗*†‡§¶]", line.text):
            kind = "footnote"
        elif open_paragraph and _CAPTION.match(line.text):
            kind = "caption"
        else:
            kind = ""
        if kind:
            self._close_note()
            self.note, self.note_kind, self.note_last = [line.text], kind, line
            return True
        last = self.note_last
        if (
            self.note
            and last
            and line.page == last.page
            and 0 <= last.bottom - line.top < 0.5 * self.body
        ) and (small if self.note_kind == "footnote" else abs(line.size - last.size) < 0.3):
            self._append(self.note, line.text, last)
            self.note_last = line
            return True
        self._close_note()
        return False

    def _close_note(self) -> None:
        if self.note:
            self.notes.append(Block(self.note_kind, " ".join(self.note)))
        self.note, self.note_last = [], None

    def _heading(self, line: Line) -> tuple[str, str, int] | None:
        text = line.text
        if len(text) > 100 or line.size < self.body - 0.5:
            return None
        strong = line.bold or line.size >= self.body + 0.9
        bare = text.rstrip(".:")
        if _UNNUMBERED.match(bare) and (strong or text.isupper()):
            return "", bare, 1
        found = _NUMBERED.match(text)
        if not found or not strong:
            return None
        number, title = found.groups()
        if not re.match(r"[A-Z]", title) or title.endswith((":", ",")) or len(title.split()) > 12:
            return None
        if sum(ch.isalpha() for ch in title) < 3:
            return None  # `1 2 3` in a table, `5 %`...
        return number, title, number.count(".") + 1

    def _heading_goes_on(self, line: Line) -> bool:
        """`3.1 Representing and manipulating` / `visually-rich documents`: one heading."""
        head = self.heading_line
        if head is None or not self.blocks or line.page != head.page or not line.bold:
            return False
        close = 0 <= head.bottom - line.top < 0.5 * self.body
        return close and abs(line.size - head.size) < 0.3 and len(line.text) < 80

    def _breaks(self, line: Line, margin: float, indent: float) -> bool:
        """Does this line start a new paragraph?"""
        last = self.last
        if last is None or self.kind not in ("paragraph", "caption", "list_item"):
            return True
        if (
            last.bottom - line.top > 0.5 * self.body
            and line.page == last.page
            and line.top < last.top
        ):
            return True  # a blank line's worth of space
        if self.kind == "caption":
            return self._font_change(line)
        if self.kind == "list_item":
            return line.left <= self.item_left + 2 or self._font_change(line)
        ended = self.last_short and _SENTENCE_END.search(last.text) is not None
        if line.page != last.page or line.top > last.top + 5 or abs(margin - self.last_margin) > 20:
            return 3 < indent < 30 or ended  # a new column or page: the paragraph goes on
        if 3 < indent < 30 and line.left > last.left + 3:
            return True  # first-line indent
        return ended

    def _new_reference(self, line: Line, indent: float) -> bool:
        last = self.last
        if _REF_START.match(line.text) or last is None or self.kind != "reference":
            return True
        if _REF_START.match(last.text) or re.match(r"^\[\d", " ".join(self.parts)):
            return False  # numbered entries: only a new number starts one
        gap = last.bottom - line.top
        last_indent = last.left - self.last_margin
        same_place = line.page == last.page and line.top < last.top
        return gap > 0.35 * self.body or (same_place and indent < 2 and last_indent > 3)

    def _font_change(self, line: Line) -> bool:
        return self.last is not None and abs(line.size - self.last.size) > 1.2

    def _short(self, line: Line, margins: list[float]) -> bool:
        """A line that stops well before its column's right edge (a paragraph's last line)."""
        widths = [b - a for a, b in zip(margins, margins[1:], strict=False)]
        column = min(widths) if widths else 0.0
        if column <= 0:
            return line.right - line.left < 0.75 * max(self._widest, 1.0)
        return line.right - line.left < 0.8 * column - 10

    @property
    def _widest(self) -> float:
        return 6.0 * 72 if self.body else 0.0

    def _open(self, kind: str) -> None:
        self._close()
        self.kind = kind

    @staticmethod
    def _append(parts: list[str], text: str, last: Line | None) -> None:
        """Add a line; a line-end hyphen joins `knowl|edge` but keeps `GRO-BID`, `state-of-the-art`."""
        if parts and last is not None and last.hyphen:
            prev = parts[-1]
            word = prev.rsplit(" ", 1)[-1]
            tail = text.split(" ", 1)[0].rstrip(".,;:)")
            real = "-" in word or not text[:1].islower() or tail in _COMPOUND_TAILS
            joined = prev + "-" + text if real else prev + text
            parts[-1] = joined
            return
        parts.append(text)

    def _close(self) -> None:
        if self.parts:
            self.blocks.append(Block(self.kind or "paragraph", " ".join(self.parts)))
            self.parts = []
            self.blocks.extend(self.notes)
            self.notes = []
        self.kind = ""
        self.last = None

    def flush(self) -> None:
        self._close_note()
        self._close()
        self.blocks.extend(self.notes)
        self.notes = []
        if not self.title_done and self.title_lines:
            self.title = " ".join(self.title_lines)
            self.title_done = True
