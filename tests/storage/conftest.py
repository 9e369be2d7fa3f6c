"""Every storage test runs on both stores: the local folder and Azure Blob Storage (Azurite, started once)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from azure.storage.blob.aio import BlobServiceClient

from app.services.storage_port import ArtifactStore
from app.storage.azure import AzureArtifactStore
from app.storage.digests import hex_of
from app.storage.local import LocalArtifactStore
from tests.support.azurite import Azurite, running_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with running_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


# The local store needs no service: one CI leg runs it. The Azure store runs in the leg that has Azurite.
@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.backend_independent),
                        pytest.param("azure", marks=pytest.mark.azure_only)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ArtifactStore]:
    """A fresh, empty store: a new folder, or a new (not yet created) container on the session's Azurite."""
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "artifacts")
        return
    server: Azurite = request.getfixturevalue("azurite")
    azure = AzureArtifactStore(container=f"test-{uuid.uuid4().hex[:20]}", connection_string=server.connection_string)
    try:
        yield azure
    finally:
        await azure.close()


class Contents:
    """What a store holds, looked at from outside it: file paths under the folder, or blob names in the container
    (``uncommitted=True`` adds blobs that have only uncommitted blocks)."""

    def __init__(self, store: ArtifactStore, azurite: Azurite | None) -> None:
        self.store = store
        self._service = self._container = None
        if azurite is not None:
            self._service = BlobServiceClient.from_connection_string(azurite.connection_string)
            self._container = self._service.get_container_client(store._container.container_name)

    async def names(self, *, uncommitted: bool = False) -> list[str]:
        if self._container is None:
            root = self.store.root
            return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
        if not await self._container.exists():
            return []
        include = ["uncommittedblobs"] if uncommitted else None
        return sorted([item.name async for item in self._container.list_blobs(include=include)])

    async def version(self, digest: str) -> str:
        """Changes whenever the stored blob's content is written again (the inode locally, the committed block
        ids on Azure); a dedup upload only freshens its modification time, which this ignores."""
        if self._container is None:
            return str(os.stat(self.store.path_of(digest)).st_ino)
        committed, _ = await self._blob(digest).get_block_list("committed")
        return ",".join(block.id for block in committed)

    async def uncommitted_blocks(self, digest: str) -> int:
        if self._container is None:
            return 0
        _, uncommitted = await self._blob(digest).get_block_list("uncommitted")
        return len(uncommitted)

    def _blob(self, digest: str):
        hex_digest = hex_of(digest)
        return self._container.get_blob_client(f"sha256/{hex_digest[:2]}/{hex_digest}")

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()


@pytest.fixture
async def contents(store: ArtifactStore, request: pytest.FixtureRequest) -> AsyncIterator[Contents]:
    inspector = Contents(store, request.getfixturevalue("azurite") if store.kind == "azure" else None)
    yield inspector
    await inspector.close()
