"""LaTeX in titles and abstracts becomes readable Unicode without losing text."""

from __future__ import annotations

import pytest

from paperreader.core.text import clean_text, latex_to_unicode


@pytest.mark.parametrize(
    "raw, expected",
    [
        (r"Schr\"{o}dinger and \'{e}t\'{e}", "Schrödinger and été"),
        (r"improves accuracy by 5% on \'{E}cole data", "improves accuracy by 5% on École data"),
        (r"an escaped 3\% stays", "an escaped 3% stays"),
        (r"math $x^2 + \alpha$ is kept {as written}", r"math $x^2 + \alpha$ is kept as written"),
        ("plain text", "plain text"),
    ],
)
def test_latex_to_unicode(raw: str, expected: str) -> None:
    assert latex_to_unicode(raw) == expected


def _whole(text: str) -> str:
    """pylatexenc on each whole non-math part (what latex_to_unicode did before islands)."""
    import re

    from pylatexenc.latex2text import LatexNodes2Text

    converter = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)
    out = []
    for k, part in enumerate(re.split(r"(\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\))", text, flags=re.S)):
        out.append(part if k % 2 else converter.latex_to_text(re.sub(r"(?<!\\)%", r"\\%", part)))
    return "".join(out)


ISLAND_CASES = [
    r"Schr\"{o}dinger and \c c and \v s; \textbf {bold words} -- a dash ``quoted'' text~here.",
    r"We use \proj is great \cite{x, y} and 50% of $\alpha$ plus \LaTeX\ rules \\ new line",
    r"Petojevi\' c showed \emph{a b {c d} e} over \[ L_{e_i} = \sum_k u_k \] and \( x \) done",
    r"A list \begin{itemize} \item one \item two \end{itemize} then---text!` and ?` end",
    "Two paragraphs with \\'e accents.\n\nThe second \\textit{one}.",
]


@pytest.mark.parametrize("text", ISLAND_CASES)
def test_only_the_latex_words_go_through_pylatexenc_with_the_same_result(text: str) -> None:
    assert " ".join(latex_to_unicode(text).split()) == " ".join(_whole(text).split())


def test_islands_match_whole_conversion_on_real_abstracts(shared_fixtures) -> None:  # type: ignore[no-untyped-def]
    import json

    source = shared_fixtures / "arxiv_kaggle_snapshot_head200.jsonl"
    texts = []
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        texts += [record["title"], record["abstract"]]
    with_latex = [t for t in texts if "\\" in t or "{" in t]
    assert len(with_latex) > 50
    for text in with_latex:
        assert " ".join(latex_to_unicode(text).split()) == " ".join(_whole(text).split()), text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Two  spaces\tand\u00a0\u2003a tab ", "Two spaces and a tab"),
        ("line one   \n   line two\n\n\n\n\nafter blanks", "line one\nline two\n\nafter blanks"),
        ("a single space stays", "a single space stays"),
        ("caf\u00e9 \u3000 t\u00eate\x1b[31m red\x1b[0m", "café tête red"),
        ("ascii \x1b]52;c;aGk=\x07 gone", "ascii gone"),
    ],
)
def test_clean_text_squeezes_spaces_and_blank_lines(raw: str, expected: str) -> None:
    """Runs of spaces (tabs, no-break and wide ones) become one, lines are stripped, at most one
    blank line is kept, escapes go, in ASCII text and not."""
    assert clean_text(raw) == expected
