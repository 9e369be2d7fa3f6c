"""Where a version's files can be copied from: a model directory somewhere else (an MLflow run or logged model,
MLflow's artifact proxy, an HTTP server, a local folder). Implemented by app/mlflow/sources.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source directory."""

    path: str  # relative to the directory, '/'-separated
    size: int | None  # as the source lists it; the copy measures the real size
    location: str  # what the reader needs to open it (opaque to callers)


class SourceUnavailable(Exception):
    """The source cannot be listed or read: unreachable, refused, an unsupported scheme, or nothing there."""


class SourceReader(Protocol):
    async def list_files(self, uri: str) -> list[RemoteFile]:
        """Every file under ``uri`` (a directory), or SourceUnavailable."""
        ...

    def open(self, file: RemoteFile) -> AsyncIterator[bytes]:
        """The file's bytes as they stream; SourceUnavailable when the read fails."""
        ...
