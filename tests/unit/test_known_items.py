"""Search quality: a reader finds a half-remembered paper from a few words, even misspelt."""

from __future__ import annotations

from pathlib import Path

import yaml

KNOWN = Path(__file__).resolve().parents[1] / "fixtures" / "known_items.yaml"


def test_known_item_queries_find_the_paper(library) -> None:  # type: ignore[no-untyped-def]
    items = yaml.safe_load(KNOWN.read_text(encoding="utf-8"))
    assert len(items) >= 100
    kinds = {item["kind"] for item in items}
    assert kinds == {"acronym", "title", "abstract", "misspelt"}
    first = 0
    missing = []
    for item in items:
        hits = [h.id for h in library.search(item["query"], limit=5).hits]
        first += bool(hits) and hits[0] == item["id"]
        if item["id"] not in hits:
            missing.append(item["query"])
    assert missing == [], "not in the top five"
    assert first / len(items) >= 0.95, f"first for {first} of {len(items)}"


def test_misspelt_query_says_did_you_mean(library) -> None:  # type: ignore[no-untyped-def]
    result = library.search("gausian splatting")
    assert result.suggestion == "gaussian splatting"
    assert result.corrected
    assert result.hits[0].title.startswith("4D Gaussian Splatting")
