"""The same paper met in several formats is one paper with the richest fields, and keeps the
user's data; importing everything again changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from paperreader.core.library import Library

BIB = r"""@article{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  year = {2017},
  eprint = {1706.03762v5},
  archivePrefix = {arXiv}
}
"""
SNAPSHOT = {
    "id": "1706.03762",
    "title": "Attention Is All\n  You Need",
    "authors": "Ashish Vaswani, Noam Shazeer, Niki Parmar",
    "authors_parsed": [["Vaswani", "Ashish", ""], ["Shazeer", "Noam", ""], ["Parmar", "Niki", ""]],
    "abstract": "  The dominant sequence transduction models are based on complex recurrent or\nconvolutional neural networks.\n",
    "categories": "cs.CL cs.LG",
    "versions": [{"version": "v1", "created": "Mon, 12 Jun 2017 17:57:34 GMT"}],
    "update_date": "2023-08-02",
    "doi": None,
}
CSL = [
    {
        "type": "article",
        "title": "Attention is all you need",
        "author": [{"family": "Vaswani", "given": "Ashish"}],
        "issued": {"date-parts": [[2017, 6, 12]]},
        "DOI": "10.48550/arXiv.1706.03762",
        "container-title": "NeurIPS",
    }
]


def test_one_paper_from_three_formats(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    snap = tmp_path / "snapshot.jsonl"
    snap.write_text(json.dumps(SNAPSHOT) + "\n")
    csl = tmp_path / "zotero.json"
    csl.write_text(json.dumps(CSL))
    with Library(tmp_path / "lib", seed=False) as lib:
        assert lib.import_path(bib).added == 1
        lib.add_tags("1706.03762", ["classic"])
        assert lib.import_path(snap).updated == 1
        assert lib.import_path(csl).updated == 1
        assert lib.count() == 1
        paper = lib.get("1706.03762")
        assert paper.title == "Attention Is All You Need"
        assert paper.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
        assert paper.abstract.startswith("The dominant sequence transduction models")
        assert paper.doi == "10.48550/arXiv.1706.03762"
        assert set(paper.categories) >= {"cs.CL", "cs.LG"}
        assert paper.published is not None and paper.published.year == 2017
        assert lib.user(paper.id).tags == ["classic"]
        assert lib.search("tag:classic transduction").hits[0].id == paper.id
        again = [lib.import_path(p) for p in (bib, snap, csl)]
        assert [(r.added, r.updated) for r in again] == [(0, 0)] * 3
        assert lib.index.doc_count() == 1
