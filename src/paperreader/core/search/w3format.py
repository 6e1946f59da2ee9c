"""Whoosh 3's on-disk bytes, read directly: posting blocks by pickle opcode, term-table records, length columns. The only module that knows that format."""

from __future__ import annotations

import io
import os
import pickle
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
from struct import Struct

import numpy as np
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3LeafMatcher,
    _lenfield,
)
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from paperreader.core.errors import IndexDamaged

_LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
F16_MAX = float(np.finfo(np.float16).max)
_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.empty(0, dtype=np.float32)
_INT = Struct("!i")
_DOUBLE = Struct(">d")  # a pickled BINFLOAT
_RECORD_HEAD = Struct("!ii")  # an ordered hash file's record: key length, value length
_TERM_DF = Struct("!I")  # a W3 term info's document count, after its flags and weight
_TERM_DF_AT = 5
_FIELD_NUM = Struct("!H")  # a term table key starts with its field's number
_WALK_CHUNK = 1 << 20


def field_doc_counts(segment, field: str) -> Iterator[tuple[bytes, int]]:  # type: ignore[no-untyped-def]
    """(word, document count) of every word of `field` in one segment, in order. Read from
    the term table's records with pread, a megabyte at a time: Whoosh's iter_field decodes a
    whole term info for each (50 s for the 3.8 million words of 1,000,000 papers, against
    ~5 s here) through the memory map, whose pages then stay resident."""
    terms = getattr(segment, "_terms", None)
    table = getattr(terms, "_tindex", None)
    where = getattr(getattr(table, "dbfile", None), "pread_at", None)
    fields = getattr(terms, "_fieldmap", None)
    if where is None or fields is None or not hasattr(table, "closest_key_pos"):
        for text, info in segment.iter_field(field):  # not a layout read here: Whoosh's way
            yield text, info.doc_frequency()
        return
    fieldnum = fields.get(field)
    if fieldnum is None:
        return  # no word of this field in the segment
    start = table.closest_key_pos(_FIELD_NUM.pack(fieldnum))
    if start is None:
        return
    end = table.closest_key_pos(_FIELD_NUM.pack(fieldnum + 1))
    end = table.endofdata if end is None else end
    fd, base = where
    head = _RECORD_HEAD
    buf = b""
    pos = 0
    at = start  # the file position of buf[0]
    while at + pos < end:
        need = head.size
        if len(buf) - pos >= need:
            keylen, datalen = head.unpack_from(buf, pos)
            need += keylen + datalen
        if len(buf) - pos < need:  # the record runs past what was read: read on
            buf, at, pos = buf[pos:], at + pos, 0
            size = min(max(_WALK_CHUNK, need), end - at - len(buf))
            more = os.pread(fd, size, base + at + len(buf)) if size > 0 else b""
            if not more:
                return  # (a truncated table)
            buf += more
            continue
        key = pos + head.size
        yield buf[key + 2 : key + keylen], _TERM_DF.unpack_from(buf, key + keylen + _TERM_DF_AT)[0]
        pos += need


def posting_ids(reader, field: str, text: object) -> list[int]:  # type: ignore[no-untyped-def]
    """All document numbers of one term's postings, decoded a block at a time."""
    if field not in reader.schema or not hasattr(reader, "_terms"):
        return []  # an empty index has no term table (EmptyReader)
    try:
        text = reader.schema[field].to_bytes(text) if isinstance(text, str) else text
        matcher = reader._terms.matcher(field, text, reader.schema[field].format)
    except TermNotFound:
        return []
    if not isinstance(matcher, W3LeafMatcher):
        return list(matcher.all_ids())
    ids: list[int] = []
    while matcher.is_active():
        matcher._read_ids()
        ids.extend(matcher._ids)
        matcher._next_block()
    return ids


