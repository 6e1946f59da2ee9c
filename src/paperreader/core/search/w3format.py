"""Whoosh 3's on-disk bytes, read directly: posting blocks by pickle opcode, term-table records, length columns. The only module that knows that format."""

from __future__ import annotations

import io
import os
import pickle
import zlib
from collections.abc import Callable, Iterator, Sequence
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
    return ids, small_weights(exact)


def small_weights(exact: np.ndarray) -> np.ndarray:
    """Weights in 16 bits where that is exact: frequency x field boost is, except in a huge
    note or text (past 65,504 the cast overflows, with a RuntimeWarning on stderr)."""
    if not exact.size or float(np.abs(exact).max()) > F16_MAX:
        return exact
    small = exact.astype(np.float16)
    return small if np.array_equal(small, exact) else exact


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
    raws: list[bytes | None] = []
    counts: list[int] = []
    parsed: list[Parsed | None] = []
    for _first, count, raw in _inflated(data, None):
        found = _parse_block(raw, count)
        parsed.append(found)
        counts.append(count)
        raws.append(raw if found is None else None)  # (each block let go once parsed)
    if all(p is not None for p in parsed):
        return _decode_postings_at_once(parsed, counts)  # type: ignore[arg-type]
    return _decode_postings_by_block(raws, counts, parsed)


def posting_blocks(
    data: bytes, wanted: Callable[[int, int], bool] | None = None
) -> tuple[list[bytes], list[int], list[int]]:
    """A posting list's blocks decompressed, their posting counts and the posting index of
    each one's first; only the blocks for which `wanted(first, count)` holds, if given."""
    found = list(_inflated(data, wanted))
    return [b[2] for b in found], [b[1] for b in found], [b[0] for b in found]


def _inflated(
    data: bytes, wanted: Callable[[int, int], bool] | None
) -> Iterator[tuple[int, int, bytes]]:
    """(index of its first posting, posting count, bytes) of a list's blocks, decompressed."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise IndexDamaged("a posting list does not start with its tag")
    stream = io.BytesIO(data)
    view = memoryview(data)  # (slices of it are not copies)
    first = 0
    position = 4
    while True:
        (length,) = _INT.unpack_from(data, position)
        end = position + _INT.size + abs(length)
        stream.seek(position + _INT.size)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(stream)
        if wanted is None or wanted(first, count):
            block = view[stream.tell() : end]
            yield first, count, zlib.decompress(block) if compression else bytes(block)
        if length < 0:
            return
        first += count
        position = end


Parsed = tuple[int, bytes, "bytes | float", int]  # see _parse_block


def decode_blocks(
    raws: list[bytes], counts: list[int]
) -> tuple[np.ndarray, np.ndarray, list[Parsed | None]]:
    """Document numbers and weights of decompressed blocks (a whole list, in order), and
    each block as _parse_block read it (None: unpickled)."""
    parsed = [_parse_block(raw, count) for raw, count in zip(raws, counts, strict=True)]
    if all(p is not None for p in parsed):
        return (*_decode_postings_at_once(parsed, counts), parsed)  # type: ignore[arg-type]
    return (*_decode_postings_by_block(raws, counts, parsed), parsed)


def _decode_postings_at_once(
    parsed: list[Parsed], counts: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The common case, with numpy once per list instead of once per block (a common word's
    list at 1,000,000 papers is thousands of blocks): every block in the usual layout (see
    _parse_block)."""
    firsts = [p[0] for p in parsed]
    floats = [p[2] for p in parsed]  # a block's 9-byte BINFLOATs, or its one weight
    sizes = np.array(counts)
    total = int(sizes.sum())
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    steps = np.empty(total, dtype=np.int64)
    first = np.zeros(total, dtype=bool)
    first[starts] = True
    steps[first] = firsts
    steps[~first] = np.frombuffer(b"".join([p[1] for p in parsed]), dtype=np.uint8)
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


def _decode_postings_by_block(
    raws: Sequence[bytes | None], counts: list[int], parsed: list[Parsed | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Any list: blocks in the usual layout parsed, the others unpickled."""
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for raw, count, found in zip(raws, counts, parsed, strict=True):
        if found is None:
            block_deltas, block_weights, _values = pickle.loads(raw)  # type: ignore[arg-type]
            steps = np.array(block_deltas, dtype=np.int64)
        else:
            first, one_byte, block_weights, _at = found
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
    return np.concatenate(ids).astype(np.int32), np.concatenate(weights)


def _parse_block(raw: bytes, count: int) -> Parsed | None:
    """A block's ids and weights read straight from its pickle, without unpickling the
    values (a text field's positions: ~3/4 of the bytes and of the time), in the usual
    layout: PROTO, MARK, the first id (any int), `count - 1` one-byte deltas, TUPLE, PUT,
    then one BINFLOAT or None for the whole block, or MARK, `count` BINFLOATs, TUPLE.
    Returns the first id, the deltas' bytes, the weights (their 9-byte BINFLOATs, or the one
    weight) and where the values' tuple starts; None for anything else (fewer than 4 ids
    pickle as a TUPLE1-3, without a MARK), which is unpickled."""
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
        values_at = floats_at + (9 if one else 1)
    elif len(raw) > floats_end + 1 and raw[floats_at] == _MARK and raw[floats_end] == _TUPLE:
        if raw[floats_at + 1 : floats_end : 9] != b"G" * count:
            return None
        weight = raw[floats_at + 1 : floats_end]
        values_at = floats_end + 1 + _PUT_SIZE.get(raw[floats_end + 1], 0)
    else:
        return None
    first = int.from_bytes(raw[4:at], "little", signed=size == 4)
    return first, raw[at + 1 : ids_end : 2], weight, values_at


def _binfloats(raw: bytes, count: int) -> np.ndarray:
    """`count` pickled BINFLOATs (an opcode byte, then a big-endian double) as floats."""
    return np.frombuffer(raw, dtype=np.uint8).reshape(count, 9)[:, 1:].copy().view(">f8").ravel()


# Pickle opcodes (protocol 2) of _parse_block's layout, as byte values; a PUT's size by its opcode.
_MARK, _TUPLE, _BININT1, _NONE, _BINFLOAT = b"(tKNG"
_PUT_SIZE = {ord("q"): 2, ord("r"): 5}
_INT_SIZE = {_BININT1: 1, ord("M"): 2, ord("J"): 4}  # BININT1, BININT2, BININT


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
