"""Hostile text samples shared by the text and terminal tests."""

from __future__ import annotations

ESC = "\x1b"
# name -> a string a feed or file could hold
HOSTILE: dict[str, str] = {
    "osc52-clipboard": f"{ESC}]52;c;cm0gLXJmIH4K\x07",
    "osc52-st": f"{ESC}]52;p;cm0gLXJmIH4K{ESC}\\",
    "osc0-title": f"{ESC}]0;pwned title\x07",
    "osc8-link": f"{ESC}]8;;https://evil.example{ESC}\\click{ESC}]8;;{ESC}\\",
    "clear-screen": f"{ESC}[2J{ESC}[H",
    "reset": f"{ESC}c",
    "csi-8bit": "\x9b2J",
    "osc-8bit": "\x9d52;c;eA==\x9c",
    "dcs": f"{ESC}P1$r{ESC}\\",
    "unclosed-osc": f"{ESC}]52;c;never closed",
    "c1-controls": "\x80\x85\x8d\x91\x9a",  # (\x90 \x98 \x9d-\x9f open strings)
    "c0-controls": "\x00\x07\x08\x0b\x0c\x0e\x1a\x7f",
    "bidi": "\u202ereversed\u202c \u2066iso\u2069 \u200fmark\u200e \u061c",
    "zero-width": "zero\u200bwidth\u200c\u200d\u2060\ufeff",
    "tags-smuggling": "\U000e0041\U000e0042",
}
# Must survive as literal text (the core never interprets it; the UI must not parse it).
MARKUP = "[bold]bold?[/bold] [b unclosed \\[escaped] [[nested]] [@click=app.quit]quit?[/]"

FORBIDDEN_CHARS = (
    {chr(c) for c in range(0x20) if chr(c) not in "\n\t"}
    | {chr(c) for c in range(0x7F, 0xA0)}
    | set("\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
    | {chr(c) for c in range(0xE0000, 0xE0080)}
)


def hostile_text(label: str) -> str:
    """All the samples around a visible label."""
    return " ".join(f"{label}-{name}:{payload}" for name, payload in HOSTILE.items()) + " " + MARKUP