def read_postings(reader, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """A term's document numbers and weights in one segment (a SegmentReader), read from its
    term info (inlined) or its posting list, with one pread when the file allows it."""
    terms = reader._terms
    try:
        info = terms.term_info(field, term)
    except (TermNotFound, KeyError):
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    if info.is_inlined():  # a rare word's few postings, kept in the term table
        inlined_ids, inlined_weights, _ = info.inlined_postings()
        ids = np.array(inlined_ids, dtype=np.int32)
        exact = np.array(inlined_weights, dtype=np.float32)
    else:
        ids, exact = decode_postings(posting_bytes(terms, info))
    # Frequency x field boost is small and exact in 16 bits, except in a huge note or text
    # (past 65,504 the cast overflows, with a RuntimeWarning on stderr): those stay 32 bits.
    if not exact.size or float(np.abs(exact).max()) > F16_MAX:
        return ids, exact
    small = exact.astype(np.float16)
    return ids, small if np.array_equal(small, exact) else exact


def read_lengths(reader, field: str, doc_count: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A segment's field lengths, one a document, from the length column's bytes."""
    column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    raw = np.zeros(doc_count, dtype=np.uint8)
    if column is not None:
        stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), np.uint8)
        raw[: len(stored)] = stored[:doc_count]
    return _LENGTH_TABLE[raw]


def decode_postings(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers and weights of a Whoosh 3 posting list (what W3LeafMatcher reads a
    block at a time): a magic tag, then blocks of [int length (negative: the last block)]
    [pickled block info][data: a pickled (id deltas, weights, values), maybe compressed]."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise IndexDamaged("a posting list does not start with its tag")
    found = _decode_postings_at_once(data)
    return found if found is not None else _decode_postings_by_block(data)


def _decode_postings_at_once(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """The common case, with numpy once per list instead of once per block (a common word's
    list at 1,000,000 papers is thousands of blocks): every block in the usual layout (see
    _parse_block). None if one is not."""
    stream = io.BytesIO(data)
    firsts: list[int] = []
    counts: list[int] = []
    deltas: list[bytes] = []
    floats: list[bytes | float] = []  # a block's 9-byte BINFLOATs, or its one weight
    position = 4
    while True:
        (length,) = _INT.unpack_from(data, position)
        end = position + _INT.size + abs(length)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        block = data[stream.tell() : end]
        parsed = _parse_block(zlib.decompress(block) if compression else block, count)
        if parsed is None:
            return None
        firsts.append(parsed[0])
        counts.append(count)
        deltas.append(parsed[1])
        floats.append(parsed[2])
        if length < 0:
            break
        position = end
    sizes = np.array(counts)
    total = int(sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    steps = np.empty(total, dtype=np.int64)
    first = np.zeros(total, dtype=bool)
    first[starts] = True
    steps[first] = firsts
    steps[~first] = np.frombuffer(b"".join(deltas), dtype=np.uint8)
    ids = np.cumsum(steps)
    ids -= np.repeat(np.concatenate(([0], ids[starts[1:] - 1])), sizes)  # blocks start afresh
    if all(isinstance(weight, bytes) for weight in floats):
        weights = _binfloats(b"".join(floats), total)  # type: ignore[arg-type]
    else:
        weights = np.concatenate(
            [
                _binfloats(w, n) if isinstance(w, bytes) else np.full(n, w)
                for w, n in zip(floats, counts, strict=True)
            ]
        )
    return ids.astype(np.int32), weights.astype(np.float32)


def _decode_postings_by_block(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Any list: blocks in the usual layout parsed, the others unpickled."""
    stream = io.BytesIO(data)
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    position = 4
    while True:
        (length,) = _INT.unpack_from(data, position)
        last = length < 0
        end = position + _INT.size + abs(length)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        block = data[stream.tell() : end]
        raw = zlib.decompress(block) if compression else block
        parsed = _parse_block(raw, count)
        if parsed is None:
            block_deltas, block_weights, _values = pickle.loads(raw)
            steps = np.array(block_deltas, dtype=np.int64)
        else:
            first, one_byte, block_weights = parsed
            steps = np.empty(count, dtype=np.int64)
            steps[0] = first
            steps[1:] = np.frombuffer(one_byte, dtype=np.uint8)
            if isinstance(block_weights, bytes):
                block_weights = _binfloats(block_weights, count)
        ids.append(np.cumsum(steps))  # each block's ids are deltas from 0
        if block_weights is None or isinstance(block_weights, float):
            weights.append(np.full(count, block_weights or 1.0, dtype=np.float32))
        else:
            weights.append(np.asarray(block_weights, dtype=np.float32))
        if last:
            return np.concatenate(ids).astype(np.int32), np.concatenate(weights)
        position = end


def _parse_block(raw: bytes, count: int) -> tuple[int, bytes, bytes | float] | None:
    """A block's ids and weights read straight from its pickle, without unpickling the
    values (a text field's positions: ~3/4 of the bytes and of the time), in the usual
    layout: PROTO, MARK, the first id (any int), `count - 1` one-byte deltas, TUPLE, PUT,
    then one BINFLOAT or None for the whole block, or MARK, `count` BINFLOATs, TUPLE.
    Returns the first id, the deltas' bytes and the weights (their 9-byte BINFLOATs, or
    the one weight); None for anything else (fewer than 4 ids pickle as a TUPLE1-3, without
    a MARK), which is unpickled."""
    size = _INT_SIZE.get(raw[3]) if len(raw) > 3 else None
    if count < 4 or raw[2] != _MARK or size is None:
        return None
    at = 4 + size
    ids_end = at + 2 * (count - 1)
    if len(raw) <= ids_end + 1 or raw[at:ids_end:2] != b"K" * (count - 1):
        return None
    put = _PUT_SIZE.get(raw[ids_end + 1]) if raw[ids_end] == _TUPLE else None
    if put is None:
        return None
    floats_at = ids_end + 1 + put
    floats_end = floats_at + 1 + 9 * count
    if len(raw) > floats_at + 9 and raw[floats_at] in (_BINFLOAT, _NONE):
        one = raw[floats_at] == _BINFLOAT
        weight: bytes | float = _DOUBLE.unpack_from(raw, floats_at + 1)[0] if one else 1.0
    elif len(raw) > floats_end and raw[floats_at] == _MARK and raw[floats_end] == _TUPLE:
        if raw[floats_at + 1 : floats_end : 9] != b"G" * count:
            return None
        weight = raw[floats_at + 1 : floats_end]
    else:
        return None
    first = int.from_bytes(raw[4:at], "little", signed=size == 4)
    return first, raw[at + 1 : ids_end : 2], weight


def _binfloats(raw: bytes, count: int) -> np.ndarray:
    """`count` pickled BINFLOATs (an opcode byte, then a big-endian double) as floats."""
    return np.frombuffer(raw, dtype=np.uint8).reshape(count, 9)[:, 1:].copy().view(">f8").ravel()


# Pickle opcodes (protocol 2) of _parse_block's layout, as byte values; a PUT's size by its opcode.
_MARK, _TUPLE, _BININT1, _NONE, _BINFLOAT = b"(tKNG"
_PUT_SIZE = {ord("q"): 2, ord("r"): 5}
_INT_SIZE = {_BININT1: 1, ord("M"): 2, ord("J"): 4}  # BININT1, BININT2, BININT


def read_positions(
    reader, field: str, term: bytes, picks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The positions of some postings of a term (`picks`: their ascending indexes in its
    posting list), decoding only the blocks that hold them: a phrase needs the positions of
    the few documents that have all its words, not of every posting of a common word.
    Returns every picked posting's positions in one array, and how many each has."""
    terms = reader._terms
    info = terms.term_info(field, term)
    wanted = picks.tolist()
    if info.is_inlined():
        values = info.inlined_postings()[2]
        return decode_positions([values[i] for i in wanted])
    data = posting_bytes(terms, info)
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise IndexDamaged("a posting list does not start with its tag")
    found: list[bytes] = []
    at = 0  # the next pick
    first = 0  # the posting index of this block's first posting
    position = 4
    stream = io.BytesIO(data)
    while at < len(wanted):
        (size,) = _INT.unpack_from(data, position)
        end = position + _INT.size + abs(size)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        if wanted[at] < first + count:
            block = data[stream.tell() : end]
            values = pickle.loads(zlib.decompress(block) if compression else block)[2]
            stop = bisect_left(wanted, first + count, at)
            if stop - at == count:  # every posting of the block
                found.extend(values)
            else:
                found.extend([values[i - first] for i in wanted[at:stop]])
            at = stop
        if size < 0:
            break
        first += count
        position = end
    if len(found) != len(wanted):
        raise IndexDamaged("a posting list is shorter than its term info says")
    return decode_positions(found)


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
    flat = np.array(deltas, dtype=np.int64)
    np.cumsum(flat, out=flat)
    firsts = np.cumsum(counts) - counts  # each value's first delta in `flat`
    nonempty = counts > 0
    before = np.zeros(len(values), dtype=np.int64)
    inner = firsts[nonempty]
    before[nonempty] = np.where(inner > 0, flat[np.maximum(inner - 1, 0)], 0)
    flat -= np.repeat(before, counts)  # each value's deltas start from 0
    if ok.all():
        return flat, counts
    parts: list[np.ndarray] = []
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


_STOP, _APPEND, _APPENDS = b".ae"


def _positions(value: bytes, flat: list[int], counts: list[int]) -> None:
    """A posting's positions, as Positions.decode_positions reads them (pack_uint(count),
    then the pickled list of deltas), added to `flat`."""
    if not value.endswith(b"."):
        value += b"."
    deltas = pickle.loads(value[4:])
    flat.extend(accumulate(deltas))
    counts.append(len(deltas))


def posting_bytes(terms, info) -> bytes:  # type: ignore[no-untyped-def]
    """A term's whole posting list as bytes (not inlined in the term table)."""
    offset, length = info.extent()
    if isinstance(length, tuple):  # how whoosh-reloaded's term info returns it
        (length,) = length
    where = getattr(terms._postfile, "pread_at", None)
    if where is not None:
        # Read the posting list with one pread, not through the memory map: the map would
        # leave every page it touched counted in the process's resident memory.
        fd, base = where
        return os.pread(fd, length, base + offset)
    return bytes(terms._postfile.get(offset, length))
