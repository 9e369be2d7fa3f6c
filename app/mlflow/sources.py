"""Reading a model directory that MLflow points at, so the registry can copy it (app/services/source_copy.py).

Sources understood:

- ``models:/m-<id>`` (an MLflow 3 logged model) and ``runs:/<run id>/<path>``, resolved through the MLflow tracking
  server (``MODELREG_MLFLOW_TRACKING_URI``) to their artifact location;
- ``mlflow-artifacts:/<path>`` (the tracking server's artifact proxy) and proxy URLs
  ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/<path>``, listed recursively through the proxy;
- Azure Blob Storage: ``wasbs://container@account.blob.core.windows.net/<prefix>`` or the account's blob endpoint
  followed by ``/<container>/<prefix>``, on the account the registry's own store is configured with;
- any other ``http(s)`` URL, as one file;
- ``file://`` URIs and absolute paths inside ``MODELREG_SOURCE_LOCAL_ROOTS`` only.

The tracking server is trusted (an operator configured it; its token goes to it and nowhere else). Any other host
is reached through the webhooks' address pinning, so a source cannot make the registry fetch from private or
loopback addresses unless ``MODELREG_SOURCE_ALLOW_PRIVATE`` says so. Anything else raises ``SourceUnavailable``,
and the version keeps the URI as an external reference.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from app.domain.artifacts import MAX_FILES
from app.services.source_port import RemoteFile, SourceUnavailable
from app.webhooks.addresses import PinnedBackend, PinnedTransport, TargetRefused

from .azure_sources import AzureSourceAccount

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
LOGGED_MODEL = re.compile(r"^models:/(m-[0-9a-f]{8,64})/?$")
RUN_ARTIFACTS = re.compile(r"^runs:/([0-9A-Za-z_-]{1,256})(?:/(.*))?$")
READ_CHUNK = 1024 * 1024


def _base_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class MlflowSourceReader:
    """Lists and opens the files of a source URI (see the module's docstring)."""

    def __init__(
        self,
        tracking_uri: str | None,
        token: str | None = None,
        *,
        local_roots: Sequence[Path] = (),
        allow_private: bool = False,
        azure: AzureSourceAccount | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._tracking = tracking_uri.rstrip("/") if tracking_uri else None
        self._roots = [root.resolve() for root in local_roots]
        self._azure = azure
        timeouts = httpx.Timeout(timeout)
        headers = {"User-Agent": "modelreg-source-copy/1"}
        tracking_headers = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
        self._trusted = httpx.AsyncClient(timeout=timeouts, headers=tracking_headers, trust_env=False)
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=5)
        self._public = httpx.AsyncClient(
            transport=PinnedTransport(PinnedBackend(allow_private), limits),
            timeout=timeouts,
            headers=headers,
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        await self._trusted.aclose()
        await self._public.aclose()
        if self._azure is not None:
            await self._azure.close()

    # Listing.

    async def list_files(self, uri: str) -> list[RemoteFile]:
        return await self._list(uri, hops=0)

    async def _list(self, uri: str, hops: int) -> list[RemoteFile]:
        if hops > 2:
            raise SourceUnavailable(f"{uri} points at another location too many times")
        if match := LOGGED_MODEL.match(uri):
            info = await self.tracking_json(f"/api/2.0/mlflow/logged-models/{match.group(1)}", {})
            return await self._list(_field(info, "model", "info", "artifact_uri"), hops + 1)
        if match := RUN_ARTIFACTS.match(uri):
            run = await self.tracking_json("/api/2.0/mlflow/runs/get", {"run_id": match.group(1)})
            root = _field(run, "run", "info", "artifact_uri")
            return await self._list(posixpath.join(root, match.group(2) or ""), hops + 1)
        parts = urlsplit(uri)
        if parts.scheme == "mlflow-artifacts":
            base = f"http://{parts.netloc}" if parts.netloc else self._tracking_base(uri)
            return await self._list_proxy(base, parts.path.strip("/"))
        if parts.scheme in ("http", "https"):
            if PROXY_PATH + "/" in parts.path:
                root = parts.path.split(PROXY_PATH + "/", 1)[1]
                return await self._list_proxy(_base_of(uri), unquote(root).strip("/"))
            if self._azure is not None and (blob := self._azure.locate(uri)) is not None:
                return await self._azure.list(*blob)
            return [await self._single_file(uri)]
        if parts.scheme == "wasbs" and self._azure is not None and (blob := self._azure.locate(uri)) is not None:
            return await self._azure.list(*blob)
        if parts.scheme == "file" or (not parts.scheme and uri.startswith("/")):
            return await asyncio.to_thread(self._list_local, Path(unquote(parts.path) if parts.scheme else uri))
        raise SourceUnavailable(f"the registry cannot read sources like {uri[:200]!r}")

    def _tracking_base(self, uri: str) -> str:
        if self._tracking is None:
            raise SourceUnavailable(f"{uri} is on an MLflow tracking server; set MODELREG_MLFLOW_TRACKING_URI")
        return self._tracking

    async def tracking_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """A GET of the tracking server's REST API; SourceUnavailable when it is not configured or fails."""
        base = self._tracking_base(path)
        try:
            response = await self._trusted.get(base + path, params=params)
        except httpx.HTTPError as error:
            raise SourceUnavailable(f"MLflow tracking server: {type(error).__name__}") from None
        if response.status_code != 200:
            raise SourceUnavailable(f"MLflow tracking server answered {response.status_code} for {path}")
        return response.json()

    def _client_for(self, url: str) -> httpx.AsyncClient:
        return self._trusted if self._tracking and _base_of(url) == _base_of(self._tracking) else self._public

    async def _list_proxy(self, base: str, root: str) -> list[RemoteFile]:
        """Every file below ``root`` on an MLflow artifact proxy, walking its directories."""
        client = self._client_for(base)
        files: list[RemoteFile] = []
        pending = [""]
        while pending:
            relative = pending.pop()
            try:
                response = await client.get(base + PROXY_PATH, params={"path": posixpath.join(root, relative)})
            except (httpx.HTTPError, TargetRefused) as error:
                raise SourceUnavailable(f"{base}: {error}") from None
            if response.status_code != 200:
                raise SourceUnavailable(f"the artifact proxy at {base} answered {response.status_code}")
            for entry in response.json().get("files", []):
                path = posixpath.join(relative, str(entry["path"]))
                if entry.get("is_dir"):
                    pending.append(path)
                    continue
                size = int(entry["file_size"]) if entry.get("file_size") is not None else None
                url = f"{base}{PROXY_PATH}/{quote(posixpath.join(root, path))}"
                files.append(RemoteFile(path, size, url))
            if len(files) + len(pending) > MAX_FILES:
                raise SourceUnavailable(f"the source holds more than {MAX_FILES} files")
        return sorted(files, key=lambda file: file.path)

    async def _single_file(self, url: str) -> RemoteFile:
        name = posixpath.basename(urlsplit(url).path)
        if not name:
            raise SourceUnavailable(f"{url} names no file")
        try:
            async with self._client_for(url).stream("GET", url) as response:
                if response.status_code != 200:
                    raise SourceUnavailable(f"{url} answered {response.status_code}")
                length = response.headers.get("content-length")
        except (httpx.HTTPError, TargetRefused) as error:
            raise SourceUnavailable(f"{url}: {error}") from None
        return RemoteFile(unquote(name), int(length) if length and length.isdigit() else None, url)

    def _list_local(self, directory: Path) -> list[RemoteFile]:
        resolved = directory.resolve()
        if not any(resolved == root or root in resolved.parents for root in self._roots):
            raise SourceUnavailable(f"{directory} is outside MODELREG_SOURCE_LOCAL_ROOTS")
        if resolved.is_file():
            return [RemoteFile(resolved.name, resolved.stat().st_size, str(resolved))]
        if not resolved.is_dir():
            raise SourceUnavailable(f"{directory} does not exist")
        files = []
        for folder, _, names in os.walk(resolved):  # does not follow links to folders
            for name in names:
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue  # a link could lead out of the allowed roots
                files.append(RemoteFile(path.relative_to(resolved).as_posix(), path.stat().st_size, str(path)))
                if len(files) > MAX_FILES:
                    raise SourceUnavailable(f"the source holds more than {MAX_FILES} files")
        return sorted(files, key=lambda file: file.path)

    # Reading.

    async def open(self, file: RemoteFile) -> AsyncIterator[bytes]:
        location = file.location
        if location.startswith(("http://", "https://")) and (
            self._azure is None or self._azure.locate(location) is None
        ):
            try:
                async with self._client_for(location).stream("GET", location) as response:
                    if response.status_code != 200:
                        raise SourceUnavailable(f"{file.path}: the source answered {response.status_code}")
                    async for chunk in response.aiter_bytes(READ_CHUNK):
                        yield chunk
            except (httpx.HTTPError, TargetRefused) as error:
                raise SourceUnavailable(f"{file.path}: {type(error).__name__}") from None
            return
        if self._azure is not None and (blob := self._azure.locate(location)) is not None:
            async for chunk in self._azure.read(*blob):
                yield chunk
            return
        handle = await asyncio.to_thread(open, location, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()


def _field(document: dict[str, Any], *keys: str) -> str:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise SourceUnavailable(f"the MLflow answer has no {'.'.join(keys)}")
    return value
