"""Builds the reader that copies version sources, from settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from app.config import Settings

from .azure_sources import AzureSourceAccount
from .sources import MlflowSourceReader


def _azure_account(settings: Settings) -> AzureSourceAccount | None:
    """The registry's own Azure account, when its store is on Azure: sources on it are read with its credentials."""
    if urlparse(settings.effective_artifact_store).scheme != "azure":
        return None
    from azure.storage.blob.aio import BlobServiceClient

    if settings.azure_connection_string:
        return AzureSourceAccount(BlobServiceClient.from_connection_string(settings.azure_connection_string))
    if settings.azure_account_url:
        from app.storage.azure import default_credential

        return AzureSourceAccount(BlobServiceClient(settings.azure_account_url, credential=default_credential()))
    return None


def build_source_reader(settings: Settings) -> MlflowSourceReader:
    roots = [Path(root.strip()) for root in settings.source_local_roots.split(",") if root.strip()]
    return MlflowSourceReader(
        settings.mlflow_tracking_uri,
        settings.mlflow_tracking_token,
        local_roots=roots,
        allow_private=settings.source_allow_private,
        azure=_azure_account(settings),
    )
