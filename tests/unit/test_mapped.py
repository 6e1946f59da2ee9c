import mmap
from pathlib import Path

import pytest

from paperreader.core import mapped


@pytest.mark.skipif(mapped.file_resident_bytes() is None, reason="needs /proc (Linux)")
def test_touched_pages_of_registered_maps_are_let_go_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * (32 * 1024 * 1024))
    with path.open("rb") as f:
        blob = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    mapped.register(blob)
    before = mapped.file_resident_bytes()
    assert sum(blob[i] for i in range(0, len(blob), 4096)) == ord("x") * 8192  # every page
    touched = mapped.file_resident_bytes()
    assert touched - before >= 30 * 1024 * 1024
    assert not mapped.trim(limit=touched + 1)  # under the limit: kept
    assert mapped.trim(limit=0)
    assert mapped.file_resident_bytes() < touched - 30 * 1024 * 1024
    assert blob[len(blob) - 1] == ord("x")  # still readable: mapped again from the page cache
    blob.close()
