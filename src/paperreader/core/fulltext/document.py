"""A paper's full text as a flat list of blocks: what extractors make, files keep and views show."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# What a block is: the article view styles each kind, `read --json` groups by section.
KINDS = ("heading", "paragraph", "list_item", "caption", "footnote", "reference", "math")


@dataclass(frozen=True)
class Block:
    kind: str  # one of KINDS
    text: str  # plain Unicode text: no LaTeX, no terminal escapes, no markup
    level: int = 0  # headings: 1 section, 2 subsection, 3 subsubsection; else 0
    number: str = ""  # headings: "3.2" as the paper numbers it ("" when unnumbered)


@dataclass
class Document:
    """The text of one paper, in reading order."""

    title: str = ""
    blocks: list[Block] = field(default_factory=list)
    source: str = ""  # "html" or "pdf": what the text was extracted from
    pages: int = 0  # PDF pages read (0 for HTML)

    def headings(self) -> list[tuple[int, Block]]:
        """(block index, heading) pairs: the outline of sections."""
        return [(i, b) for i, b in enumerate(self.blocks) if b.kind == "heading"]

    def plain_text(self) -> str:
        """The whole text as plain paragraphs, headings numbered (for `read`, search, pagers)."""
        lines = [self.title, ""] if self.title else []
        for block in self.blocks:
            if block.kind == "heading":
                head = f"{block.number} {block.text}" if block.number else block.text
                lines.extend(["", head, ""])
            elif block.kind == "list_item":
                lines.append(f"• {block.text}")
            else:
                lines.extend([block.text, ""])
        return "\n".join(lines).strip() + "\n"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Document:
        raw = json.loads(text)
        blocks = [Block(**b) for b in raw.get("blocks", [])]
        return cls(
            title=raw.get("title", ""),
            blocks=blocks,
            source=raw.get("source", ""),
            pages=int(raw.get("pages", 0)),
        )


# Where a paper's files live: <library>/files/<folder>/ holds the original (paper.pdf or
# paper.html), text.json (the Document) and text.txt (its plain text, for the user's own tools).
FILES_FOLDER = "files"
DOCUMENT_FILE = "text.json"
PLAIN_FILE = "text.txt"


def paper_folder(root: Path, paper_id: str) -> Path:
    """The folder of one paper's files; ids such as `hep-th/9901001` or DOIs become safe names."""
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in paper_id).strip(".")
    return Path(root) / FILES_FOLDER / (safe or "_")


def load_document(root: Path, paper_id: str) -> Document | None:
    """The paper's full text, or None when none was fetched or attached (or the file is bad)."""
    path = paper_folder(root, paper_id) / DOCUMENT_FILE
    try:
        return Document.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
