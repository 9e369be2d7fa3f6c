"""Streaming sha256 with the hashing and writing done off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterable, Callable

from app.domain.errors import BadUserInput, FailedPrecondition, TooLarge

BATCH_BYTES = 4 * 1024 * 1024
QUEUE_DEPTH = 4
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


_UPLOAD_ID = re.compile(r"[0-9a-z-]{1,64}")


def check_upload_id(upload_id: str) -> str:
    """An upload id as the registry hands them out (lowercase hex), so it is safe in paths and blob names."""
    if not _UPLOAD_ID.fullmatch(upload_id or ""):
        raise FailedPrecondition(f"upload {upload_id[:80]!r} is not an upload id this server handed out")
    return upload_id


def hex_of(digest: str) -> str:
    """The hex part of a ``sha256:<hex>`` digest (validated, so it is safe in paths and blob names)."""
    if not _DIGEST.fullmatch(digest):
        raise BadUserInput(f"{digest[:80]!r} is not a digest of the form sha256:<64 hex>", field="digest")
    return digest[len("sha256:") :]


async def consume(
    chunks: AsyncIterable[bytes], sink: Callable[[bytes], None], *, max_size: int, expected_digest: str | None
) -> tuple[str, int]:
    """Feed ``chunks`` to ``sink`` in a worker thread while hashing them; returns (digest, size).

    Receiving overlaps with hashing and writing through a small bounded queue, so memory stays at about
    QUEUE_DEPTH x BATCH_BYTES whatever the size of the stream.
    """
    hasher = hashlib.sha256()
    queue: asyncio.Queue[list[bytes] | None] = asyncio.Queue(QUEUE_DEPTH)
    loop = asyncio.get_running_loop()

    def drain() -> None:
        while True:
            batch = asyncio.run_coroutine_threadsafe(queue.get(), loop).result()
            if batch is None:
                return
            for chunk in batch:  # chunks as received: no copy into one buffer
                hasher.update(chunk)
                sink(chunk)

    worker = loop.run_in_executor(None, drain)
    size, pending, pending_size = 0, [], 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_size:
                raise TooLarge(f"the upload is larger than the limit of {max_size} bytes", field="body")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= BATCH_BYTES:
                await _put(queue, worker, pending)
                pending, pending_size = [], 0
        if pending:
            await _put(queue, worker, pending)
    except BaseException:
        await _stop(queue, worker, raise_errors=False)
        raise
    await _stop(queue, worker, raise_errors=True)
    digest = "sha256:" + hasher.hexdigest()
    if expected_digest is not None and digest != expected_digest:
        raise BadUserInput(
            f"the content's digest is {digest}, not the expected {expected_digest}; nothing was kept", field="digest"
        )
    return digest, size


async def _put(queue: asyncio.Queue, worker: asyncio.Future, item: list[bytes] | None) -> None:
    """Queue ``item`` for the writer thread, unless the writer dies first: a failed sink (disk full, storage
    outage) must surface as an error, never leave the request waiting on a full queue for ever."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, worker}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        await worker  # raises the writer's error
        raise RuntimeError("the artifact writer stopped early")
    put.result()


async def _stop(queue: asyncio.Queue, worker: asyncio.Future, *, raise_errors: bool) -> None:
    """Tell the writer thread to finish and wait for it, so nothing writes after the caller cleans up."""
    try:
        if not worker.done():
            await _put(queue, worker, None)
        await worker
    except Exception:
        if raise_errors:
            raise
