"""What an artifact store holds, looked at from outside the server: files in the folder or blobs in the container."""

from __future__ import annotations

import asyncio
from pathlib import Path

from azure.storage.blob.aio import BlobServiceClient


async def _blob_names(connection_string: str, container: str) -> list[str]:
    async with BlobServiceClient.from_connection_string(connection_string) as service:
        client = service.get_container_client(container)
        if not await client.exists():
            return []
        return sorted([item.name async for item in client.list_blobs()])


def store_names(data_dir: Path, store_env: dict[str, str]) -> list[str]:
    """Every name under the store a server with ``data_dir`` and ``store_env`` writes to (blocking call)."""
    store = store_env.get("MODELREG_ARTIFACT_STORE", "")
    if store.startswith("azure://"):
        return asyncio.run(_blob_names(store_env["MODELREG_AZURE_STORAGE_CONNECTION_STRING"],
                                       store.removeprefix("azure://")))
    root = data_dir / "artifacts"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
