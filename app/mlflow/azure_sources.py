"""Model directories in Azure Blob Storage, on the account the registry's own store uses (its credentials)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote, unquote, urlsplit

from azure.core.exceptions import AzureError
from azure.storage.blob.aio import BlobServiceClient

from app.domain.artifacts import MAX_FILES
from app.services.source_port import RemoteFile, SourceUnavailable


class AzureSourceAccount:
    """Lists and reads blobs under a prefix of one storage account."""

    def __init__(self, service: BlobServiceClient) -> None:
        self._service = service
        self._endpoint = service.url.rstrip("/") + "/"  # https://account.blob.core.windows.net/ (or Azurite's)

    async def close(self) -> None:
        await self._service.close()

    def locate(self, uri: str) -> tuple[str, str] | None:
        """(container, blob name or prefix) when ``uri`` is on this account, else None. Understands the account's
        blob URLs and MLflow's ``wasbs://container@account.blob.core.windows.net/path``."""
        parts = urlsplit(uri)
        if parts.scheme == "wasbs" and "@" in parts.netloc:
            container, host = parts.netloc.split("@", 1)
            if f"https://{host}/" != self._endpoint:
                return None
            return container, unquote(parts.path).strip("/")
        if not uri.startswith(self._endpoint):
            return None
        container, _, name = unquote(uri[len(self._endpoint) :]).partition("/")
        return (container, name.strip("/")) if container else None

    async def list(self, container: str, prefix: str) -> list[RemoteFile]:
        client = self._service.get_container_client(container)
        files: list[RemoteFile] = []
        folder = prefix + "/" if prefix else ""
        try:
            async for blob in client.list_blobs(name_starts_with=prefix):
                if blob.name == prefix:  # the source is one file
                    return [RemoteFile(prefix.rsplit("/", 1)[-1], blob.size, self._url(container, blob.name))]
                if not blob.name.startswith(folder):
                    continue  # a sibling that shares the prefix (model vs model2)
                files.append(RemoteFile(blob.name[len(folder) :], blob.size, self._url(container, blob.name)))
                if len(files) > MAX_FILES:
                    raise SourceUnavailable(f"the source holds more than {MAX_FILES} files")
        except AzureError as error:
            raise SourceUnavailable(f"Azure Blob Storage: {type(error).__name__}") from None
        return sorted(files, key=lambda file: file.path)

    async def read(self, container: str, name: str) -> AsyncIterator[bytes]:
        try:
            downloader = await self._service.get_blob_client(container, name).download_blob()
            async for chunk in downloader.chunks():
                yield chunk
        except AzureError as error:
            raise SourceUnavailable(f"{name}: Azure Blob Storage: {type(error).__name__}") from None

    def _url(self, container: str, name: str) -> str:
        return f"{self._endpoint}{container}/{quote(name)}"
