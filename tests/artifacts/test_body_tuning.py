"""The process settings `modelreg serve` makes for large request bodies take effect."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from app.http import tuning

pytestmark = pytest.mark.backend_independent

# Allocates and frees 400 one-MiB body-sized buffers, as a streamed upload does, and prints the page faults taken.
_FAULTS = textwrap.dedent("""
    import resource, sys
    if sys.argv[1] == "tuned":
        from app.http.tuning import reuse_freed_buffers
        assert reuse_freed_buffers()
    chunk = b"x" * (1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(400):
        copy = bytes(bytearray(chunk))
        del copy
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _page_faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True)
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt; CI runs on Linux")
def test_freed_body_buffers_are_reused_instead_of_faulted_in_again():
    default, tuned = _page_faults("default"), _page_faults("tuned")
    assert tuned * 10 < default, (default, tuned)


def test_uvicorn_buffers_a_megabyte_of_body_before_pausing():
    module = pytest.importorskip("uvicorn.protocols.http.httptools_impl")
    previous = module.HIGH_WATER_LIMIT
    try:
        tuning.raise_request_body_buffer()
        assert module.HIGH_WATER_LIMIT == tuning.BODY_BUFFER_BYTES
    finally:
        module.HIGH_WATER_LIMIT = previous
