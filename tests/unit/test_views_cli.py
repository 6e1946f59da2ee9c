"""The command line of views, what's new and recommendations, on a copy of the sample."""

from __future__ import annotations

import json
import random
from pathlib import Path


def test_save_list_search_and_remove_a_view(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("view", "save", "diff", "diffusion", "--sort", "newest")
    assert code == 0 and "saved the view 'diff'" in err
    code, out, _ = run("views", "--json")
    views = {v["name"]: v for v in json.loads(out)["views"]}
    assert {"all", "unread", "new", "for-you", "diff"} <= set(views)
    assert views["diff"]["query"] == "diffusion" and views["diff"]["sort"] == "newest"
    total = json.loads(run("search", "diffusion", "--json", "--limit", "100")[1])["total"]
    assert views["diff"]["unread"] == total and views["diff"]["new"] == 0
    hits = json.loads(run("search", "", "--view", "diff", "--json", "--limit", "100")[1])["hits"]
    assert len(hits) == total
    dates = [h["date"] for h in hits]
    assert dates == sorted(dates, reverse=True)  # the view's sort
    run("mark", hits[0]["id"], "read")
    views = {v["name"]: v for v in json.loads(run("views", "--json")[1])["views"]}
    assert views["diff"]["unread"] == total - 1
    assert run("view", "remove", "diff")[0] == 0
    code, _, err = run("search", "x", "--view", "diff")
    assert code == 2 and "unknown view 'diff'" in err


def test_a_view_that_cannot_be_saved(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("view", "save", "broken", "title:(")
    assert code == 2 and "unclosed '('" in err and err.count("\n") == 1
    code, _, err = run("view", "save", "unread", "x")
    assert code == 1 and "built-in" in err


def test_mark_read_asks_for_yes(run) -> None:  # type: ignore[no-untyped-def]
    run("view", "save", "diff", "diffusion")
    code, _, err = run("mark-read", "--view", "diff")
    assert code == 1 and "--yes" in err
    assert run("mark-read", "--view", "diff", "--yes")[0] == 0
    views = {v["name"]: v for v in json.loads(run("views", "--json")[1])["views"]}
    assert views["diff"]["unread"] == 0
    assert "no unread papers" in run("mark-read", "--view", "diff", "--yes")[2]


def test_recommend_finds_a_planted_topic(run, library_path: Path) -> None:  # type: ignore[no-untyped-def]
    from paperreader.core.library import Library
    from paperreader.core.models import Paper

    rng = random.Random(3)
    topic = ["axolotl", "regeneration", "salamander", "limb", "blastema", "morphogen"]
    with Library(library_path) as library:
        papers = [
            Paper(
                id=f"axo{n:02d}",
                title=" ".join(rng.sample(topic, 3)) + f" study {n}",
                abstract=" ".join(rng.choices(topic, k=30)),
            )
            for n in range(12)
        ]
        library.add_papers(papers)
    for n in range(4):
        run("bookmark", f"axo{n:02d}")
    code, out, _ = run("recommend", "--json", "--limit", "5")
    assert code == 0
    found = [h["id"] for h in json.loads(out)["hits"]]
    assert len(found) == 5 and all(pid.startswith("axo") for pid in found), found
    assert not {"axo00", "axo01", "axo02", "axo03"} & set(found)  # positives are not offered
    run("tag", "axo05", "lizards")
    run("tag", "axo06", "lizards")
    code, out, _ = run("recommend", "--tag", "lizards", "--limit", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and all(" axo" in line for line in lines)
    code, _, err = run("recommend", "--tag", "nothing-tagged")
    assert code == 0 and "tag a few papers" in err
