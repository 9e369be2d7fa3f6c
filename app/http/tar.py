"""A tar archive written as a stream, file by file, without temporary files."""

from __future__ import annotations

import tarfile
from collections.abc import AsyncIterator, Callable

from app.domain.artifacts import ArtifactFile

BLOCK = 512


async def tar_stream(
    files: list[ArtifactFile], contents: Callable[[ArtifactFile], AsyncIterator[bytes]], *, mtime: float
) -> AsyncIterator[bytes]:
    """POSIX (pax) tar of ``files``, each read through ``contents``; paths are the manifest's."""
    for file in files:
        info = tarfile.TarInfo(file.path)
        info.size = file.size
        info.mtime = int(mtime)
        info.mode = 0o644
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        async for chunk in contents(file):
            yield chunk
        if file.size % BLOCK:
            yield b"\0" * (BLOCK - file.size % BLOCK)
    yield b"\0" * (2 * BLOCK)
