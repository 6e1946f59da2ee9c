"""Recommendations: tf-idf + a linear SVM over the records, with a planted topic to find."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from paperreader.core.models import Paper  # noqa: E402
from paperreader.core.recommend import CACHE_DIR, Recommender  # noqa: E402
from paperreader.core.records import Records  # noqa: E402

VOCAB = str.split(
    "model learning neural network language vision graph training data benchmark robust "
    "efficient transformer attention retrieval diffusion image video speech agent policy "
    "reward optimization gradient sparse dense embedding token decoding inference memory "
    "scaling evaluation dataset generation reasoning alignment safety privacy federated "
    "quantization pruning distillation contrastive segmentation detection tracking pose "
    "depth scene point cloud molecule protein drug clinical medical audio music translation"
)
PLANTED = str.split("tokamak plasma confinement stellarator magnetic fusion divertor turbulence")


def _text(rng: random.Random, words: list[str], extra: list[str] | None = None) -> str:
    out = [rng.choice(words) for _ in range(rng.randint(60, 120))]
    for word in extra or []:
        out.insert(rng.randrange(len(out)), word)
    return " ".join(out)


def _library(tmp_path: Path, random_papers: int = 300, planted: int = 30) -> Records:
    rng = random.Random(7)
    records = Records(tmp_path / "papers.db")
    with records.batch():
        for n in range(random_papers):
            records.put(
                Paper(id=f"r{n:04d}", title=_text(rng, VOCAB)[:80], abstract=_text(rng, VOCAB))
            )
        for n in range(planted):
            topic = rng.sample(PLANTED, 4) * 2
            records.put(
                Paper(
                    id=f"t{n:04d}",
                    title=" ".join(rng.sample(PLANTED, 3)) + " " + _text(rng, VOCAB)[:40],
                    abstract=_text(rng, VOCAB, topic),
                )
            )
    return records


def test_the_planted_topic_is_recommended(tmp_path: Path) -> None:
    records = _library(tmp_path)
    rec = Recommender(tmp_path, records)
    positives = {f"t{n:04d}" for n in range(10)}
    top = rec.rank(positives, exclude=set(), limit=10)
    assert len(top) == 10 and top.reason is None
    planted = sum(paper_id.startswith("t") for paper_id, _ in top)
    # chance: 20 of the 320 other papers are planted, so ~0.6 of 10
    assert planted >= 8, top
    assert not positives & {paper_id for paper_id, _ in top}
    scores = [score for _, score in top]
    assert scores == sorted(scores, reverse=True)
    records.close()


def test_excluded_papers_are_skipped_and_rankings_are_cached(tmp_path: Path) -> None:
    records = _library(tmp_path)
    rec = Recommender(tmp_path, records)
    positives = {f"t{n:04d}" for n in range(10)}
    first = rec.rank(positives, limit=5)
    fit = rec._train_and_score
    calls = []
    rec._train_and_score = lambda *a: calls.append(a) or fit(*a)  # type: ignore[method-assign]
    again = rec.rank(positives, exclude={first[0][0]}, limit=5)
    assert calls == []  # same positives: the ranking was kept
    assert again[:4] == first[1:5]
    rec.rank(positives | {"t0010"}, limit=5)
    assert len(calls) == 1  # the positives changed: trained again
    records.close()


def test_the_matrix_is_cached_on_disk_and_rebuilt_when_the_records_change(
    tmp_path: Path,
) -> None:
    records = _library(tmp_path)
    Recommender(tmp_path, records).matrix()
    folder = tmp_path / CACHE_DIR
    assert {p.name for p in folder.iterdir()} >= {"tfidf.npz", "ids.txt", "key.json"}
    rec = Recommender(tmp_path, records)
    rec._build = None  # type: ignore[assignment,method-assign]  # must load, not build
    matrix, ids = rec.matrix()
    assert matrix.shape[0] == len(ids) == 330
    records.put(Paper(id="z9999", title="tokamak plasma", abstract="tokamak plasma confinement"))
    matrix, ids = Recommender(tmp_path, records).matrix()
    assert ids[-1] == "z9999" and matrix.shape[0] == 331
    (folder / "tfidf.npz").write_bytes(b"broken")  # a damaged cache is rebuilt, not a crash
    (folder / "key.json").write_text("[1]")
    assert Recommender(tmp_path, records).matrix()[0].shape[0] == 331
    records.close()


def test_nothing_to_learn_from_gives_a_reason_not_a_crash(tmp_path: Path) -> None:
    records = _library(tmp_path, random_papers=20, planted=0)
    rec = Recommender(tmp_path, records)
    empty = rec.rank(set(), limit=10)
    assert empty == [] and "bookmark" in empty.reason
    unknown = rec.rank({"not-in-library"}, limit=10)
    assert unknown == [] and unknown.reason
    every = rec.rank({f"r{n:04d}" for n in range(20)}, limit=10)  # one class only
    assert every == [] and "every paper" in every.reason
    records.close()


def test_an_empty_or_tiny_library(tmp_path: Path) -> None:
    records = Records(tmp_path / "papers.db")
    assert Recommender(tmp_path, records).rank({"x"}).reason
    records.put(Paper(id="a", title="Alpha"))
    records.put(Paper(id="b", title="Beta"))
    ranking = Recommender(tmp_path, records).rank({"a"})
    assert ranking == [] and ranking.reason
    records.close()


def test_a_sample_of_the_negatives_finds_the_topic_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paperreader.core.recommend as recommend

    monkeypatch.setattr(recommend, "MAX_NEGATIVES", 100)
    records = _library(tmp_path)
    top = Recommender(tmp_path, records).rank({f"t{n:04d}" for n in range(10)}, limit=10)
    assert sum(paper_id.startswith("t") for paper_id, _ in top) >= 8, top
    records.close()
