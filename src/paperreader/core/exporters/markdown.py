"""Reading notes in Markdown: title, link, authors, tags and the note, paper by paper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TextIO

from paperreader.core.display import readable, readable_authors
from paperreader.core.models import Paper, UserData


def _escape(text: str) -> str:
    """Keep titles literal: Markdown must not read `*`, `_` or `[` in them as markup."""
    for ch in "\\`*_[]<>#":
        text = text.replace(ch, "\\" + ch)
    return text


def export(
    papers: Iterable[Paper], out: TextIO, user: Callable[[str], UserData | None] | None = None
) -> int:
    count = 0
    out.write("# Reading notes\n")
    for paper in papers:
        mine = user(paper.id) if user else None
        link = next(iter(paper.all_links().values()), None)
        title = _escape(readable(paper.title))  # LaTeX as Unicode (BibTeX keeps the LaTeX)
        out.write(f"\n## [{title}]({link})\n\n" if link else f"\n## {title}\n\n")
        facts = []
        if paper.authors:
            facts.append("**Authors:** " + _escape(", ".join(readable_authors(paper.authors))))
        if paper.published:
            facts.append(f"**Published:** {paper.published.isoformat()}")
        if paper.arxiv_id:
            facts.append(f"**arXiv:** {paper.arxiv_id}")
        if paper.code_url:
            facts.append(f"**Code:** <{paper.code_url}>")
        if mine and mine.tags:
            facts.append("**Tags:** " + ", ".join(f"`{t}`" for t in mine.tags))
        if mine and not mine.is_empty:
            flags = [mine.state.value] + (["bookmarked"] if mine.bookmarked else [])
            facts.append("**Status:** " + ", ".join(flags))
        out.write("".join(f"- {fact}\n" for fact in facts))
        if mine and mine.note and mine.note.text.strip():
            out.write("\n" + mine.note.text.strip() + "\n")
        count += 1
    return count
