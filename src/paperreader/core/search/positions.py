"""A segment's positions file: common words' document numbers, frequencies and positions, uncompressed, written with the segment and memory-mapped by phrase searches."""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from paperreader.core import mapped
from paperreader.core.errors import IndexDamaged

# A phrase of common words spent most of its first search inflating every block of their
# posting lists and cutting the positions out of the pickles (~90 ms at 100,000 papers).
# The bulk writer keeps the same postings here too, as plain arrays (as tantivy keeps its
# positions apart): reading them is a memory map and a gather. Whoosh's blocks stay the
# truth: this file is a cache, ignored when missing, damaged or not of its segment.
EXT = ".ppos"  # `<segment id>.ppos`: Whoosh's clean_files deletes it with its segment
FIELDS = ("title", "abstract")
# Rarer words' lists are one block, decoded from Whoosh's pickles. With 2,048 (16 blocks)
# the file was ~18% of the index, but a phrase at 1,000,000 papers (34 segments) decoded a
# hundred lists a search at ~1 ms each: in a 30,000-paper segment most title words and
# words such as "graph" or "mixture" have fewer. Words of 128+ documents hold 77% of a
# segment's title postings and 92% of its abstract's; the file is ~28% of the index.
MIN_DOCS = 128
# A prefix looks up its thousands of expansions, mostly not in the file: after this many
# look-ups a file's words are kept in a set (building it at open cost a first phrase
# ~0.4 ms a segment).
SET_AFTER = 64
MAGIC = b"PRPOS\x00\x01\n"
_ALIGN = 8
_EMPTY = np.empty(0, dtype=np.int64)


def file_name(segment_id: str) -> str:
    return segment_id + EXT


class Gatherer:
    """What a segment's builder hands over while it writes, written at the end."""

    def __init__(self) -> None:
        # (field, its kept words, their posting counts, documents, frequencies, positions)
        self.fields: list[
            tuple[str, list[bytes], np.ndarray, np.ndarray, np.ndarray, np.ndarray]
        ] = []

    def add(  # noqa: PLR0913 - the builder's sorted arrays, as they are
        self,
        field: str,
        terms: list[bytes],
        order: list[int],
        bounds: list[int],
        docs: np.ndarray,
        starts: np.ndarray,
        counts: np.ndarray,
        pos: np.ndarray,
    ) -> None:
        """One field's postings sorted by word (the k-th word is `terms[order[k]]`, its
        postings from `bounds[k]` to `bounds[k + 1]`), each with its first position in
        `pos` and how many."""
        # (word by word into arrays of the final size: masks and gathers over a 50,000-paper
        # segment's every posting at once took a worker's peak memory up by ~190 MB)
        edges = np.asarray(bounds, dtype=np.int64)
        sizes = np.diff(edges)
        big = np.flatnonzero(sizes >= MIN_DOCS)
        if not len(big):
            return
        sums = np.add.reduceat(counts, edges[:-1], dtype=np.int64)[big]
        ids = np.empty(int(sizes[big].sum()), dtype=np.int32)
        freqs = np.empty(len(ids), dtype=_small_type(int(counts.max(initial=0))))
        values = np.empty(int(sums.sum()), dtype=_small_type(int(pos.max(initial=0))))
        posting = position = 0
        for k, total in zip(big.tolist(), sums.tolist(), strict=True):
            lo, hi = bounds[k], bounds[k + 1]
            found = counts[lo:hi]
            firsts = np.cumsum(found, dtype=np.int64) - found
            at = np.repeat(starts[lo:hi] - firsts, found) + np.arange(total, dtype=np.int64)
            ids[posting : posting + hi - lo] = docs[lo:hi]
            freqs[posting : posting + hi - lo] = found
            values[position : position + total] = pos[at]
            posting += hi - lo
            position += total
        kept = [terms[order[k]] for k in big.tolist()]
        self.fields.append((field, kept, sizes[big], ids, freqs, values))

    def write(self, folder: Path, segment_id: str, doc_count: int) -> None:
        """The file, written whole under a temporary name then renamed."""
        if not self.fields:
            return
        parts: list[np.ndarray] = []
        at = 0

        def place(array: np.ndarray) -> list:  # type: ignore[type-arg]
            nonlocal at
            parts.append(array)
            where = [at, array.dtype.str, int(array.size)]
            at += array.nbytes
            pad = -at % _ALIGN
            if pad:
                parts.append(np.zeros(pad, dtype=np.uint8))
                at += pad
            return where

        # (CRC-32 of field and word, field number, first posting, postings, first position)
        keys: list[tuple[int, int, int, int, int]] = []
        names: list[bytes] = []
        fields = []
        for number, (field, words, sizes, ids, counts, values) in enumerate(self.fields):
            firsts = np.cumsum(counts, dtype=np.int64) - counts
            starts = (np.cumsum(sizes) - sizes).tolist()
            for word, first, size in zip(words, starts, sizes.tolist(), strict=True):
                name = field.encode() + b"\x00" + word
                keys.append((zlib.crc32(name), number, first, size, int(firsts[first])))
                names.append(name)
            fields.append(
                {
                    "name": field,
                    "ids": place(ids),
                    "counts": place(counts),
                    "positions": place(values),
                }
            )
        order = sorted(range(len(keys)), key=lambda i: (keys[i][0], names[i]))
        table = np.array([keys[i] for i in order], dtype=np.int64).reshape(-1, 5)
        blob = b"".join(names[i] for i in order)
        ends = np.cumsum([len(names[i]) for i in order], dtype=np.int64)
        head = {
            "segment": segment_id,
            "docs": doc_count,
            "fields": fields,
            "table": place(table.ravel()),
            "name_ends": place(ends),
            "names": place(np.frombuffer(blob, dtype=np.uint8)),
        }
        head["size"] = at
        header = json.dumps(head).encode()
        header += b" " * (-(len(MAGIC) + 8 + len(header)) % _ALIGN)
        final = Path(folder) / file_name(segment_id)
        temp = final.with_name(final.name + ".tmp")
        with open(temp, "wb") as out:
            out.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for array in parts:
                out.write(np.ascontiguousarray(array).data)  # (no copy)
        os.replace(temp, final)


