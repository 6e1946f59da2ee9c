"""Export the reader's main screen on the bundled sample as docs/screenshot.svg.

    python docs/make_screenshot.py [--size 120x36] [--out docs/screenshot.svg]

Runs the app headless through Textual's Pilot on a fresh copy of the sample library, searches
for something so the highlights show, and saves the screen as SVG.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from paperreader.core.library import Library
from paperreader.ui.app import create_app

HERE = Path(__file__).resolve().parent
QUERY = "sparse attention"


async def shoot(out: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "sample")
        hits = library.search(QUERY, limit=3).hits
        if hits:  # a few marks so the list shows what they look like
            library.set_bookmark(hits[0].id)
            library.set_state(hits[1].id, "reading")
            library.set_tags(hits[0].id, ["efficiency"])
            library.set_note(hits[0].id, "Mixture of **sparse** attention: pick a mask per head.")
        app = create_app(library, show_timing=False, poll_seconds=0)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("slash", *("space" if c == " " else c for c in QUERY))
            await pilot.press("enter")
            for _ in range(4):
                await app.workers.wait_for_complete()
                await pilot.pause(0.05)
            app.save_screenshot(filename=out.name, path=str(out.parent))
        library.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="120x36", help="terminal size, WIDTHxHEIGHT")
    ap.add_argument("--out", type=Path, default=HERE / "screenshot.svg")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    asyncio.run(shoot(args.out, (width, height)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
