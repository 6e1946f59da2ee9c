"""Whoosh 3 postings' positions, read from the bytes of their blocks' values (with w3format.py, the only modules that know that format)."""

from __future__ import annotations

import pickle
from bisect import bisect_left
from itertools import accumulate

import numpy as np
from whoosh.reading import TermNotFound

from paperreader.core.errors import IndexDamaged
from paperreader.core.search import w3format

_EMPTY = np.empty(0, dtype=np.int64)


class Blocks:
    """Some decompressed blocks of one posting list, in order, for their postings' positions:
    a phrase reads each word's list once, for its ids and then for the positions of the
    documents left (each block was decompressed twice), or only the blocks that hold them."""

    def __init__(
        self,
        raws: list[bytes],
        counts: list[int],
        firsts: list[int],
        parsed: list[w3format.Parsed | None] | None = None,
    ) -> None:
        self.raws = raws
        self.counts = counts
        self.firsts = np.array(firsts, dtype=np.int64)
        if parsed is None:
            parsed = [w3format._parse_block(raw, n) for raw, n in zip(raws, counts, strict=True)]
        self.values_at = [None if p is None else p[3] for p in parsed]

    def positions(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the postings at indexes `picks` (ascending) of the list, all in
        one array, and how many each has."""
        if not len(picks):
            return _EMPTY, _EMPTY
        block = np.searchsorted(self.firsts, picks, side="right") - 1
        sizes = np.array(self.counts, dtype=np.int64)
        if block[0] < 0 or (picks >= self.firsts[block] + sizes[block]).any():
            raise IndexDamaged("a posting list is shorter than its term info says")
        touched = block[np.append(True, block[1:] != block[:-1])].tolist()  # (picks ascend)
        fast = [b for b in touched if self.values_at[b] is not None]
        cut = _cut_values(self, fast) if fast else None
        if cut is not None and cut[1].any():  # blocks in another layout: the rest again
            fast = [b for b, bad in zip(fast, cut[1].tolist(), strict=True) if not bad]
            cut = _cut_values(self, fast) if fast else None
            if cut is not None and cut[1].any():
                cut = None
        # Each fast block's first posting among those of the fast blocks, concatenated.
        before = np.full(len(sizes), -1, dtype=np.int64)
        if cut is not None:
            before[fast] = np.cumsum(sizes[fast]) - sizes[fast]
        quick = before[block] >= 0
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (picks' order, flat, counts)
        if quick.all():
            local = picks - self.firsts[block] + before[block]
            found = _positions_of(cut[0], local)  # type: ignore[index]
            if found is not None:
                return found
            quick[:] = False
        elif quick.any():
            local = picks[quick] - self.firsts[block[quick]] + before[block[quick]]
            found = _positions_of(cut[0], local)  # type: ignore[index]
            if found is None:
                quick[:] = False
            else:
                parts.append((np.flatnonzero(quick), *found))
        if not quick.all():
            parts.append((np.flatnonzero(~quick), *self._unpickled(picks[~quick], block[~quick])))
        if len(parts) == 1:
            return parts[0][1], parts[0][2]
        order = np.concatenate([p[0] for p in parts])
        counts = np.empty(len(picks), dtype=np.int64)
        counts[order] = np.concatenate([p[2] for p in parts])
        owner = np.repeat(order, np.concatenate([p[2] for p in parts]))
        flat = np.concatenate([p[1] for p in parts])[np.argsort(owner, kind="stable")]
        return flat, counts

    def _unpickled(self, picks: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The picks' positions from their blocks unpickled (any layout)."""
        found: list[bytes] = []
        values: tuple[bytes, ...] = ()
        last = -1
        for pick, b in zip(picks.tolist(), block.tolist(), strict=True):
            if b != last:
                values, last = pickle.loads(self.raws[b])[2], b
            found.append(values[pick - int(self.firsts[b])])
        return decode_positions(found)


def read_blocks(reader, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray, Blocks]:  # type: ignore[no-untyped-def]
    """A term's document numbers and weights (as w3format.read_postings), and its blocks
    kept for their positions: one pass over the list."""
    terms = reader._terms
    try:
        info = terms.term_info(field, term)
    except (TermNotFound, KeyError):
        return _EMPTY.astype(np.int32), np.empty(0, dtype=np.float32), _Inlined([])  # type: ignore[return-value]
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        kept = _Inlined(values)
        exact = np.array(weights, dtype=np.float32)
        return np.array(ids, dtype=np.int32), w3format.small_weights(exact), kept  # type: ignore[return-value]
    raws, counts, firsts = w3format.posting_blocks(w3format.posting_bytes(terms, info))
    ids, exact, parsed = w3format.decode_blocks(raws, counts)
    return ids, w3format.small_weights(exact), Blocks(raws, counts, firsts, parsed)


def read_positions(
    reader, field: str, term: bytes, picks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The positions of some postings of a term (`picks`: their ascending indexes in its
    posting list), decompressing only the blocks that hold them: a phrase needs the positions
    of the few documents that have all its words, not of every posting of a common word.
    Returns every picked posting's positions in one array, and how many each has."""
    terms = reader._terms
    info = terms.term_info(field, term)
    if info.is_inlined():
        return _Inlined(info.inlined_postings()[2]).positions(picks)
    wanted = picks.tolist()

    def holds(first: int, count: int) -> bool:
        at = bisect_left(wanted, first)
        return at < len(wanted) and wanted[at] < first + count

    data = w3format.posting_bytes(terms, info)
    return Blocks(*w3format.posting_blocks(data, holds)).positions(picks)


class _Inlined:
    """A rare word's postings kept in its term info: their values as they are."""

    def __init__(self, values: list[bytes]) -> None:
        self.values = values

    def positions(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return decode_positions([self.values[i] for i in picks.tolist()])


# A block's values, as pickle protocol 2 writes a tuple of bytes (Python 3): MARK, then per
# value `_codecs.encode(str, "latin1")`: the GLOBAL (memo g; later a BINGET of it), the value
# as a BINUNICODE (UTF-8 of its latin-1 text) and PUT, "latin1" (later a BINGET) and PUT,
# TUPLE2 and PUT, REDUCE and PUT: the k-th new value of a block is REDUCEd into memo
# g + 4 + 3k. A value met before in the block (the same object: the bulk writer shares equal
# ones) is a BINGET (h, 1-byte memo) or LONG_BINGET (j, 4-byte) of that memo; PUTs past
# memo 255 are LONG_BINPUTs (r, 4-byte). Then TUPLE. Each value is pack_uint(count) and its
# pickled list of deltas, which starts "\x80\x02]q\x00" ("\xc2\x80..." in UTF-8).
_GLOBAL = np.frombuffer(b"(c_codecs\nencode\nq", dtype=np.uint8)
_LIST_MARK = np.frombuffer(b"\xc2\x80\x02]q\x00", dtype=np.uint8)
_LIST_REST = int.from_bytes(b"\x80\x02]q", "little")  # the head's bytes after its first
_X, _H, _J, _Q, _R, _REDUCE, _TUPLE, _STOP = b"XhjqrRt."
_MARK, _APPENDS, _APPEND, _BININT1 = b"(eaK"
_PAD = 16


def _cut_values(blocks: Blocks, which: list[int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Where each posting's value lies in the values' bytes of blocks `which` (each parsed by
    w3format._parse_block), found with numpy for all of them at once (a block unpickled was
    ~40 us, most of a cold phrase). Returns the bytes, each value's BINUNICODE and list head,
    and each posting's value; and per block whether it was not in this layout (then nothing)."""
    sections = [memoryview(blocks.raws[b])[blocks.values_at[b] :] for b in which]  # type: ignore[misc]
    counts = np.array([blocks.counts[b] for b in which], dtype=np.int64)
    lens = np.fromiter(map(len, sections), dtype=np.int64, count=len(sections))
    starts = np.zeros(len(sections), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    a = np.frombuffer(b"".join([*sections, bytes(_PAD)]), dtype=np.uint8)
    size = len(a) - _PAD
    bad = ~(a[starts[:, None] + np.arange(len(_GLOBAL))] == _GLOBAL).all(axis=1)
    # Each value's list head, unique to it: 5 latin-1 bytes no run of int arguments holds.
    m = np.flatnonzero(a[: size - 6] == _LIST_MARK[0])
    m = m[(_words(a)[m + 1] == _LIST_REST) & (a[m + 5] == 0)]
    blk = np.searchsorted(starts, m, side="right") - 1
    got = np.bincount(blk, minlength=len(which))
    first = np.cumsum(got) - got  # each block's first value
    bad |= (got == 0) | (got > counts)
    if bad.any():
        return {}, bad
    # Back from the head: the count's two low bytes (UTF-8: 1 or 2 bytes each), two zero
    # bytes (checked for the values read), the BINUNICODE's opcode and 4-byte length.
    q = m - 1 - ((a[m - 2] & 0xFE) == 0xC2)
    x = np.maximum(q - 8 - ((a[q - 2] & 0xFE) == 0xC2), starts[blk])
    memo = (a[starts + len(_GLOBAL)].astype(np.int64) + 4)[blk]  # g + 4 + 3k: its REDUCE's
    memo += 3 * (np.arange(len(m)) - first[blk])
    bad |= x[first] != starts + len(_GLOBAL) + 1
    # A value followed by the next (no BINGETs between) ends right before it (its BINGET of
    # the GLOBAL) with REDUCE and PUT of its memo; the others, and each block's last, are
    # read forward from their end. (The values read are checked further on.)
    ends = np.append(blk[1:] != blk[:-1], True)  # each block's last value
    nexts = np.flatnonzero(~ends[:-1]) + 1  # values after one of their block
    item = x[nexts] - 2
    named = memo[nexts - 1]
    put = np.where(named < 256, 2, 5)
    closed = (a[item - put - 1] == _REDUCE) & (a[item - put + 1] == (named & 0xFF))
    closed &= a[item - put] == np.where(named < 256, _Q, _R)
    reading = ends.copy()
    reading[nexts[~closed] - 1] = True
    v = np.flatnonzero(reading)
    e = np.minimum(x[v] + 5 + _le32(a, x[v] + 1), size - 1)  # the value's end
    put = np.where(memo[v] < 256, 2, 5)
    after = e + np.where(memo[v] - 2 < 256, 2, 5) + np.where(memo[v] - 1 < 256, 2, 5) + 4 + put
    after += np.where(v == first[blk[v]], 11, 0)  # the first value: "latin1" itself, PUT
    fine = (a[e - 1] == _STOP) & (a[after - put - 1] == _REDUCE) & (a[x[v]] == _X)
    fine &= a[np.minimum(after - put + 1, size)] == (memo[v] & 0xFF)
    last = ends[v]
    gap = x[np.minimum(v + 1, len(m) - 1)] - 2 - after
    fine &= last | ((gap > 0) & (a[np.minimum(after + gap, size)] == _H))
    bad[blk[v[~fine]]] = True
    if bad.any():
        return {}, bad
    # How many BINGETs follow each value, and where they start.
    refs = np.zeros(len(m), dtype=np.int64)
    refs[v[~last]], ok, inner_at = _gap_refs(a, after[~last], gap[~last], None)
    bad[blk[v[~last][~ok]]] = True
    lacking = counts - got - np.add.reduceat(refs, first)
    bad |= lacking < 0
    if bad.any():
        return {}, bad
    tails = lacking > 0  # (v[last]: each block's last value, in block order)
    refs[v[last][tails]], ok, tail_at = _gap_refs(a, after[last][tails], None, lacking[tails])
    bad[tails] |= ~ok
    bad[~tails] |= a[np.minimum(after[last][~tails], size)] != _TUPLE
    if bad.any():
        return {}, bad
    source = np.empty(int(counts.sum()), dtype=np.int64)
    posting = np.arange(len(m)) + np.cumsum(refs) - refs  # each value's own posting
    source[posting] = np.arange(len(m))
    where = np.sort(np.concatenate([inner_at, tail_at]))
    if len(where):
        # Each BINGET names the REDUCE memo of a value before it (every value's memo was
        # checked at its PUT): the k-th before it is 3k below the latest value's.
        owner = np.repeat(np.arange(len(m)), refs)
        name = a[where + 1].astype(np.int64)
        name += (a[where] == _J) * (a[where + 2].astype(np.int64) << 8)
        back = memo[owner] - name
        target = owner - back // 3
        fine = (back % 3 == 0) & (back >= 0) & (target >= first[blk[owner]])
        if not fine.all():
            bad[blk[owner[~fine]]] = True
            return {}, bad
        at = np.repeat(posting + 1 - (np.cumsum(refs) - refs), refs) + np.arange(len(where))
        source[at] = target
    return {"a": a, "m": m, "x": x, "source": source}, bad


def _gap_refs(
    a: np.ndarray, at: np.ndarray, length: np.ndarray | None, need: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BINGETs from each of `at` on: `length` bytes of them, or `need` of them then
    TUPLE, all BINGETs (h) or all LONG_BINGETs (j; others: not ok). Returns how many each
    has, whether it is in that layout, and where each one starts."""
    op = a[np.minimum(at, len(a) - 1)]
    step = np.where(op == _H, 2, 5)
    ok = (op == _H) | (op == _J)
    if need is None:
        r = length // step  # type: ignore[operator]
        ok &= length % step == 0  # type: ignore[operator]
    else:
        r = need
        ok &= a[np.minimum(at + step * r, len(a) - 1)] == _TUPLE
    r = np.where(ok, r, 0)
    nth = np.arange(int(r.sum())) - np.repeat(np.cumsum(r) - r, r)
    where = np.minimum(np.repeat(at, r) + np.repeat(step, r) * nth, len(a) - _PAD)
    good = a[where] == np.repeat(op, r)
    long = np.repeat(op == _J, r)
    good[long] &= _words(a)[where[long] + 1] < 1 << 16
    ok[np.repeat(np.arange(len(at)), r)[~good]] = False
    mixed = np.flatnonzero(~ok & ((op == _H) | (op == _J)))
    if not len(mixed):
        return r, ok, where if ok.all() else where[np.repeat(ok, r)]
    # Gaps of both (BINGETs of memos below 256 and past it): read a BINGET at a time.
    pos = at[mixed].copy()
    stop = None if length is None else pos + length[mixed]
    taken = np.zeros(len(mixed), dtype=np.int64)
    found = [where[np.repeat(ok, r)]]
    for _ in range(
        int(stop.max() - pos.min()) // 2 + 1 if stop is not None else int(need.max()) + 1
    ):  # type: ignore[union-attr]
        going = (pos < len(a) - _PAD) & (
            (pos < stop) if stop is not None else (taken < need[mixed])
        )  # type: ignore[index]
        if not going.any():
            break
        p = pos[going]
        short = a[p] == _H
        fine = short | ((a[p] == _J) & (a[p + 3] == 0) & (a[p + 4] == 0))
        found.append(p[fine])
        pos[going] = np.where(short, p + 2, np.where(fine, p + 5, len(a)))
        taken[going] += 1
    if stop is None:
        ok[mixed] = a[np.minimum(pos, len(a) - 1)] == _TUPLE
        ok[mixed] &= taken == need[mixed]  # type: ignore[index]
    else:
        ok[mixed] = pos == stop
    r[mixed] = taken
    return r, ok, np.concatenate(found)


def _positions_of(
    cut: dict[str, np.ndarray], local: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The positions of the postings at `local` indexes of _cut_values' blocks: their ints'
    UTF-8 bytes gathered, made latin-1 again, unpickled as one list. None if they are not in
    the layout or disagree with their counts."""
    a = cut["a"]
    value = cut["source"][local]
    m, x = cut["m"][value], cut["x"][value]
    e = np.minimum(x + 5 + _le32(a, x + 1), len(a) - _PAD - 1)  # the value's end
    lead = (a[m - 2] & 0xFE) == 0xC2
    q = m - 1 - lead
    counts = (a[q - 1] + 0x40 * (a[q - 2] == 0xC3)).astype(np.int64) * 256 + (
        a[m - 1] + 0x40 * (a[m - 2] == 0xC3)
    )
    many = counts > 1
    ok = (a[x + 5] == 0) & (a[x + 6] == 0) & (counts >= 1)
    ok &= np.where(many, (a[m + 6] == _MARK) & (a[e - 2] == _APPENDS), a[e - 2] == _APPEND)
    if not ok.all():
        return None
    begin = m + 6 + many  # the ints, after the list head (and MARK), before APPEND(S), STOP
    lens = e - 2 - begin
    offsets = np.cumsum(lens) - lens
    utf8 = a[np.repeat(begin - offsets, lens) + np.arange(int(lens.sum()))]
    latin = utf8.copy()
    latin[np.flatnonzero(utf8[:-1] == 0xC3) + 1] += 0x40  # "\xc3" + (b - 0x40): b in C0-FF
    latin = latin[(utf8 & 0xFE) != 0xC2]
    total = int(counts.sum())
    if len(latin) == 2 * total and (latin[::2] == _BININT1).all():  # all under 256 (usual)
        return _restart(latin[1::2].astype(np.int64), counts), counts
    try:
        deltas = pickle.loads(b"\x80\x02](" + latin.tobytes() + b"e.")
    except Exception:  # (not the layout after all: read another way)
        return None
    if len(deltas) != total:
        return None
    return _restart(np.array(deltas, dtype=np.int64), counts), counts


def _le32(a: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Little-endian 4-byte ints at `at` (a LONG_BINPUT's memo, a BINUNICODE's length)."""
    return _words(a)[np.minimum(at, len(a) - 4)].astype(np.int64)


def _words(a: np.ndarray) -> np.ndarray:
    """`a` as little-endian 4-byte words starting at every byte (unaligned: a view)."""
    return np.ndarray((len(a) - 3,), dtype="<u4", buffer=a, strides=(1,))


def _put_arg(a: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The memo a PUT at `at` names (BINPUT q, 1 byte; LONG_BINPUT r, 4; else -1)."""
    op = a[np.minimum(at, len(a) - 1)]
    return np.where(op == _Q, a[at + 1].astype(np.int64), np.where(op == _R, _le32(a, at + 1), -1))


def _restart(flat: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Deltas of consecutive values as positions, each value's from 0."""
    np.cumsum(flat, out=flat)
    firsts = np.cumsum(counts) - counts  # each value's first delta in `flat`
    nonempty = counts > 0
    before = np.zeros(len(counts), dtype=np.int64)
    inner = firsts[nonempty]
    before[nonempty] = np.where(inner > 0, flat[np.maximum(inner - 1, 0)], 0)
    flat -= np.repeat(before, counts)
    return flat


# A posting's positions as Positions.encode writes them: pack_uint(count), then the pickled
# list of deltas: PROTO 2, EMPTY_LIST, BINPUT 0, then one int and APPEND, or MARK, the ints
# (BININT1/BININT2/BININT: K, M, J) and APPENDS (in batches of 1,000), then STOP.
_LIST_HEAD = b"\x80\x02]q\x00"
_HEAD = 4 + len(_LIST_HEAD)


def decode_positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Postings' positions (their encoded values), all in one array, and how many each has.
    The ints of every value are cut from their bytes with numpy and unpickled as one list
    (a posting at a time was most of a common phrase); a value in another layout is read
    as Positions.decode_positions reads it."""
    if not values:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    raw = np.frombuffer(b"".join(values), dtype=np.uint8)
    sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    starts = np.zeros(len(values), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    ends = starts + sizes
    ok = sizes >= _HEAD + 4
    head = starts[:, None] + np.arange(_HEAD)
    head[~ok] = 0
    counts = (
        raw[head[:, 0]].astype(np.int64) << 24
        | raw[head[:, 1]].astype(np.int64) << 16
        | raw[head[:, 2]].astype(np.int64) << 8
        | raw[head[:, 3]].astype(np.int64)
    )
    ok &= (raw[head[:, 4:]] == np.frombuffer(_LIST_HEAD, dtype=np.uint8)).all(axis=1)
    last = np.where(ok, ends - 1, 0)
    ok &= raw[last] == _STOP
    one = counts == 1
    closing = raw[last - 1]
    ok &= np.where(one, closing == _APPEND, (closing == _APPENDS) & (raw[starts + _HEAD] == _MARK))
    ok &= (counts >= 1) & (counts <= 1000)
    # Each value's ints: after the head (and MARK), before APPEND(S) and STOP.
    cut_from = starts + _HEAD + (~one)
    cut_to = ends - 2
    if not ok.all():  # nothing cut from those: read one by one below
        cut_from = np.where(ok, cut_from, starts)
        cut_to = np.where(ok, cut_to, starts)
    keep = np.zeros(len(raw) + 1, dtype=np.int8)
    keep[cut_from] = 1
    keep[cut_to] -= 1
    ints = raw[np.cumsum(keep[:-1], dtype=np.int8).view(bool)].tobytes()
    deltas = pickle.loads(b"\x80\x02](" + ints + b"e.")
    if not ok.all():
        counts = counts.copy()
        counts[~ok] = 0
    if len(deltas) != int(counts.sum()):
        raise IndexDamaged("a posting's positions do not match their count")
    flat = _restart(np.array(deltas, dtype=np.int64), counts)
    if ok.all():
        return flat, counts
    parts: list[np.ndarray] = []
    firsts = np.cumsum(counts) - counts
    for i, (good, a, n) in enumerate(
        zip(ok.tolist(), firsts.tolist(), counts.tolist(), strict=True)
    ):
        if good:
            parts.append(flat[a : a + n])
        else:
            extra: list[int] = []
            sizes_i: list[int] = []
            _positions(values[i], extra, sizes_i)
            counts[i] = sizes_i[0]
            parts.append(np.array(extra, dtype=np.int64))
    return np.concatenate(parts), counts


def _positions(value: bytes, flat: list[int], counts: list[int]) -> None:
    """A posting's positions, as Positions.decode_positions reads them (pack_uint(count),
    then the pickled list of deltas), added to `flat`."""
    if not value.endswith(b"."):
        value += b"."
    deltas = pickle.loads(value[4:])
    flat.extend(accumulate(deltas))
    counts.append(len(deltas))
