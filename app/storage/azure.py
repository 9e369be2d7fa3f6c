"""Artifacts in Azure Blob Storage: blobs ``sha256/<2 hex>/<64 hex>`` in one container, never overwritten.

Bytes go up as blocks staged while they are hashed; a blob appears only when its block list is committed, and every
commit or copy onto a content address carries ``If-None-Match: *``. When the digest is not known up front, the
blocks go to a temporary ``tmp/<random>`` blob first, which is copied server-side to its address once hashed.
Staged uploads (``staging/<upload id>``) may be written by clients directly with a write-only SAS URL.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import suppress
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobProperties
from azure.storage.blob.aio import BlobClient, BlobServiceClient

from app.domain.errors import FailedPrecondition, TooLarge
from app.services.storage_port import BlobInfo, Leftover

from .azure_blocks import BlockWriter
from .azure_sas import READ, UPLOAD, Signer, attachment
from .digests import check_upload_id, consume, hex_of

BLOCK_SIZE = 4 * 1024 * 1024
MAX_BLOCKS = 50_000  # committed blocks per blob allowed by the service
READ_CHUNK = 4 * 1024 * 1024
COPY_SAS_SECONDS = 3600
_BLOB_NAME = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{64}")
_CONTAINER = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")  # the service's naming rules


class AzureArtifactStore:
    """The Azure Blob Storage backend (``MODELREG_ARTIFACT_STORE=azure://CONTAINER``); the container is created on
    first write. Call ``close()`` when done with it."""

    kind = "azure"

    def __init__(
        self,
        *,
        container: str,
        connection_string: str | None = None,
        account_url: str | None = None,
        credential: Any = None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        if not _CONTAINER.fullmatch(container):
            raise ValueError(
                f"{container!r} is not a valid Azure container name: 3 to 63 lowercase letters, digits "
                "and single hyphens, starting and ending with a letter or digit"
            )
        options: dict[str, Any] = {"max_single_get_size": READ_CHUNK, "max_chunk_get_size": READ_CHUNK}
        self._owned_credential = None
        if connection_string:
            self._service = BlobServiceClient.from_connection_string(connection_string, **options)
        elif account_url:
            if credential is None:
                credential = self._owned_credential = default_credential()
            self._service = BlobServiceClient(account_url, credential=credential, **options)
        else:
            raise ValueError("AzureArtifactStore needs a connection string or an account URL")
        self._container = self._service.get_container_client(container)
        self._signer = Signer(self._service, container)
        self._block_size = block_size
        self._container_ready = False
        self._container_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._service.close()
        if self._owned_credential is not None:
            await self._owned_credential.close()

    async def write(
        self, chunks: AsyncIterable[bytes], *, max_size: int, expected_digest: str | None = None
    ) -> BlobInfo:
        await self._ready()
        if expected_digest is not None:
            target = self._blob(_name_of(expected_digest))
            if await self.stat(expected_digest) is not None:
                # Stored already: take in the body to verify it, upload nothing.
                _, size = await consume(chunks, _ignore, max_size=max_size, expected_digest=expected_digest)
                # Fresh again (Last-Modified moves): garbage collection keeps it for the caller about to register.
                await target.set_blob_metadata({"uploaded": str(int(time.time()))})
                return BlobInfo(digest=expected_digest, size=size)
            digest, size, blocks = await self._stage(target, chunks, max_size, expected_digest)
            await self._commit_new(target, blocks)
            return BlobInfo(digest=digest, size=size)
        temporary = self._blob(f"tmp/{secrets.token_hex(16)}")
        try:
            digest, size, blocks = await self._stage(temporary, chunks, max_size, None)
            await temporary.commit_block_list(blocks)
            await self._place(temporary, digest)
        finally:
            with suppress(HttpResponseError):  # best effort: a leftover tmp/ blob holds no one's data
                await self._drop(temporary)
        return BlobInfo(digest=digest, size=size)

    async def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        blob = self._blob(_name_of(digest))
        if end is not None and end <= start:
            return
        try:
            stream = await blob.download_blob(offset=start, length=None if end is None else end - start)
        except ResourceNotFoundError as error:
            raise FileNotFoundError(f"no blob {digest}") from error
        except HttpResponseError as error:
            if error.status_code == 416:  # start is past the end
                return
            raise
        async for chunk in stream.chunks():
            yield chunk

    async def stat(self, digest: str) -> BlobInfo | None:
        try:
            properties = await self._blob(_name_of(digest)).get_blob_properties()
        except ResourceNotFoundError:
            return None
        if properties.copy.status not in (None, "success"):
            return None  # a copy onto this address is still running (or failed): not stored yet
        return BlobInfo(digest=digest, size=properties.size, modified=properties.last_modified)

    async def delete(self, digest: str) -> None:
        with suppress(ResourceNotFoundError):
            await self._blob(_name_of(digest)).delete_blob()

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        try:
            async for item in self._container.list_blobs(name_starts_with="sha256/", include=["copy"]):
                if _BLOB_NAME.fullmatch(item.name) and item.copy.status in (None, "success"):
                    yield BlobInfo(
                        digest="sha256:" + item.name.rsplit("/", 1)[-1], size=item.size, modified=item.last_modified
                    )
        except ResourceNotFoundError:  # no container yet: nothing stored
            return

    async def read_url(self, digest: str, *, ttl_seconds: int, filename: str, media_type: str) -> str | None:
        blob = self._blob(_name_of(digest))
        token = await self._signer.token(
            blob.blob_name,
            permission=READ,
            ttl_seconds=ttl_seconds,
            content_disposition=attachment(filename),
            content_type=media_type,
        )
        return None if token is None else f"{blob.url}?{token}"

    async def upload_url(self, upload_id: str, *, ttl_seconds: int) -> str | None:
        blob = self._staged(upload_id)
        await self._ready()
        token = await self._signer.token(blob.blob_name, permission=UPLOAD, ttl_seconds=ttl_seconds)
        return None if token is None else f"{blob.url}?{token}"

    async def write_staged(self, upload_id: str, chunks: AsyncIterable[bytes], *, max_size: int) -> int:
        blob = self._staged(upload_id)
        await self._ready()
        _, size, blocks = await self._stage(blob, chunks, max_size, None)
        await blob.commit_block_list(blocks)
        return size

    async def promote(self, upload_id: str, *, max_size: int) -> BlobInfo:
        staged = self._staged(upload_id)
        try:
            properties = await staged.get_blob_properties()
        except ResourceNotFoundError:
            raise FailedPrecondition(f"nothing was uploaded for upload {upload_id}") from None
        if properties.size > max_size:
            raise TooLarge(f"the upload is larger than the limit of {max_size} bytes", field="body")
        try:
            # Pinned to the ETag: if the client rewrites the staged blob meanwhile, reading (or copying) fails.
            stream = await staged.download_blob(etag=properties.etag, match_condition=MatchConditions.IfNotModified)
            digest, size = await consume(stream.chunks(), _ignore, max_size=max_size, expected_digest=None)
        except ResourceModifiedError:
            raise _changed(upload_id) from None
        await self._place(staged, digest, source_etag=properties.etag, upload_id=upload_id)
        await self.discard(upload_id)
        return BlobInfo(digest=digest, size=size)

    async def discard(self, upload_id: str) -> None:
        await self._drop(self._staged(upload_id))

    async def sweep_temporary(self, *, modified_before: datetime, dry_run: bool = False) -> list[Leftover]:
        """Committed ``tmp/`` blobs older than ``modified_before``: a crash between committing a temporary blob and
        deleting it left a whole copy there. Uncommitted blocks are not listed (the service discards them after 7
        days); a temporary blob lives seconds (commit, server-side copy, delete), so age tells the abandoned ones."""
        removed: list[Leftover] = []
        try:
            async for item in self._container.list_blobs(name_starts_with="tmp/"):
                if item.last_modified >= modified_before:
                    continue
                if not dry_run:
                    with suppress(ResourceNotFoundError):
                        await self._blob(item.name).delete_blob()
                removed.append(Leftover(item.name, item.size))
        except ResourceNotFoundError:  # no container yet: nothing left over
            pass
        return removed

    # -- helpers ---------------------------------------------------------------------------------------------

    def _blob(self, name: str) -> BlobClient:
        return self._container.get_blob_client(name)

    def _staged(self, upload_id: str) -> BlobClient:
        return self._blob(f"staging/{check_upload_id(upload_id)}")

    async def _ready(self) -> None:
        """Create the container on first use (once, even when many writes start together)."""
        if self._container_ready:
            return
        async with self._container_lock:
            if not self._container_ready:
                if not await self._container.exists():
                    with suppress(ResourceExistsError):
                        await self._container.create_container()
                self._container_ready = True

    async def _stage(
        self, blob: BlobClient, chunks: AsyncIterable[bytes], max_size: int, expected_digest: str | None
    ) -> tuple[str, int, list[BlobBlock]]:
        """Stage the stream as uncommitted blocks of ``blob`` while hashing it; nothing is visible until a commit."""
        block_size = max(self._block_size, -(-max_size // MAX_BLOCKS))
        writer = BlockWriter(blob, block_size, asyncio.get_running_loop())
        try:
            digest, size = await consume(
                writer.guard(chunks), writer.sink, max_size=max_size, expected_digest=expected_digest
            )
            blocks = await writer.finish()
        except BaseException:
            await writer.abort()
            raise
        return digest, size, blocks

    async def _commit_new(self, blob: BlobClient, blocks: list[BlobBlock]) -> None:
        """Commit unless the blob exists; an existing blob at a content address holds the same bytes: success."""
        try:
            await blob.commit_block_list(blocks, if_none_match="*")
        except HttpResponseError:
            if await self._settled(blob) is None:
                raise

    async def _place(
        self, source: BlobClient, digest: str, *, source_etag: str | None = None, upload_id: str | None = None
    ) -> None:
        """Copy ``source`` (server-side, within the account) to the content address ``digest`` unless stored."""
        target = self._blob(_name_of(digest))
        if await self.stat(digest) is not None:
            return
        token = await self._signer.token(source.blob_name, permission=READ, ttl_seconds=COPY_SAS_SECONDS)
        conditions: dict[str, Any] = {"if_none_match": "*"}
        if source_etag is not None:
            conditions.update(source_etag=source_etag, source_match_condition=MatchConditions.IfNotModified)
        try:
            copy = await target.start_copy_from_url(f"{source.url}?{token}" if token else source.url, **conditions)
        except HttpResponseError as error:
            if await self._settled(target) is not None:
                return  # someone stored the same content meanwhile
            if error.status_code == 412 and upload_id is not None:
                raise _changed(upload_id) from None
            raise
        if copy["copy_status"] != "success" and await self._settled(target) is None:
            with suppress(HttpResponseError):
                await target.delete_blob()
            raise OSError(f"copying {source.blob_name} to {target.blob_name} did not complete")

    async def _settled(self, blob: BlobClient) -> BlobProperties | None:
        """The blob's properties once any copy onto it has finished; None if it is missing or its copy failed."""
        delay = 0.05
        while True:
            try:
                properties = await blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
            if properties.copy.status in (None, "success"):
                return properties
            if properties.copy.status != "pending":
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _drop(self, blob: BlobClient) -> None:
        """Delete a temporary or staging blob and any uncommitted blocks it has (committing an empty list drops
        them, for services that do not delete a blob that has only uncommitted blocks)."""
        try:
            await blob.delete_blob()
            return
        except ResourceNotFoundError:
            pass
        with suppress(ResourceNotFoundError):
            await blob.commit_block_list([])
            await blob.delete_blob()


def _name_of(digest: str) -> str:
    hex_digest = hex_of(digest)
    return f"sha256/{hex_digest[:2]}/{hex_digest}"


def _ignore(_: bytes) -> None:
    """A sink for bodies that are only verified."""


def _changed(upload_id: str) -> FailedPrecondition:
    return FailedPrecondition(f"upload {upload_id} changed while the registry was verifying it; upload it again")


def default_credential() -> Any:
    """DefaultAzureCredential (managed identity, workload identity, az login), from the optional azure-identity."""
    try:
        from azure.identity.aio import DefaultAzureCredential
    except ImportError as error:
        raise RuntimeError(
            "MODELREG_AZURE_STORAGE_ACCOUNT_URL needs azure-identity: pip install 'modelreg[azure-identity]'"
        ) from error
    return DefaultAzureCredential()
