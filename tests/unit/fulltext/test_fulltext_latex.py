"""LaTeX to Unicode: the examples from titles and abstracts, and properties on any input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperreader.core.fulltext.latex import MAX_INPUT, to_unicode


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"$\alpha\ge 0$", "α ≥ 0"),
        (r"$H^p(R^N)$", "Hᵖ(Rᴺ)"),
        (r"$\mathbb{Z}$", "ℤ"),
        (r"\mathbb{Z}", "ℤ"),
        (r"pages 10--20 in $x$", "pages 10–20 in x"),
        (r"a --- b \emph{c}", "a — b c"),
        (r"Fig.~3", "Fig. 3"),
        (r"{\"o}", "ö"),
        (r"G{\"o}del, Erd{\H o}s, Fran{\c c}ois", "Gödel, Erdős, François"),
        (r"CeAg$_2$Ge$_2$", "CeAg₂Ge₂"),
        (r"$x_{10}$", "x₁₀"),
        (r"the 24$^{\mathrm{th}}$ meeting", "the 24ᵗʰ meeting"),
        (r"$10^{-3}$ and $x^2_i$", "10⁻³ and x²ᵢ"),
        (r"{\it Marginally consistent} CDM", "Marginally consistent CDM"),
        (r"$V_{\rm rot} = 28.9 \pm 1.0$", "Vᵣₒₜ = 28.9 ± 1.0"),
    ],
)
def test_examples(latex: str, expected: str) -> None:
    assert to_unicode(latex) == expected


def test_no_script_character_keeps_the_script_readable() -> None:
    assert to_unicode(r"$T_c$") == "T_c"
    assert to_unicode(r"$H^{p,q}$") == "H^{p,q}"  # no superscript comma in Unicode


def test_plain_text_is_returned_unchanged() -> None:
    for text in ["A study of graphs", "about ~100 ms on --help", "x ~ y", "", "100% sure"]:
        assert to_unicode(text) == text


def test_unknown_macros_keep_their_name() -> None:
    assert to_unicode(r"over $\Q(\sqrt{5})$ via") == "over Q(√(5)) via"
    assert "foo" in to_unicode(r"a \foo b")


def test_a_bare_percent_loses_no_line() -> None:
    out = to_unicode("in $x$ more than 90% of the atoms\noccupy the sites")
    assert "90% of the atoms" in out and "occupy the sites" in out
    out = to_unicode(r"$B \to D \gamma$. %and $B \to D W$ (Isgur-Wise function). The analysis")
    assert out.endswith("(Isgur-Wise function). The analysis")


@pytest.mark.parametrize(
    "hostile", [r"\sqrt", r"\begin{array}", r"\frac{1}", "{" * 300 + "x" + "}" * 300, "{" * 5000]
)
def test_inputs_that_break_pylatexenc_fall_back(hostile: str) -> None:
    out = to_unicode(hostile)
    assert isinstance(out, str) and len(out) <= 3 * len(hostile) + 20
    assert "%s" not in out


def test_huge_input_takes_the_cheap_path_fast() -> None:
    text = r"$x_{1}^{2} + \alpha$ and {\"o} " * (MAX_INPUT // 20)
    start = time.perf_counter()
    out = to_unicode(text)
    assert time.perf_counter() - start < 2.0
    assert "α" in out and "$" not in out


def test_terminal_escapes_are_removed() -> None:
    assert "\x1b" not in to_unicode("$x$ \x1b]52;c;aGk=\x07 \x1b[31mred")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab $\\{}_^~-%&#\né", "\\alpha", "\\frac", "\\sqrt", "\\left"])).map(
        "".join
    )
)
def test_never_raises_and_never_grows_much(text: str) -> None:
    out = to_unicode(text)
    assert len(out) <= 3 * len(text) + 20


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="$\\{}~", blacklist_categories=("Cc", "Cs"))
    )
)
def test_plain_text_is_a_fixed_point(text: str) -> None:
    once = to_unicode(text)
    assert to_unicode(once) == once
