"""Vectorised scoring of a query plan over one index segment (numpy; no Whoosh here).

Whoosh scores a query by walking every posting of every term through a tree of matchers in
Python: ~10 µs a posting, so a common word at 100,000 papers costs a second. Here a term's
postings arrive as two arrays (document numbers, weights) and its BM25F scores are computed
for all of them at once; a query is then sums, intersections and differences of arrays.
The formula, the statistics and the tie order are Whoosh's own (ranking.py builds the
plan with Whoosh's idf and average lengths), so both paths rank alike; a test compares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Whoosh's BM25F defaults.
B = 0.75
K1 = 1.2


class Segment(Protocol):
    """What the evaluator needs from one index segment."""

    doc_count: int  # documents in the segment, deleted ones included

    def postings(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Sorted document numbers and their weights (frequency times field boost)."""
        ...

    def lengths(self, field: str) -> np.ndarray:
        """Each document's length of `field` (as Whoosh stores it, one byte, decoded)."""
        ...

    def union(self, field: str, terms: tuple[bytes, ...]) -> np.ndarray:
        """The documents having any of the terms, one bit each (np.packbits' order)."""
        ...

    def opaque(self, query: object) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and scores of a query the plan does not model (phrases, ranges)."""
        ...

    def deleted(self) -> np.ndarray:
        """Document numbers deleted from the segment."""
        ...

    def remember(
        self, key: tuple, make: Callable[[], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """`make()` (document numbers and scores), kept under `key` while there is room."""
        ...

    def with_positions(
        self, field: str, term: bytes
    ) -> tuple[
        np.ndarray,
        Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
        Callable[[np.ndarray], np.ndarray],
    ]:
        """The term's sorted document numbers; a function of `picks` (ascending indexes in
        its posting list) giving those postings' positions, all in one array, and how many
        each posting has; and one giving the weights of the postings at some indexes."""
        ...


@dataclass(frozen=True)
class Term:
    field: str
    term: bytes
    idf: float
    avgfl: float | None  # None: the field has no lengths, the score is the weight
    boost: float = 1.0


@dataclass(frozen=True)
class Constant:
    """Any of `terms` scores `score` once (the word being typed, as a prefix)."""

    field: str
    terms: tuple[bytes, ...]
    score: float


@dataclass(frozen=True)
class Union:
    children: tuple[Plan, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Intersect:
    children: tuple[Plan, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Minus:
    keep: Plan
    drop: Plan


@dataclass(frozen=True)
class Everything:
    score: float = 1.0


@dataclass(frozen=True)
class Opaque:
    query: object


@dataclass(frozen=True)
class Phrase:
    """Documents with the words in order, each within `slop` positions of the one before
    (Whoosh's SpanNear2, ordered, mindist 1: slop 1 is the exact phrase). Scored as Whoosh's
    matcher scores it: the words' scores summed as its binary tree of intersections sums
    them, times the boost."""

    words: tuple[Term, ...]
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Extend:
    """A union of `base` and `more`, as a query typed word by word has it: `base` is the
    words before, whose matches and sums are kept between keystrokes (recomputing every
    whole word's scores was most of a keystroke at 1,000,000 papers), and `more` the word
    being typed. Its sums are added after the kept ones, in the same order either way, so a
    score is the same to the last bit whether `base` was kept or not."""

    base: Plan
    more: tuple[Plan, ...]
    boost: float = 1.0


Plan = Term | Constant | Union | Intersect | Minus | Everything | Opaque | Extend | Phrase


class Scores:
    """A dense result over a segment: which documents match, and their scores."""

    __slots__ = ("mask", "values")

    def __init__(self, mask: np.ndarray, values: np.ndarray) -> None:
        self.mask = mask
        self.values = values


def evaluate(plan: Plan, seg: Segment) -> Scores:
    """Match and score `plan` over every document of the segment, deleted ones left out."""
    result = _dense(plan, seg)
    gone = seg.deleted()
    if len(gone):
        result.mask[gone] = False
    return result


def _sparse(plan: Plan, seg: Segment) -> tuple[np.ndarray, np.ndarray] | None:
    """Leaves as (document numbers, scores); None for a node that needs a dense result."""
    if isinstance(plan, Term):
        ids, weights = seg.postings(plan.field, plan.term)
        return ids, _term_scores(plan, seg, ids, weights)
    if isinstance(plan, Opaque):
        return seg.opaque(plan.query)
    if isinstance(plan, Phrase):  # kept: the next page, or another sort, of the same phrase
        return seg.remember(("phrase", plan), lambda: _phrase(plan, seg))
    return None


def _term_scores(
    plan: Term,
    seg: Segment,
    ids: np.ndarray,
    weights: np.ndarray,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """BM25F scores of a term's postings (all, or some: elementwise, the same either way);
    `lengths`: the documents' lengths of its field, if known."""
    if plan.avgfl is None:
        scores = weights.astype(np.float64)
    else:
        if lengths is None:
            lengths = seg.lengths(plan.field)[ids]
        tf = weights.astype(np.float64)
        norm = K1 * ((1 - B) + B * lengths / plan.avgfl)
        scores = plan.idf * ((tf * (K1 + 1)) / (tf + norm))
    if plan.boost != 1.0:
        scores *= plan.boost
    return scores


def _phrase(plan: Phrase, seg: Segment) -> tuple[np.ndarray, np.ndarray]:
    """The phrase's documents and scores: the words' lists intersected, then
    the positions of only the documents left, matched as arrays."""
    words = plan.words
    read = [seg.with_positions(w.field, w.term) for w in words]
    if not all(len(ids) for ids, _, _ in read):
        return _EMPTY_INT, _EMPTY_FLOAT
    # Each word's documents as a mask over the segment's document numbers (linear, where
    # np.isin sorts); the documents having all of them; and where each one is in each word's
    # list, found once for the positions and the scores.
    size = max(int(ids[-1]) for ids, _, _ in read) + 1
    masks = []
    for ids, _, _ in read:
        mask = np.zeros(size, dtype=bool)
        mask[ids] = True
        masks.append(mask)
    every = masks[0].copy()
    for mask in masks[1:]:
        every &= mask
    docs = np.flatnonzero(every)
    if not len(docs):
        return _EMPTY_INT, _EMPTY_FLOAT
    picks = [np.searchsorted(ids, docs) for ids, _, _ in read]
    # Spans as (candidate number, first position, last position), one word at a time; each
    # word's positions only for the candidates whose spans are still going.
    cand = None
    start = end = None
    alive = np.arange(len(docs), dtype=np.int64)
    for (_, positions, _), pick in zip(read, picks, strict=True):
        if cand is not None:
            alive = cand[np.append(True, cand[1:] != cand[:-1])]  # (cand ascends)
        where, counts = positions(pick[alive])
        owner = np.repeat(alive, counts)
        if cand is None:
            cand, start, end = owner, where, where
            continue
        span = int(max(where.max(initial=0), end.max(initial=0))) + plan.slop + 2
        keys = owner * span + where  # sorted: candidates ascend, and each one's positions
        hits_cand, hits_start, hits_end = [], [], []
        for step in range(1, plan.slop + 1):  # the next word `step` positions after the span
            wanted = cand * span + end + step
            at = np.searchsorted(keys, wanted)
            ok = at < len(keys)
            ok[ok] = keys[at[ok]] == wanted[ok]
            hits_cand.append(cand[ok])
            hits_start.append(start[ok])
            hits_end.append(end[ok] + step)
        cand = np.concatenate(hits_cand)
        start = np.concatenate(hits_start)
        end = np.concatenate(hits_end)
        if not len(cand):
            return _EMPTY_INT, _EMPTY_FLOAT
        if plan.slop > 1:  # the same span reached by different steps counts once
            unique = np.unique(np.stack([cand, start, end]), axis=1)
            cand, start, end = unique[0], unique[1], unique[2]
    found = cand[np.append(True, cand[1:] != cand[:-1])]  # (cand ascends)
    matched = docs[found]
    parts = []
    lengths: dict[str, np.ndarray] = {}  # (a phrase's words are of one field)
    for word, (_, _, weights), pick in zip(words, read, picks, strict=True):  # matched only
        if word.field not in lengths:
            lengths[word.field] = seg.lengths(word.field)[matched]
        parts.append(_term_scores(word, seg, matched, weights(pick[found]), lengths[word.field]))
    total = _tree_sum(parts)
    if plan.boost != 1.0:
        total = total * plan.boost
    return matched.astype(np.int64), total


def _tree_sum(parts: list[np.ndarray]) -> np.ndarray:
    """Sums in the order of Whoosh's make_binary_tree of IntersectionMatchers."""
    if len(parts) == 1:
        return parts[0]
    half = len(parts) // 2
    return _tree_sum(parts[:half]) + _tree_sum(parts[half:])


_EMPTY_INT = np.empty(0, dtype=np.int64)
_EMPTY_FLOAT = np.empty(0, dtype=np.float64)


def _dense(plan: Plan, seg: Segment) -> Scores:
    n = seg.doc_count
    if isinstance(plan, Constant):
        mask = _constant_mask(plan, seg)
        return Scores(mask, np.where(mask, plan.score, 0.0))
    leaf = _sparse(plan, seg)
    if leaf is not None:
        ids, scores = leaf
        mask = np.zeros(n, dtype=bool)
        values = np.zeros(n)
        mask[ids] = True
        values[ids] = scores
        return Scores(mask, values)
    if isinstance(plan, Union | Extend):
        mask = np.zeros(n, dtype=bool)
        values = np.zeros(n)
        children = plan.children if isinstance(plan, Union) else plan.more
        if isinstance(plan, Extend):
            ids, sums = seg.remember(("extend", plan.base), lambda: _matches(plan.base, seg))
            mask[ids] = True
            values[ids] = sums
        for child in _union_children(children):
            if isinstance(child, Constant):  # the typed prefix: bits, never ids
                matched = _constant_mask(child, seg)
                mask |= matched
                np.add(values, child.score, out=values, where=matched)
                continue
            part = _sparse(child, seg)
            if part is not None:  # a term's document numbers are unique: += is safe
                mask[part[0]] = True
                values[part[0]] += part[1]
            else:
                sub = _dense(child, seg)
                mask |= sub.mask
                values += np.where(sub.mask, sub.values, 0.0)
        if plan.boost != 1.0:
            values *= plan.boost
        return Scores(mask, values)
    if isinstance(plan, Intersect):
        parts = [_dense(child, seg) for child in plan.children]
        mask = parts[0].mask.copy()
        values = np.zeros(n)
        for part in parts:
            mask &= part.mask
        for part in parts:
            values += np.where(mask, part.values, 0.0)
        if plan.boost != 1.0:
            values *= plan.boost
        return Scores(mask, values)
    if isinstance(plan, Minus):
        keep = _dense(plan.keep, seg)
        keep.mask &= ~_dense(plan.drop, seg).mask
        return keep
    if isinstance(plan, Everything):
        return Scores(np.ones(n, dtype=bool), np.full(n, plan.score))
    raise TypeError(f"not a plan node: {plan!r}")


def _matches(plan: Plan, seg: Segment) -> tuple[np.ndarray, np.ndarray]:
    """The plan's matches and their scores, deleted documents left in (as kept: deletions
    come later, with evaluate)."""
    result = _dense(plan, seg)
    ids = np.flatnonzero(result.mask).astype(np.int32)  # kept: 12 bytes a match, not 16
    return ids, result.values[ids]


def _constant_mask(plan: Constant, seg: Segment) -> np.ndarray:
    """Which documents have any of the prefix's words, one bool each."""
    bits = seg.union(plan.field, plan.terms)
    return np.unpackbits(bits, count=seg.doc_count).view(bool)


def bits_set(bits: np.ndarray) -> int:
    """How many documents a union's bits hold."""
    return int(_ONES[bits].sum())


_ONES = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.int64)


def _union_children(children: tuple[Plan, ...]) -> Iterator[Plan]:
    """A union's children with unboosted inner unions spliced in and empty ones dropped (a
    word missing from a field plans as an empty union: a typed query has a dozen, and each
    cost several passes over arrays as long as the segment)."""
    for child in children:
        if isinstance(child, Union) and child.boost == 1.0:
            yield from _union_children(child.children)
        else:
            yield child


def top(keys: np.ndarray, ids: np.ndarray, k: int, *, high_ids_first: bool = False) -> np.ndarray:
    """Positions of the `k` largest keys, largest first; among equal keys the lower document
    number first (Whoosh's order for scores and ascending sorts), or the higher one
    (`high_ids_first`: Whoosh's order for a reversed sort). `ids` must ascend."""
    if k <= 0 or not len(keys):
        return np.empty(0, dtype=np.int64)
    if len(keys) > k:
        threshold = np.partition(keys, len(keys) - k)[len(keys) - k]
        above = np.flatnonzero(keys > threshold)
        level = np.flatnonzero(keys == threshold)
        need = k - len(above)
        level = level[len(level) - need :] if high_ids_first else level[:need]
        chosen = np.concatenate([above, level])
    else:
        chosen = np.arange(len(keys))
    tie = -ids[chosen] if high_ids_first else ids[chosen]
    order = np.lexsort((tie, -keys[chosen]))
    return chosen[order]
