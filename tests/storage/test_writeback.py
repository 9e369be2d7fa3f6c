"""The local store's write-behind file: content intact, and the kernel really asked to write behind on Linux."""

from __future__ import annotations

import os
import sys

import pytest

from app.storage import writeback
from app.storage.writeback import WriteBehindFile

pytestmark = pytest.mark.backend_independent


def test_content_is_written_whole_across_windows(tmp_path):
    chunks = [os.urandom(size) for size in (1, 4095, 4096, 10_000, 70_000, 3)]
    path = tmp_path / "blob"
    with open(path, "xb") as handle:
        sink = WriteBehindFile(handle, window=8192)
        for chunk in chunks:
            sink.write(chunk)
        sink.sync()
    assert path.read_bytes() == b"".join(chunks)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_write_behind_is_available_and_accepted_on_linux(tmp_path):
    """CI runs on Linux: the binding must load there, and the kernel must accept the call for our files."""
    assert writeback._sync_file_range is not None
    path = tmp_path / "blob"
    with open(path, "xb") as handle:
        handle.write(os.urandom(65536))
        handle.flush()
        assert writeback._sync_file_range(handle.fileno(), 0, 65536, writeback._SYNC_FILE_RANGE_WRITE) == 0


def test_windows_are_handed_to_the_kernel_in_order(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(writeback, "_sync_file_range", lambda fd, offset, length, flags: calls.append((offset, length)))
    with open(tmp_path / "blob", "xb") as handle:
        sink = WriteBehindFile(handle, window=100)
        for _ in range(5):
            sink.write(b"x" * 60)
        sink.sync()
    assert calls == [(0, 120), (120, 120)]
