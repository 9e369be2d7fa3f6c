"""Staging a stream as the blocks of one Azure block blob, a few uploads at once, with bounded memory."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Coroutine
from typing import Any, cast

from azure.storage.blob import BlobBlock
from azure.storage.blob.aio import BlobClient

IN_FLIGHT = 2  # block uploads under way per writer: memory stays near (IN_FLIGHT + 1) x block size


class BlockWriter:
    """Cuts a stream into blocks of one blob and stages them, a few at once. ``sink`` runs in consume's worker
    thread and waits there (never on the event loop) when IN_FLIGHT uploads are pending.

    A failed block upload is recorded rather than raised from ``sink``, so the pending uploads are still awaited
    before the caller cleans up; ``guard`` (wrapped around the incoming stream) raises it before the next chunk,
    and ``finish`` raises it too."""

    def __init__(self, blob: BlobClient, block_size: int, loop: asyncio.AbstractEventLoop) -> None:
        self._blob, self._block_size, self._loop = blob, block_size, loop
        self._prefix = secrets.token_hex(8)  # block ids unique to this writer, all of one length
        self._buffer = bytearray()
        self._pending: deque[concurrent.futures.Future] = deque()
        self.blocks: list[BlobBlock] = []
        self.error: BaseException | None = None

    def _put(self, data: bytes) -> Coroutine[Any, Any, dict[str, Any]]:
        block_id = f"{self._prefix}-{len(self.blocks):06d}"
        self.blocks.append(BlobBlock(block_id=block_id))
        # typed Awaitable by the SDK's tracing decorator; it is an async def, so a coroutine
        return cast(Coroutine[Any, Any, dict[str, Any]], self._blob.stage_block(block_id, data, length=len(data)))

    async def guard(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            if self.error is not None:
                raise self.error
            yield chunk

    def sink(self, batch: bytes) -> None:
        if self.error is not None:
            return
        self._buffer += batch
        try:
            while len(self._buffer) >= self._block_size:
                data = bytes(self._buffer[: self._block_size])
                del self._buffer[: self._block_size]
                self._pending.append(asyncio.run_coroutine_threadsafe(self._put(data), self._loop))
                while len(self._pending) > IN_FLIGHT:
                    self._pending.popleft().result()
        except BaseException as error:  # noqa: BLE001 - handed over to guard() and finish()
            self.error = error
            self._buffer.clear()

    async def finish(self) -> list[BlobBlock]:
        """Stage the last partial block, wait for every upload; the block list to commit."""
        if self.error is not None:
            raise self.error
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            self._pending.append(asyncio.run_coroutine_threadsafe(self._put(data), self._loop))
        await self._wait(raise_errors=True)
        return self.blocks

    async def abort(self) -> None:
        """Let uploads under way end, so none lands after the caller has cleaned up."""
        await self._wait(raise_errors=False)

    async def _wait(self, *, raise_errors: bool) -> None:
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in self._pending), return_exceptions=True)
        self._pending.clear()
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors and raise_errors:
            raise errors[0]
