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
        """Every file, PARALLEL at a time, in the order given."""
        try:
            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                return list(pool.map(self.upload, files))
        finally:
            self.storage.close()

    def upload(self, file: LocalFile) -> ArtifactFileInput:
        """A small file is hashed first and skipped when its content is stored. A large one is not hashed ahead
        (the pre-pass cost a fifth of a 1 GiB transfer): straight to storage it is hashed as it streams (its
        registration declares the digest, which the server then verifies); through the registry, the server hashes
        it as it arrives and answers the digest (and, finding the content stored, writes nothing)."""
        if file.size < STAGED_THRESHOLD:
            digest = sha256_of(file.source)
            if self._stored(digest):
                self.skipped += 1
                self.progress.advance(file.size)
                return {"path": file.path, "digest": digest, "size": file.size}
            return {"path": file.path, "digest": self._put_blob(file, digest), "size": file.size}
        staged = self._direct_upload()
        if staged is not None:
            hasher = hashlib.sha256()
            self._put_to_storage(staged["uploadUrl"], file, hasher)
            digest = f"sha256:{hasher.hexdigest()}"
            return {"path": file.path, "uploadId": staged["uploadId"], "digest": digest, "size": file.size}
        return {"path": file.path, "digest": self._put_blob(file, None), "size": file.size}

    def _put_blob(self, file: LocalFile, digest: str | None) -> str:
        """Streams a file to the blob endpoint (the server refuses a body whose sha256 is not ``digest`` when given,
        or whose length is not the file's size); returns the digest the server computed."""
        on_read = lambda chunk: self.progress.advance(len(chunk))  # noqa: E731 - one expression, named for reading
        headers = {"content-length": str(file.size), "content-type": "application/octet-stream"}
        if digest:
            headers["x-content-sha256"] = digest.removeprefix("sha256:")
        answer = self.client.rest(
            "PUT", "/api/artifacts/blobs", content=chunks(file.source, on_read=on_read), headers=headers
        ).json()
        if answer.get("size") != file.size or (digest and answer.get("digest") != digest):
            raise ModelregError(
                "INTERNAL",
                f"the registry stored {answer} for {file.path} ({file.size} bytes here): "
                "did the file change while it was sent?",
            )
        return str(answer["digest"])

    def _stored(self, digest: str) -> bool:
        """Whether the registry already stores this content."""
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