class PositionsFile:
    """One segment's file, memory-mapped; `None` from `open` when it does not fit it."""

    def __init__(self, data: np.ndarray, head: dict, base: int) -> None:  # type: ignore[type-arg]
        self.data = data

        def view(where: list) -> np.ndarray:  # type: ignore[type-arg]
            offset, dtype, count = where
            dt = np.dtype(dtype)
            end = base + offset + dt.itemsize * count
            if offset < 0 or count < 0 or end > len(data) or (base + offset) % dt.alignment:
                raise ValueError("out of the file")
            return data[base + offset : end].view(dt)

        self.fields = {
            f["name"]: (view(f["ids"]), view(f["counts"]), view(f["positions"]))
            for f in head["fields"]
        }
        self.numbers = [f["name"] for f in head["fields"]]
        self.table = view(head["table"]).reshape(-1, 5)
        self.crcs = self.table[:, 0]
        self._known: set[int] | None = None
        self._lookups = 0
        self.name_ends = view(head["name_ends"])
        self.names = view(head["names"])

    @classmethod
    def open(cls, folder: Path, segment_id: str, doc_count: int) -> PositionsFile | None:
        path = Path(folder) / file_name(segment_id)
        try:
            with open(path, "rb") as file:
                whole = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            # (its pages count in the mapped share that mapped.trim keeps under its limit:
            # unregistered, they stayed, and the index's own pages were dropped the more)
            mapped.register(whole)
            # (a plain ndarray over the map: np.memmap's slices carry its subclass, whose
            # __getitem__ took 15 ms of a cold phrase at 1,000,000 papers)
            data = np.frombuffer(whole, dtype=np.uint8)
            if bytes(data[: len(MAGIC)]) != MAGIC:
                return None
            size = int.from_bytes(bytes(data[len(MAGIC) : len(MAGIC) + 8]), "little")
            base = len(MAGIC) + 8 + size
            head = json.loads(bytes(data[len(MAGIC) + 8 : base]))
            if head["segment"] != segment_id or head["docs"] != doc_count:
                return None
            if len(data) != base + head["size"]:
                return None  # truncated, or more than was written
            return cls(data, head, base)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # only a cache: the blocks serve

    def samples(self) -> list[tuple[str, bytes]]:
        """(field, word) of the table's first and last entries."""
        found: list[tuple[str, bytes]] = []
        if not len(self.table):  # (nothing to find in it either)
            return found
        for at in sorted({0, len(self.table) - 1}):
            start = int(self.name_ends[at - 1]) if at else 0
            field, _, word = bytes(self.names[start : int(self.name_ends[at])]).partition(b"\x00")
            found.append((field.decode("utf-8", "replace"), word))
        return found

    def find(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The word's document numbers, each one's position count, and their positions in
        one array (in document order), if the file has it."""
        if field not in self.fields:
            return None
        name = field.encode() + b"\x00" + term
        crc = zlib.crc32(name)
        if self._known is None:
            self._lookups += 1
            if self._lookups >= SET_AFTER:
                self._known = set(self.crcs.tolist())
        if self._known is not None and crc not in self._known:
            return None
        at = int(np.searchsorted(self.crcs, crc))
        while at < len(self.crcs) and int(self.crcs[at]) == crc:
            end = int(self.name_ends[at])
            start = int(self.name_ends[at - 1]) if at else 0
            if bytes(self.names[start:end]) == name:
                _crc, number, first, size, pfirst = (int(v) for v in self.table[at])
                if self.numbers[number] != field:
                    return None
                ids, counts, positions = self.fields[field]
                found = counts[first : first + size]
                if len(found) != size or pfirst > len(positions):
                    return None
                # (the positions from the word's first on: reader() cuts them at the sum
                # of its counts, which it adds up anyway)
                return ids[first : first + size], found, positions[pfirst:]
            at += 1
        return None


def _small_type(top: int) -> type:
    """Non-negative ints up to `top` in 8 or 16 bits when they fit, else 32 (counts are
    mostly 1, a title's positions under 256)."""
    return np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.uint32


def reader(
    counts: np.ndarray, positions: np.ndarray
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """As w3values' positions(picks): the picked postings' positions in one array, and how
    many each has. `positions` starts at the word's first and may go on past its last."""
    firsts = np.cumsum(counts, dtype=np.int64)
    if len(firsts) and firsts[-1] > len(positions):
        raise IndexDamaged("a positions file is shorter than its counts")
    firsts -= counts

    def read(picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(picks):
            return _EMPTY, _EMPTY
        sizes = counts[picks].astype(np.int64)
        ends = np.cumsum(sizes)
        at = np.repeat(firsts[picks] - (ends - sizes), sizes) + np.arange(
            int(ends[-1]), dtype=np.int64
        )
        return positions[at].astype(np.int64), sizes

    return read
