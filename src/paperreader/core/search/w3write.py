"""Whoosh 3 posting lists and term-table entries, written as Whoosh's own writer writes them
(W3PostingsWriter, W3TermInfo, OrderedHashWriter) but a whole list or a batch of entries at a
time: the bulk writer's output stage (bulk.py gathers the postings)."""

from __future__ import annotations

import zlib
from array import array
from hashlib import md5
from pickle import dumps
from struct import Struct

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.filedb.filetables import md5_hash
from whoosh.util.numeric import length_to_byte


class TermTable:
    """Term infos put in Whoosh's OrderedHashWriter (the segment's term table) many at a
    time, as its add() puts them one at a time: the same bytes, hashes and ordered index, but
    one write per batch and the MD5 read as bytes (add() went through three layers of writes
    and an MD5 hex digest: half of a 550-paper segment's write)."""

    BATCH = 4096

    def __init__(self, table) -> None:  # type: ignore[no-untyped-def]
        self.table = table
        self.items: list[tuple[bytes, bytes]] = []

    def add(self, key: bytes, value: bytes) -> None:
        self.items.append((key, value))
        if len(self.items) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        items, self.items = self.items, []
        if not items:
            return
        table = self.table
        pos = table.dbfile.tell()
        fast = table.hashfn is md5_hash
        hashfn = table.hashfn
        buckets = table.buckets
        last = table.lastkey
        parts: list[bytes] = []
        places: list[int] = []
        for key, value in items:
            if key <= last:
                raise ValueError(f"keys must increase: {last!r}..{key!r}")
            # (md5_hash is the low 32 bits of the digest as a big-endian number)
            h = (
                int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big")
                if fast
                else hashfn(key)
            )
            buckets[h & 255].append((h, pos))
            places.append(pos)
            parts += (_KEY_VALUE.pack(len(key), len(value)), key, value)
            pos += _KEY_VALUE.size + len(key) + len(value)
            last = key
        table.dbfile.write(b"".join(parts))
        table.lastkey = last
        index = table.index  # (a GrowableArray: its array retyped when a position outgrows it)
        try:
            array(index.array.typecode, [places[-1]])
            index.array.extend(places)
        except (OverflowError, AttributeError):
            index.extend(places)


_KEY_VALUE = Struct("!ii")  # HashWriter's key and value lengths

BLOCK = 128  # W3Codec's blocklimit
COMPRESSION = 3  # W3Codec's compression
# Blocks whose pickle is this small are stored as they are, with compression 0 in their info
# (Whoosh's reader, and w3format's, read the level of each block; Whoosh's writer meant to do
# the same under 20 bytes): zlib's header and checksum made them no smaller (a 550-paper
# segment's 8,372 such blocks: 538 KB raw, 540 KB compressed), and setting up zlib for each
# was a fifth of a small segment's write.
RAW_BLOCK = 128
SMALL_BLOCK = 512  # bytes: compressed with a 512-byte window (it fits in it whole)
_TERM_INFO = Struct("!BfIBBfII")  # W3TermInfo's record
TERM_TAIL = Struct("!qi")  # pack_long(offset) + pack_int(length)
_BLOCK_LENGTH = Struct("!i")


def _compress(raw: bytes) -> bytes:
    """zlib at Whoosh's level; a small block with a small window and hash table, whose set-up
    is most of the cost of compressing a few dozen bytes (64 -> 6 us). Any window reads back
    with zlib.decompress, as Whoosh's reader does."""
    if len(raw) > SMALL_BLOCK:
        return zlib.compress(raw, COMPRESSION)
    packer = zlib.compressobj(COMPRESSION, zlib.DEFLATED, 9, 1)
    return packer.compress(raw) + packer.flush()


def posting_list(ids, weights, values, dfl, fixed, offset):  # type: ignore[no-untyped-def]
    """A term's posting list and term info as W3PostingsWriter.add_posting / finish_postings
    and W3TermInfo write them (blocks of 128: a pickled info tuple, then the zlib-compressed
    pickle of (id deltas, weights, values)), byte for byte but for the blocks of RAW_BLOCK
    bytes or less, stored uncompressed."""
    count = len(ids)
    parts = [WHOOSH3_HEADER_MAGIC]
    total_weight = 0.0
    min_length = None
    max_length = 0
    max_weight = 0
    for start in range(0, count, BLOCK):
        end = min(count, start + BLOCK)
        block_ids = ids[start:end]
        block_weights = weights[start:end]
        stored = array("f", block_weights)
        top = max(0, *block_weights)
        if all(w == 1.0 for w in stored):
            mini_weights = None
        elif all(w == stored[0] for w in stored):
            mini_weights = stored[0]
        else:
            mini_weights = tuple(stored)
        if fixed is None or fixed < 0:
            mini_values = tuple(v for v in values[start:end] if v)
        elif fixed == 0:
            mini_values = None
        else:
            mini_values = b"".join(v for v in values[start:end] if v)
        base = 0
        deltas = []
        for docnum in block_ids:
            deltas.append(docnum - base)
            base = docnum
        data = dumps((tuple(deltas), mini_weights, mini_values), 2)
        level = 0 if len(data) <= RAW_BLOCK else COMPRESSION
        if level:
            data = _compress(data)
        block_min = None
        block_max = 0
        if dfl is not None:
            found = [dfl[d] for d in block_ids if dfl[d]]
            if found:
                block_min, block_max = min(found), max(found)
        info = dumps(
            (
                end - start,
                block_ids[-1],
                top,
                level,
                length_to_byte(block_min),
                length_to_byte(block_max),
            ),
            2,
        )
        size = len(info) + len(data)
        parts.append(_BLOCK_LENGTH.pack(-size if end == count else size))
        parts.append(info)
        parts.append(data)
        total_weight += sum(stored)
        min_length = block_min if min_length is None else min(min_length, block_min)  # type: ignore[type-var]
        max_length = max(max_length, block_max)
        max_weight = max(max_weight, top)
    data = b"".join(parts)
    term_info = _TERM_INFO.pack(
        False,
        total_weight,
        count,
        0 if min_length is None else length_to_byte(min_length),
        length_to_byte(max_length),
        max_weight,
        ids[0],
        ids[-1],
    ) + TERM_TAIL.pack(offset, len(data))
    return data, term_info
