"""`paperreader attach ID FILE` and `paperreader read ID`: a paper's full text.

The files live in `<library>/files/<id>/`: the original (`paper.pdf` or `paper.html`),
`text.json` (the text as blocks) and `text.txt` (plain text). `fetch text ID...` (cli/fetch.py)
downloads them from arXiv.
"""

from __future__ import annotations

import argparse
from typing import Any

from paperreader.cli.common import open_library, print_json, say
from paperreader.cli.progress import CliProgress
from paperreader.core.display import readable
from paperreader.core.errors import PaperreaderError
from paperreader.core.fulltext.document import Document


def cmd_attach(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    progress = CliProgress(f"reading {args.file}")
    try:
        document = library.attach(paper.id, args.file, progress=progress, index=False)
    except PaperreaderError as exc:
        progress.done()
        say(str(exc))  # nothing was stored: the paper shows its abstract as before
        return 1
    progress.done()
    indexing = CliProgress("indexing the text")
    library.run_indexer(indexing)
    indexing.done()
    print(f"{paper.id}: {describe(document, library.text_info(paper.id))}")
    return 0


def describe(document: Document, info: dict[str, Any] | None) -> str:
    """One line: what was stored ("PDF, 15 pages, 12 sections, 61,234 characters")."""
    parts = [document.source.upper() or "text"]
    if document.pages:
        parts.append(f"{document.pages} pages")
    parts.append(f"{len(document.headings())} sections")
    if info and info.get("text_chars") is not None:
        parts.append(f"{info['text_chars']:,} characters")
    return ", ".join(parts)


def sections(document: Document) -> list[dict[str, Any]]:
    """The text by section: [{number, title, level, text}], what comes before the first
    heading as a section without a title (level 0)."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] = {"number": "", "title": "", "level": 0, "text": []}
    for block in document.blocks:
        if block.kind == "heading":
            if current["title"] or current["text"]:
                out.append(current)
            current = {"number": block.number, "title": block.text, "level": block.level}
            current["text"] = []
        elif block.kind == "list_item":
            current["text"].append(f"• {block.text}")
        else:
            current["text"].append(block.text)
    if current["title"] or current["text"]:
        out.append(current)
    for section in out:
        section["text"] = "\n\n".join(section["text"])
    return out


def cmd_read(args: argparse.Namespace) -> int:
    library = open_library(args)
    paper = library.get(args.id)
    document = library.full_text(paper.id)
    if document is None:
        hint = f"`paperreader attach {paper.id} FILE`"
        if paper.arxiv_id:
            hint = f"`paperreader fetch text {paper.id}` or {hint}"
        say(f"{paper.id} has no full text yet; {hint} adds it")
        return 1
    if args.json:
        print_json(
            {
                "id": paper.id,
                "title": readable(paper.title),
                "source": document.source,
                "pages": document.pages,
                "sections": sections(document),
            }
        )
        return 0
    text = library.plain_text(paper.id) or document.plain_text()
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def add_reading_parsers(add: Any) -> None:
    """Register `attach` and `read` with the CLI's `add(name, func, help)`."""
    p = add("attach", cmd_attach, "store a PDF or arXiv HTML file as a paper's full text")
    p.add_argument("id")
    p.add_argument("file")
    p = add("read", cmd_read, "print a paper's full text")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="the text by section, as JSON")
