"""Builds the configured ArtifactStore from settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from app.config import Settings
from app.services.storage_port import ArtifactStore

from .local import LocalArtifactStore


def build_store(settings: Settings) -> ArtifactStore:
    """``file:///path`` (the default: the data directory's artifacts folder) or ``azure://CONTAINER``."""
    location = urlparse(settings.effective_artifact_store)
    if location.scheme == "azure":
        from .azure import AzureArtifactStore  # imported only when used: it pulls in the Azure SDK

        return AzureArtifactStore(
            container=location.netloc,
            connection_string=settings.azure_connection_string,
            account_url=settings.azure_account_url,
        )
    return LocalArtifactStore(Path(unquote(location.path)))
