"""LaTeX in titles and abstracts becomes readable Unicode without losing text."""

from __future__ import annotations

import pytest

from paperreader.core.text import latex_to_unicode


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
