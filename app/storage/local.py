"""Artifacts in a local folder: ``blobs/sha256/<2 hex>/<64 hex>``, written atomically and never overwritten."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import stat
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from app.domain.errors import FailedPrecondition
from app.services.storage_port import BlobInfo, Leftover

from .digests import check_upload_id, consume, hex_of
from .writeback import WriteBehindFile

READ_CHUNK = 4 * 1024 * 1024
_HEX_NAME = re.compile(r"[0-9a-f]{64}")


class LocalArtifactStore:
    """The embedded default. Temporary files live beside the blobs so the final rename never crosses devices."""

    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs" / "sha256"
        self._tmp = root / "tmp"
        self._staging = root / "staging"
        for folder in (self._blobs, self._tmp, self._staging):
            folder.mkdir(parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        hex_digest = hex_of(digest)
        return self._blobs / hex_digest[:2] / hex_digest

    async def write(
        self, chunks: AsyncIterable[bytes], *, max_size: int, expected_digest: str | None = None
    ) -> BlobInfo:
        if expected_digest is not None:
            hex_of(expected_digest)
            existing = await self.stat(expected_digest)
            if existing is not None:
                # Same content already stored: drain the body (the client is sending it) without writing.
                return await self._verify_duplicate(chunks, max_size, expected_digest)
        temporary = self._tmp / secrets.token_hex(16)
        try:
            with open(temporary, "xb") as handle:  # noqa: ASYNC230 - open and page-cache writes are quick; fsync is threaded
                sink = WriteBehindFile(handle)
                digest, size = await consume(chunks, sink.write, max_size=max_size, expected_digest=expected_digest)
                await asyncio.to_thread(sink.sync)
            await asyncio.to_thread(self._publish, temporary, digest)
        finally:
            temporary.unlink(missing_ok=True)
        return BlobInfo(digest=digest, size=size)

    async def _verify_duplicate(self, chunks: AsyncIterable[bytes], max_size: int, digest: str) -> BlobInfo:
        _, size = await consume(chunks, lambda _: None, max_size=max_size, expected_digest=digest)
        # Fresh again: garbage collection keeps recently uploaded content for the caller about to register it.
        os.utime(self.path_of(digest))
        return BlobInfo(digest=digest, size=size)

    def _publish(self, temporary: Path, digest: str) -> None:
        """Give the temporary file its content address; a hard link never replaces an existing blob."""
        final = self.path_of(digest)
        final.parent.mkdir(exist_ok=True)
        os.chmod(temporary, 0o444)
        try:
            os.link(temporary, final)
        except FileExistsError:
            return  # stored already (a concurrent upload of the same content won); identical by definition
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    async def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self.path_of(digest)
        handle = await asyncio.to_thread(open, path, "rb")
        try:
            handle.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def stat(self, digest: str) -> BlobInfo | None:
        try:
            info = self.path_of(digest).stat()
        except FileNotFoundError:
            return None
        return BlobInfo(digest=digest, size=info.st_size, modified=datetime.fromtimestamp(info.st_mtime, UTC))

    async def delete(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        for folder in sorted(self._blobs.iterdir()):
            for path in sorted(folder.iterdir()):
                if not _HEX_NAME.fullmatch(path.name):
                    continue  # not ours (an editor's backup, a stray copy): never reported as a blob
                info = path.stat()
                yield BlobInfo(
                    digest=f"sha256:{path.name}",
                    size=info.st_size,
                    modified=datetime.fromtimestamp(info.st_mtime, UTC),
                )

    async def read_url(self, digest: str, *, ttl_seconds: int, filename: str, media_type: str) -> str | None:
        return None

    async def upload_url(self, upload_id: str, *, ttl_seconds: int) -> str | None:
        return None

    def _staged(self, upload_id: str) -> Path:
        return self._staging / check_upload_id(upload_id)

    async def write_staged(self, upload_id: str, chunks: AsyncIterable[bytes], *, max_size: int) -> int:
        target = self._staged(upload_id)
        temporary = self._tmp / secrets.token_hex(16)
        try:
            with open(temporary, "xb") as handle:  # noqa: ASYNC230 - open and page-cache writes are quick; fsync is threaded
                sink = WriteBehindFile(handle)
                _, size = await consume(chunks, sink.write, max_size=max_size, expected_digest=None)
                await asyncio.to_thread(sink.sync)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return size

    async def promote(self, upload_id: str, *, max_size: int) -> BlobInfo:
        staged = self._staged(upload_id)
        if not staged.exists():
            raise FailedPrecondition(f"nothing was uploaded for upload {upload_id}")

        async def chunks() -> AsyncIterator[bytes]:
            with open(staged, "rb") as handle:  # noqa: ASYNC230 - opening a local file is quick; the reads are threaded
                while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                    yield chunk

        info = await self.write(chunks(), max_size=max_size)
        staged.unlink(missing_ok=True)
        return info

    async def discard(self, upload_id: str) -> None:
        self._staged(upload_id).unlink(missing_ok=True)

    async def sweep_temporary(self, *, modified_before: datetime, dry_run: bool = False) -> list[Leftover]:
        return await asyncio.to_thread(self._sweep_temporary, modified_before.timestamp(), dry_run)

    def _sweep_temporary(self, cutoff: float, dry_run: bool) -> list[Leftover]:
        """A write in progress touches its file with every chunk, so only an abandoned one grows old."""
        removed = []
        for path in sorted(self._tmp.iterdir()):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue  # its write just finished
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= cutoff:
                continue
            if not dry_run:
                path.unlink(missing_ok=True)
            removed.append(Leftover(f"tmp/{path.name}", info.st_size))
        return removed

    async def close(self) -> None:
        """Nothing to release for a folder."""
