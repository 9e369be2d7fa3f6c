"""Process and uvicorn settings for moving large request bodies cheaply; none has a configuration option."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import logging

BODY_BUFFER_BYTES = 1024 * 1024
_PROTOCOL_MODULES = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl")

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
LARGE_BUFFER_BYTES = 16 * 1024 * 1024
RETAINED_FREE_BYTES = 64 * 1024 * 1024

log = logging.getLogger(__name__)


def raise_request_body_buffer(limit: int = BODY_BUFFER_BYTES) -> None:
    """Let uvicorn buffer up to ``limit`` bytes of a request body before it pauses reading the socket.

    Its default of 64 KiB makes a large upload cost one pause/resume round trip per 64 KiB; at 1 MiB an upload
    through a bare ASGI app measured 1.6x faster here (1 GiB in 0.72 s instead of 1.16 s), for at most 1 MiB more
    memory per uploading connection. uvicorn reads the value from a module constant, so it is set there.
    """
    for name in _PROTOCOL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # httptools is optional in uvicorn; h11 is always there
            continue
        if hasattr(module, "HIGH_WATER_LIMIT"):
            module.HIGH_WATER_LIMIT = limit  # type: ignore[attr-defined]  # a module imported by name


def reuse_freed_buffers() -> bool:
    """Make glibc's malloc keep freed body buffers for reuse instead of handing them back to the kernel.

    Every chunk of a streamed body is a new bytes object of 64 KiB to 1 MiB. By default glibc serves such sizes
    with mmap (or trims them off the heap) and unmaps them when freed, so the next chunk page-faults fresh zeroed
    memory: measured here, 200,000 page faults and about 0.9 s of CPU per GiB received, half the cost of the
    upload. With these two settings the heap keeps up to 64 MiB of free memory and allocations up to 16 MiB come
    from it: 6,000 page faults per GiB. Returns False where the C library is not glibc (nothing changes there).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc only: musl and others have no mallopt with these parameters
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES) == 1 and mallopt(_M_TRIM_THRESHOLD, RETAINED_FREE_BYTES) == 1
    if not ok:
        log.warning("mallopt refused the buffer settings; large uploads will cost more CPU")
    return ok


def tune_server_process() -> None:
    """Both settings, for a process about to serve requests (``modelreg serve`` or one of its workers)."""
    raise_request_body_buffer()
    reuse_freed_buffers()
