"""The interface artifact storage implements (local folder, Azure Blob Storage)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Leftover:
    """A temporary file (or blob) an interrupted write left behind: its name in the store and its size."""

    name: str
    size: int


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: content address and size; ``modified`` when the backend knows it."""

    digest: str
    size: int
    modified: datetime | None = None


class ArtifactStore(Protocol):
    """Content-addressed, write-once storage of artifact bytes.

    Blobs are named by the sha256 of their content (``sha256:<hex>``); writing content that exists is a cheap
    no-op and nothing is ever overwritten. Every write is atomic: a failed or interrupted write leaves nothing.
    """

    kind: str

    async def write(
        self, chunks: AsyncIterable[bytes], *, max_size: int, expected_digest: str | None = None
    ) -> BlobInfo:
        """Store a stream, hashing while writing. Raises ``TooLarge`` past ``max_size`` and ``BadUserInput``
        when ``expected_digest`` is given and differs; in both cases nothing is kept."""

    def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` of a blob (``end`` None: to the end), streamed."""

    async def stat(self, digest: str) -> BlobInfo | None:
        """Size (and time) of a blob, or None when it is not stored."""

    async def delete(self, digest: str) -> None:
        """Remove a blob (garbage collection only)."""

    def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every stored blob."""

    async def read_url(self, digest: str, *, ttl_seconds: int, filename: str, media_type: str) -> str | None:
        """A short-lived, read-only URL for the blob, or None when the backend has no signed URLs."""

    async def upload_url(self, upload_id: str, *, ttl_seconds: int) -> str | None:
        """A short-lived URL a client may PUT (or upload blocks) to for a staged upload, or None when uploads
        must go through the registry's own endpoint."""

    async def write_staged(self, upload_id: str, chunks: AsyncIterable[bytes], *, max_size: int) -> int:
        """Store the body of a staged upload sent through the registry; returns its size."""

    async def promote(self, upload_id: str, *, max_size: int) -> BlobInfo:
        """Hash a staged upload (streaming), move it to its content address and drop the staging copy.
        Raises ``FailedPrecondition`` when nothing was uploaded under that id."""

    async def discard(self, upload_id: str) -> None:
        """Drop a staged upload, if any."""

    async def sweep_temporary(self, *, modified_before: datetime, dry_run: bool = False) -> list[Leftover]:
        """Remove the temporary files of writes (``tmp/``) not modified since ``modified_before``: what a crash mid
        write left. Age is the rule because other processes may share the store and be writing theirs now."""

    async def close(self) -> None:
        """Release connections (at shutdown)."""
