"""The search warm-up kept between runs: decoded posting lists saved per index segment.

Decoding the most common words' postings takes the reader's background warm-up ~10 s at
100,000 papers, and until it is done the first search for each of those words pays for it.
A segment never changes once written (only its deletions do, and they are applied apart), so
the decoded arrays are saved once, beside the index, and memory-mapped at the next start:
the reader is warm from its first keystroke. A cache of a cache: any file that does not fit
its segment is ignored (and replaced at the next save); deleting the folder costs nothing
but one warm-up.

Per segment: `<segment id>.bin`, every list's document numbers (int32) and weights, one
after the other, then the unions of common short prefixes' expansions, one bit a document
(the first `re` typed at 1,000,000 papers decoded 160 lists for its union: 0.2-0.5 s);
`<segment id>.words.npy`, the sorted CRC-32s of its spelling words
(did-you-mean looks its candidates up there: one array search instead of a term-table look-up
per candidate and segment); and `<segment id>.json`, written last, saying where each list is.
No pickles: `np.load(..., allow_pickle=False)`.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from paperreader.core import mapped
from paperreader.core.fsutil import atomic_write

VERSION = 2
Lists = dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]]
# (field, prefix) -> (the prefix's expansions, packed bits of the documents having any)
Unions = dict[tuple[str, str], tuple[tuple[bytes, ...], np.ndarray]]
UnionsIn = Iterable[tuple[tuple[str, str, tuple[bytes, ...]], np.ndarray]]


def save(
    folder: Path,
    segment: str,
    docs: int,
    lists: Iterable[tuple[tuple[str, bytes], tuple[np.ndarray, np.ndarray]]],
    words: np.ndarray,
    unions: UnionsIn = (),
) -> None:
    """Write the (field, term) -> (sorted document numbers, weights) `lists` of a segment,
    streamed as they come (decoded one by one: the warm-up of a big library is hundreds of
    MB), the (field, prefix, expansions) -> packed bits `unions` after them, and `words`,
    the sorted hashes of its spelling words (did-you-mean's filter)."""
    entries: list[list[object]] = []
    union_entries: list[list[object]] = []
    size = 0

    def padded(array: np.ndarray) -> bytes:  # 8-byte aligned, so every array maps in place
        nonlocal size
        data = array.tobytes()
        size += _aligned(len(data))
        return data + b"\0" * (_aligned(len(data)) - len(data))

    def chunks() -> Iterator[bytes]:
        for (field, term), (ids, weights) in lists:
            entries.append([field, term.hex(), size, len(ids), weights.dtype.str])
            yield padded(np.ascontiguousarray(ids, dtype="<i4"))
            yield padded(weights)
        for (field, prefix, terms), bits in unions:
            if len(bits) != packed_size(docs):
                raise ValueError(f"a union of {len(bits)} bytes for {docs} documents")
            union_entries.append([field, prefix, [t.hex() for t in terms], size])
            yield padded(np.ascontiguousarray(bits, dtype=np.uint8))

    folder.mkdir(exist_ok=True)  # (not its parents: a library deleted meanwhile stays so)
    atomic_write(folder / f"{segment}.bin", chunks(), make_folders=False)
    hashes = io.BytesIO()
    np.save(hashes, np.ascontiguousarray(words, dtype=np.uint32), allow_pickle=False)
    atomic_write(folder / f"{segment}.words.npy", hashes.getvalue(), make_folders=False)
    meta = {
        "version": VERSION,
        "segment": segment,
        "docs": docs,
        "bytes": size,
        "lists": entries,
        "unions": union_entries,
        "words": len(words),
    }
    atomic_write(folder / f"{segment}.json", json.dumps(meta).encode(), make_folders=False)


def _aligned(size: int) -> int:
    return size + (-size % 8)


def packed_size(docs: int) -> int:
    """Bytes of one bit a document."""
    return (docs + 7) // 8


def load(folder: Path, segment: str, docs: int) -> tuple[Lists, np.ndarray, Unions] | None:
    """The saved lists, word hashes and prefix unions of a segment, memory-mapped; None if
    there are none that fit it."""
    try:
        meta = json.loads((folder / f"{segment}.json").read_text())
        if (meta["version"], meta["segment"], meta["docs"]) != (VERSION, segment, docs):
            return None
        path = folder / f"{segment}.bin"
        if path.stat().st_size != meta["bytes"]:
            return None
        blob = np.memmap(path, dtype=np.uint8, mode="r") if meta["bytes"] else np.empty(0, np.uint8)
        if isinstance(blob, np.memmap):
            mapped.register(blob._mmap)  # type: ignore[attr-defined]
        lists: Lists = {}
        for field, term_hex, at, count, weight_dtype in meta["lists"]:
            dtype = np.dtype(weight_dtype)
            if dtype not in (np.float16, np.float32):
                return None
            weights_at = at + _aligned(4 * count)
            ids = blob[at : at + 4 * count].view("<i4")
            weights = blob[weights_at : weights_at + dtype.itemsize * count].view(dtype)
            if len(ids) != count or len(weights) != count:
                return None
            # (Their values are checked at first use: reading two pages of every list here
            # made the start of a 1,000,000-paper reader 220 MB bigger.)
            lists[(str(field), bytes.fromhex(term_hex))] = (ids, weights)
        unions: Unions = {}
        for field, prefix, terms_hex, at in meta["unions"]:
            bits = blob[at : at + packed_size(docs)]
            if len(bits) != packed_size(docs):
                return None
            terms = tuple(bytes.fromhex(t) for t in terms_hex)
            unions[(str(field), str(prefix))] = (terms, bits)
        words = np.load(folder / f"{segment}.words.npy", mmap_mode="r", allow_pickle=False)
        if words.dtype != np.uint32 or words.shape != (meta["words"],):
            return None
        return lists, words, unions
    except (OSError, ValueError, KeyError, TypeError):  # missing, truncated, not ours
        return None


def prune(folder: Path, keep: set[str]) -> None:
    """Remove the files of segments no longer in the index (merged away, or rebuilt)."""
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            segment = path.name.split(".")[0]  # (a temp file's name starts with a dot)
            if segment and path.suffix in (".bin", ".npy", ".json") and segment not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()
