"""The bulk writer's output stage (search/w3write.py) against Whoosh's own writers."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.structfile import StructFile

from paperreader.core.search import w3write


def _write(path: Path, items: list[tuple[bytes, bytes]], *, batched: bool) -> bytes:
    table = OrderedHashWriter(StructFile(open(path, "wb")))  # noqa: SIM115 - the table closes it
    if batched:
        mine = w3write.TermTable(table)
        for key, value in items:
            mine.add(key, value)
        mine.flush()
    else:
        for key, value in items:
            table.add(key, value)
    table.close()
    return path.read_bytes()


def test_the_term_table_is_whooshs_byte_for_byte(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # (past 64 KB of entries: the ordered index's positions outgrow 16 bits mid-batch)
    items = [(b"\x00\x01" + b"w%06d" % n, b"v" * (n % 40)) for n in range(9000)]
    whooshs = _write(tmp_path / "whoosh", items, batched=False)
    assert len(whooshs) > 1 << 16
    assert _write(tmp_path / "mine", items, batched=True) == whooshs


def test_keys_out_of_order_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = OrderedHashWriter(StructFile(open(tmp_path / "t", "wb")))  # noqa: SIM115
    mine = w3write.TermTable(table)
    mine.add(b"b", b"1")
    mine.add(b"a", b"2")
    with pytest.raises(ValueError, match="keys must increase"):
        mine.flush()
