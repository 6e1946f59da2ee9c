"""The key table: one source for the help screen and the README."""

from __future__ import annotations

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Moving",
        [
            ("j / ↓, k / ↑", "next / previous paper"),
            ("g / Home, G / End", "first / last paper"),
            ("PgDn / Space / ctrl+f", "page down"),
            ("PgUp / ctrl+b", "page up"),
            ("Tab, Shift+Tab", "next / previous pane (search, list, detail, similar)"),
            ("Enter", "read the paper; on a similar paper: jump to it"),
            ("Esc", "back to the list, keeping the query; again: clears it"),
        ],
    ),
    (
        "Searching",
        [
            ("/", "search (results update as you type; Enter goes to the list)"),
            ("ctrl+y", "accept the “Did you mean …?” suggestion"),
            ("s", "cycle the sort: relevance, newest, oldest, title"),
            ("f", "choose a view (unread · new counts): saved, new, for you, tags"),
            ("F", "next view"),
            ("S", "save the search (query and sort) as a view"),
            ("J", "next unread paper"),
            ("A", "mark every unread paper of the view read (asks first)"),
        ],
    ),
    (
        "The paper",
        [
            ("b", "bookmark / unbookmark"),
            ("r", "cycle unread → reading → read"),
            ("t", "edit tags (space or comma separated)"),
            ("a", "edit the note (ctrl+s saves, Esc cancels)"),
            ("e", "edit the note in $EDITOR"),
            ("o", "open the paper's page in the browser"),
            ("y", "copy its link, BibTeX or id"),
            ("m", "similar papers"),
            ("u / U", "undo / redo bookmark, read state, tags, note (several steps)"),
        ],
    ),
    (
        "The article (Enter on a paper)",
        [
            ("j / ↓, k / ↑", "next / previous line"),
            ("Space / PgDn, PgUp", "page down, page up (also shift+Space, ctrl+f / ctrl+b)"),
            ("g / Home, G / End", "top / end (reaching the end marks the paper read)"),
            ("/, n / N", "find in the text; next / previous match"),
            ("c", "contents: jump to a section"),
            ("] / [", "next / previous paper of the list"),
            ("b, r, t, a", "bookmark, read state, tags, note (n finds: a is the note)"),
            ("d", "fetch the full text from arXiv"),
            ("Esc / q", "back to the list, on the paper last read"),
        ],
    ),
    (
        "The app",
        [
            ("ctrl+p", "command palette: every action, views, sorts, themes"),
            ("?", "this help"),
            ("q", "quit"),
        ],
    ),
]

QUERY_HELP = [
    ("words", "match title, abstract, authors, tags, note (more matches rank higher)"),
    ('"exact phrase"', "a phrase"),
    ("trans*  transfomer~", "prefix, fuzzy"),
    ("title:x  author:x  tag:x  note:x", "one field"),
    ("date:2024  date:>2023-06", "dates"),
    ("is:bookmarked is:unread has:note", "your marks"),
    ("a AND b, a OR b, NOT a, ( )", "structure"),
]


def markdown_table() -> str:
    """The key table as Markdown, for the README."""
    lines = ["| Key | Action |", "| --- | --- |"]
    for section, rows in KEYS:
        lines.append(f"| **{section}** | |")
        lines.extend(f"| {k} | {what} |" for k, what in rows)
    return "\n".join(lines)
