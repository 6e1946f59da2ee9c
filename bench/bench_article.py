"""The article view on a ~300k-character paper: time to open it, and to page through it.

    PYTHONPATH=src python bench/bench_article.py

Open: Enter in the list until the text's first paint, in-process (wall and CPU of all threads).
Page-down: the CPU of one page-down as the app pays it (the action + drawing every line), and
the wall time of Pilot press+pause (mostly Pilot's own waiting: compare its baseline on the list).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))

from textual.geometry import Region  # noqa: E402
from ui_helpers import settle  # noqa: E402

from paperreader.core.fulltext.document import Block, Document, paper_folder  # noqa: E402
from paperreader.core.library import Library  # noqa: E402
from paperreader.ui.app import create_app  # noqa: E402
from paperreader.ui.screens import article  # noqa: E402
from paperreader.ui.widgets.article_text import ArticleText  # noqa: E402

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "we",
    "for",
    "that",
    "with",
    "on",
    "as",
    "by",
    "are",
    "this",
    "our",
    "from",
    "model",
    "attention",
    "layer",
    "token",
    "sequence",
    "gradient",
    "optimizer",
    "memory",
    "parameter",
    "training",
    "inference",
    "naïve",
    "δ-divergence",
    "≤",
    "∑",
    "α",
    "β",
    "θ",
    "λ",
]


def document(chars: int = 300_000) -> Document:
    rng = random.Random(1)
    blocks: list[Block] = []
    total = section = 0
    while total < chars:
        section += 1
        blocks.append(Block("heading", f"Section {section}", 1, str(section)))
        for p in range(6):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160)))
            if p == 5 and section % 4 == 0:
                text += " 漢字の例"  # some paragraphs with wide characters
            blocks.append(Block("paragraph", text + "."))
            total += len(text)
        blocks.append(Block("list_item", "a point " * 10))
        blocks.append(Block("caption", f"Figure {section}: a caption."))
    return Document("bench", blocks)


marks: dict[str, float] = {}
_render_lines = ArticleText.render_lines


def _timed_render(self: ArticleText, crop: Region):  # type: ignore[no-untyped-def]
    strips = _render_lines(self, crop)
    if self.text_lines and "paint" not in marks:
        marks["paint"] = time.perf_counter()
        marks["paint_cpu"] = time.process_time()
    return strips


ArticleText.render_lines = _timed_render  # type: ignore[method-assign]


async def run(library: Library, size: tuple[int, int]) -> None:
    app = create_app(library, show_timing=False, poll_seconds=0)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        opens = []
        for _ in range(5):
            marks.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            await pilot.press("enter")
            while "paint" not in marks:
                await asyncio.sleep(0.0005)
            opens.append(((marks["paint"] - wall) * 1000, (marks["paint_cpu"] - cpu) * 1000))
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, article.ArticleScreen)
        text = screen.text
        lines = len(text.text_lines)
        walls = []
        for _ in range(200):
            start = time.perf_counter()
            await pilot.press("space")
            await pilot.pause()
            walls.append((time.perf_counter() - start) * 1000)
        assert text.at_end
        await pilot.press("g")
        await pilot.pause()
        cpus = []
        crop = Region(0, 0, text.size.width, text.size.height)
        for _ in range(200):
            start = time.perf_counter()
            text.action_page(1)
            text.render_lines(crop)
            cpus.append((time.perf_counter() - start) * 1000)
        await pilot.press("escape")
        await settle(pilot)
        base = []
        for _ in range(50):
            start = time.perf_counter()
            await pilot.press("j")
            await pilot.pause()
            base.append((time.perf_counter() - start) * 1000)
    opens.sort()
    walls.sort()
    cpus.sort()
    base.sort()
    print(
        f"{size[0]}x{size[1]}: {lines:,} lines; open to first paint: median "
        f"{opens[2][0]:.0f} ms wall / {opens[2][1]:.0f} ms CPU (worst {opens[-1][0]:.0f} ms); "
        f"page-down CPU median {cpus[100]:.2f} ms, max {cpus[-1]:.2f} ms; "
        f"Pilot space+pause median {walls[100]:.0f} ms, p95 {walls[190]:.0f} ms "
        f"(baseline j on the list {base[25]:.0f} ms)"
    )


def main() -> None:
    doc = document()
    chars = sum(len(b.text) for b in doc.blocks)
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library")
        paper_id = library.search("", limit=1).hits[0].id
        folder = paper_folder(library.root, paper_id)
        folder.mkdir(parents=True)
        (folder / "text.json").write_text(doc.to_json(), encoding="utf-8")
        print(f"a {chars:,}-character paper, {len(doc.blocks)} blocks")
        try:
            for size in ((120, 40), (80, 24)):
                asyncio.run(run(library, size))
        finally:
            library.close()


if __name__ == "__main__":
    main()
