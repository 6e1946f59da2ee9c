"""The help screen's key table names real bindings."""

from __future__ import annotations

from paperreader.ui.keys import KEYS, markdown_table
from paperreader.ui.screens.article import ArticleScreen
from paperreader.ui.screens.main import MainScreen
from paperreader.ui.widgets.article_text import ArticleText
from paperreader.ui.widgets.paper_list import PaperList


def bound_keys() -> set[str]:
    keys: set[str] = set()
    screens = [MainScreen, PaperList, ArticleScreen, ArticleText]
    for binding in [b for screen in screens for b in screen.BINDINGS]:
        keys.update(binding.key.split(","))  # type: ignore[union-attr]
    return keys


def test_every_letter_in_the_help_is_bound():
    bound = bound_keys()
    names = {
        "/": "slash",
        "?": "question_mark",
        "[": "left_square_bracket",
        "]": "right_square_bracket",
    }
    for _, rows in KEYS:
        for keys, _what in rows:
            for key in keys.replace(",", " ").split():
                if len(key) == 1 and key not in "/↓↑":
                    assert names.get(key, key) in bound, key
    assert {"slash", "question_mark", "ctrl+y", "b", "a", "e", "t", "r", "o", "y", "m"} <= bound


def test_markdown_table_for_the_readme():
    table = markdown_table()
    assert table.startswith("| Key | Action |") and "| b | bookmark / unbookmark |" in table
