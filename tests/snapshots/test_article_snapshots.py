"""Snapshots of the article view (regenerate: pytest tests/snapshots --snapshot-update, then look)."""

from __future__ import annotations

from test_article import write_document
from ui_helpers import settle, type_text

from paperreader.core.fulltext.document import Block, Document
from paperreader.ui.app import create_app

DOCUMENT = Document(
    title="t",
    source="html",
    blocks=[
        Block("heading", "Introduction", 1, "1"),
        Block(
            "paragraph",
            "Training large models needs more memory than one GPU holds. We move the "
            "parameters, gradients and optimizer states to CPU and NVMe memory, and bring "
            "them back just in time; the GPU only ever holds the layer it is working on.",
        ),
        Block("list_item", "Memory: models with trillions of parameters fit on one node."),
        Block("list_item", "Speed: bandwidth-centric partitioning keeps the GPUs busy."),
        Block("heading", "Method", 1, "2"),
        Block("heading", "Offloading", 2, "2.1"),
        Block("paragraph", "The optimizer step runs on the CPU, where the states live:"),
        Block("math", "m_t = β₁ m_{t−1} + (1 − β₁) g_t"),
        Block("caption", "Figure 1: where each tensor lives during one training step."),
        Block("footnote", "¹ NVMe: solid-state drives attached over PCIe."),
        Block("heading", "References", 1, ""),
        Block("reference", "[1] S. Rajbhandari et al. ZeRO: memory optimizations. SC 2020."),
        Block("reference", "[2] J. Ren et al. ZeRO-Offload. USENIX ATC 2021."),
    ],
)


def make(library):
    # No timing text, no store polling: the pictures must not depend on the clock.
    pid = library.search("", limit=1).hits[0].id
    write_document(library.root, pid, DOCUMENT)
    return create_app(library, show_timing=False, poll_seconds=0)


async def _open(pilot) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_article_120x40(snap_compare, library):
    assert snap_compare(make(library), terminal_size=(120, 40), run_before=_open)


def test_article_80x24_found(snap_compare, library):
    async def find(pilot) -> None:
        await _open(pilot)
        await pilot.press("slash")
        await type_text(pilot, "memory")
        await pilot.press("enter", "n")
        await settle(pilot)

    assert snap_compare(make(library), terminal_size=(80, 24), run_before=find)
