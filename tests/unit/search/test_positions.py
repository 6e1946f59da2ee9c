"""Positions cut from the bytes of posting blocks (search/w3values.py) against Whoosh's own
decoding: blocks pickled as Whoosh's writer pickles them, with every layout their values take."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from whoosh.formats import Positions

from paperreader.core.search import w3values

FMT = Positions()


def _block(values: list[bytes], rng: random.Random) -> bytes:
    """A block as W3PostingsWriter._write_block pickles it: (id deltas, weights, values)."""
    ids = tuple([rng.randint(0, 300)] + [rng.randint(1, 9) for _ in values[1:]])
    weights = tuple(float(rng.randint(1, 4)) for _ in values) if rng.random() < 0.7 else 2.0
    return pickle.dumps((ids, weights, tuple(values)), 2)


def _positions(rng: random.Random, big: bool) -> list[int]:
    n = rng.choice([1, 1, 1, 2, 3, 5, 130, 300] + ([1200, 2500] if big else []))
    top = rng.choice([60, 500, 70_000, 10**7])
    return sorted(rng.sample(range(top + n), n))


def _list(rng: random.Random, blocks: int, *, big: bool = False, share: float = 0.3):  # type: ignore[no-untyped-def]
    """Blocks of a posting list and every posting's positions. Equal values are often the
    same object, as the bulk writer leaves them: the pickle refers back to the first (BINGET,
    or LONG_BINGET past memo 255, both in one gap)."""
    raws, counts, firsts, expected = [], [], [], []
    first = 0
    for _ in range(blocks):
        count = rng.choice([128, 128, 128, 4, 5, 77, 2, 1])
        values: list[bytes] = []
        for _ in range(count):
            if values and rng.random() < share:
                values.append(rng.choice(values))  # the very object: a BINGET
            else:
                values.append(FMT.encode(_positions(rng, big)))
        raws.append(_block(values, rng))
        counts.append(count)
        firsts.append(first)
        first += count
        expected.extend(FMT.decode_positions(v) for v in values)
    return raws, counts, firsts, expected


def _check(blocks: w3values.Blocks, expected: list[list[int]], picks: np.ndarray) -> None:
    flat, counts = blocks.positions(picks)
    want = [expected[i] for i in picks.tolist()]
    assert counts.tolist() == [len(p) for p in want]
    assert flat.tolist() == [x for p in want for x in p]


@pytest.mark.parametrize("seed", range(12))
def test_positions_cut_from_blocks_are_whooshs(seed: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every posting, or some: one position or many, counts past 127 and 255 (two bytes of
    UTF-8 each), deltas of one, two and four bytes, memos past 255, values shared within a
    block, blocks of under 4 postings (unpickled: another layout). With nothing over 1,000
    positions, every block of 4 postings or more is cut from its bytes, none unpickled."""
    rng = random.Random(seed)
    raws, counts, firsts, expected = _list(rng, rng.randint(1, 12), share=(0.3, 0.7)[seed % 2])
    unpickled: list[int] = []
    whole = w3values.Blocks._unpickled
    monkeypatch.setattr(
        w3values.Blocks,
        "_unpickled",
        lambda self, picks, block: unpickled.extend(block.tolist()) or whole(self, picks, block),
    )
    blocks = w3values.Blocks(raws, counts, firsts)
    everything = np.arange(len(expected))
    _check(blocks, expected, everything)
    assert {counts[b] for b in unpickled} <= {1, 2}, "a usual block was unpickled"
    for frac in (0.5, 0.05):
        _check(
            blocks,
            expected,
            everything[np.array([rng.random() < frac for _ in everything], dtype=bool)],
        )
    _check(blocks, expected, everything[:0])


@pytest.mark.parametrize("seed", range(4))
def test_positions_over_a_thousand_and_shared_lists(seed: int) -> None:
    """Values of over 1,000 positions (pickled in batches of 1,000) and blocks where most
    values are BINGETs: still Whoosh's positions, however they are read."""
    rng = random.Random(100 + seed)
    raws, counts, firsts, expected = _list(rng, 6, big=True, share=0.8)
    blocks = w3values.Blocks(raws, counts, firsts)
    _check(blocks, expected, np.arange(len(expected)))
    _check(blocks, expected, np.arange(0, len(expected), 3))


def test_a_value_in_another_layout_is_unpickled() -> None:
    """A block whose values are not in the layout (here one without its STOP, as older
    writers left them) is read another way, with the same positions."""
    rng = random.Random(7)
    values = [FMT.encode(_positions(rng, False)) for _ in range(128)]
    values[5] = values[5][:-1]
    raw = _block(values, rng)
    blocks = w3values.Blocks([raw], [128], [0])
    _check(blocks, [FMT.decode_positions(v) for v in values], np.arange(128))


def test_backreferences_of_both_sizes_in_one_gap(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A value repeated twice in a row after it and others, BINGETs of a memo below 256 and
    of one past it side by side (between values and after the last): cut from the bytes,
    with Whoosh's positions."""
    rng = random.Random(3)
    distinct = [FMT.encode(_positions(rng, False)) for _ in range(110)]
    values = distinct[:100] + [distinct[3], distinct[90], distinct[99], distinct[99]]
    values += distinct[100:] + [distinct[95], distinct[5], distinct[109]]
    assert len(values) < 128
    raw = _block(values, rng)
    assert b"j" in raw and raw.count(b"h") > 4
    monkeypatch.setattr(w3values.Blocks, "_unpickled", None)  # (not called)
    blocks = w3values.Blocks([raw], [len(values)], [0])
    _check(blocks, [FMT.decode_positions(v) for v in values], np.arange(len(values)))
    _check(blocks, [FMT.decode_positions(v) for v in values], np.arange(98, len(values), 2))
