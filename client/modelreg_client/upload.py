"""Sending a version's files: in parallel, streamed, skipping small files whose content the registry already stores,
and large files straight to the storage backend through staged uploads where it hands out signed URLs (Azure)."""

from __future__ import annotations

import base64
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .client import Client, rest_error
from .errors import ModelregError
from .files import LocalFile, chunks, sha256_of
from .generated import ArtifactFileInput
from .progress import Progress

STAGED_THRESHOLD = 64 << 20  # files this large go through a staged upload when the store takes them directly
BLOCK_SIZE = 64 << 20  # Azure block size for files above one block
PARALLEL = 4


class Uploader:
    """Uploads files and returns what ``createModelVersion(files:)`` needs for each."""

    def __init__(self, client: Client, progress: Progress) -> None:
        self.client = client
        self.progress = progress
        self._direct: bool | None = None  # whether the store takes staged uploads directly; asked once
        self._direct_lock = threading.Lock()
        self.storage = httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))  # no bearer token to storage
        self.skipped = 0

    def upload_all(self, files: list[LocalFile]) -> list[ArtifactFileInput]:
        try:
            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                return list(pool.map(self.upload, files))
        finally:
            self.storage.close()

    def upload(self, file: LocalFile) -> ArtifactFileInput:
        """Small files are hashed first and skipped when stored; large ones are hashed while they stream (one read
        of the file: a pre-pass would cost a fifth of the transfer), and the server, finding their content
        stored, writes nothing."""
        if file.size < STAGED_THRESHOLD:
            digest = sha256_of(file.source)
            if self._stored(digest):
                self.skipped += 1
                self.progress.advance(file.size)
                return {"path": file.path, "digest": digest, "size": file.size}
            sent = self._put_blob(file, digest)
            return {"path": file.path, "digest": sent, "size": file.size}
        hasher = hashlib.sha256()
        staged = self._direct_upload()
        if staged is not None:
            self._put_to_storage(staged["uploadUrl"], file, hasher)
            digest = f"sha256:{hasher.hexdigest()}"
            return {"path": file.path, "uploadId": staged["uploadId"], "digest": digest, "size": file.size}
        return {"path": file.path, "digest": self._put_blob(file, None), "size": file.size}

    def _put_blob(self, file: LocalFile, digest: str | None) -> str:
        """Streams a file to the blob endpoint; returns its digest, checked against the one computed here."""
        hasher = hashlib.sha256()

        def on_read(chunk: bytes) -> None:
            hasher.update(chunk)
            self.progress.advance(len(chunk))

        headers = {"content-length": str(file.size), "content-type": "application/octet-stream"}
        if digest:
            headers["x-content-sha256"] = digest.removeprefix("sha256:")
        answer = self.client.rest(
            "PUT", "/api/artifacts/blobs", content=chunks(file.source, on_read=on_read), headers=headers
        ).json()
        sent = f"sha256:{hasher.hexdigest()}"
        if answer.get("digest") != sent:
            raise ModelregError(
                "INTERNAL",
                f"the registry stored {answer.get('digest')} for {file.path}, whose "
                f"content here is {sent}: the file changed while it was sent?",
            )
        return sent

    def _stored(self, digest: str) -> bool:
        try:
            self.client.rest("HEAD", f"/api/artifacts/blobs/{digest}")
        except ModelregError as error:
            if error.code == "NOT_FOUND":
                return False
            raise
        return True

    def _direct_upload(self) -> dict[str, Any] | None:
        """A staged upload with a signed storage URL; None when the store has none (bytes go through the
        registry then, by the blob endpoint, hashed while written). Asked of the server once per push."""
        with self._direct_lock:
            if self._direct is False:
                return None
        upload = dict(self.client.create_upload()["createArtifactUpload"])
        with self._direct_lock:
            self._direct = bool(upload["direct"])
        return upload if upload["direct"] else None

    def _put_to_storage(self, url: str, file: LocalFile, hasher: hashlib._Hash) -> None:
        """Azure Blob Storage through a SAS URL: one Put Blob up to a block, else Put Block per block then Put
        Block List (each request streamed from the file)."""
        if file.size <= BLOCK_SIZE:
            self._storage_put(url, file, 0, file.size, {"x-ms-blob-type": "BlockBlob"}, hasher)
            return
        ids = []
        for index, start in enumerate(range(0, file.size, BLOCK_SIZE)):
            block_id = base64.b64encode(f"{index:08d}".encode()).decode()
            ids.append(block_id)
            query = httpx.QueryParams({"comp": "block", "blockid": block_id})
            self._storage_put(f"{url}&{query}", file, start, min(BLOCK_SIZE, file.size - start), {}, hasher)
        listing = "".join(f"<Latest>{block_id}</Latest>" for block_id in ids)
        body = f'<?xml version="1.0" encoding="utf-8"?><BlockList>{listing}</BlockList>'.encode()
        self._check(self.storage.put(f"{url}&comp=blocklist", content=body))

    def _storage_put(
        self, url: str, file: LocalFile, start: int, length: int, headers: dict[str, str], hasher: hashlib._Hash
    ) -> None:
        """One PUT of ``length`` bytes from ``start``, hashed as they are read (blocks go in order)."""

        def on_read(chunk: bytes) -> None:
            hasher.update(chunk)
            self.progress.advance(len(chunk))

        content = chunks(file.source, start=start, length=length, on_read=on_read)
        self._check(self.storage.put(url, content=content, headers={**headers, "content-length": str(length)}))

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 300:
            error = rest_error(response)
            raise ModelregError(
                error.code, f"the storage refused the upload: HTTP {response.status_code} {response.text[:200]}"
            )
