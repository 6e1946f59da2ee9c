"""Text from papers is untrusted: clean_text removes every terminal control, keeps markup-like
text literal, and stays fast on huge input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperreader.core.text import clean_line, clean_text, strip_controls, truncate

from .hostile import FORBIDDEN_CHARS, HOSTILE, MARKUP, hostile_text


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("clean", [clean_text, clean_line, strip_controls])
def test_each_sequence_is_removed(name: str, clean) -> None:  # type: ignore[no-untyped-def]
    out = clean(f"before {HOSTILE[name]} after")
    assert not set(out) & FORBIDDEN_CHARS, repr(out)
    assert "before" in out and (name == "unclosed-osc" or "after" in out)
    assert "52;" not in out and "]0;" not in out


def test_payloads_vanish_not_just_the_escape() -> None:
    out = clean_text(hostile_text("x"))
    for leaked in ("cm0gLXJmIH4K", "pwned title", "evil.example", "eA=="):
        assert leaked not in out


def test_markup_like_text_is_kept_literally() -> None:
    assert clean_text(MARKUP) == MARKUP
    assert clean_line(f"Title {MARKUP}") == f"Title {MARKUP}"


def test_unclosed_osc_swallows_to_the_end_only() -> None:
    assert clean_line("Title\x1b]52;c;AAAA") == "Title"
    assert clean_text("keep\n\x1b]0;x\nmore") == "keep"  # an unclosed string eats the rest


_PIECES = ["\x1b[", "\x1b]", "\x1bP", "\x07", "\x1b\\", "\x9c", "\r\n", "\u0301", "e\u0301"]
_ANY_TEXT = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(sorted(FORBIDDEN_CHARS)),
        st.sampled_from(_PIECES),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_property_no_control_survives(text: str) -> None:
    for clean in (clean_text, clean_line, strip_controls):
        assert not set(clean(text)) & FORBIDDEN_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=300))
def test_property_truncate_is_bounded(text: str, limit: int) -> None:
    out = truncate(text, limit)
    assert len(out) <= max(limit, 1) and (out == text or out.endswith("…"))


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def test_50mb_abstract_is_cleaned_in_bounded_time() -> None:
    chunk = "A plausible sentence about transformers. " * 20 + "\x1b[31mred\x1b[0m \u202e\n"
    text = chunk * (50_000_000 // len(chunk))
    out, seconds = _timed(clean_text, text)
    assert not set(out[:100_000]) & FORBIDDEN_CHARS
    assert seconds < 30, seconds
    shown, seconds = _timed(truncate, out, 2000)
    assert len(shown) == 2000 and seconds < 0.1


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,
        "\x1b]" + "x" * 1_000_000,  # an OSC that never ends
        "\x1b[" * 300_000,  # many CSI introducers
        "\x90" * 500_000,  # many 8-bit DCS introducers
        ("\x1b]0;" + "y" * 50 + "\x07") * 20_000,
        " \t" * 500_000,
    ],
    ids=["plain", "unclosed-osc", "csi-flood", "dcs-flood", "osc-flood", "spaces"],
)
def test_one_megabyte_line_is_linear(text: str) -> None:
    out, seconds = _timed(clean_line, text)
    assert not set(out) & FORBIDDEN_CHARS
    assert seconds < 3, seconds


def test_tags_hold_no_controls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tags are shown in list rows and the view picker: the store strips them on the way in,
    from the app and from hand edits alike."""
    from paperreader.core.store import Store, normalise_tags

    hostile = [f"x{payload}y" for payload in HOSTILE.values()]
    for tag in normalise_tags(hostile):
        assert not set(tag) & FORBIDDEN_CHARS and "52;" not in tag, repr(tag)
    store = Store(tmp_path / "store")
    (store.root / "p.yaml").write_text('id: p\ntags: ["a\\e]52;c;eA==\\ab", "\\u202eevil"]\n')
    assert store.get("p").tags == ["ab", "evil"]
