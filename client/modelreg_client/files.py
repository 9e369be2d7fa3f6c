"""Local files: what a push sends (a file, or every regular file under a folder) and their sha256 digests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import bad_input

CHUNK = 1 << 20  # bytes read at a time: memory stays flat whatever the file size


@dataclass(frozen=True)
class LocalFile:
    """``path``: where the file goes in the version (relative, POSIX); ``source``: where it is on disk."""

    path: str
    source: Path
    size: int


def collect(root: Path) -> list[LocalFile]:
    """A file as one file named after itself; a folder as every regular file under it, paths relative to it."""
    if root.is_file():
        return [LocalFile(root.name, root, root.stat().st_size)]
    if not root.is_dir():
        raise bad_input(f"{root} is neither a file nor a folder", "PATH")
    found = [
        LocalFile(source.relative_to(root).as_posix(), source, source.stat().st_size)
        for source in sorted(root.rglob("*"))
        if source.is_file()
    ]
    if not found:
        raise bad_input(f"{root} holds no files", "PATH")
    return found


def chunks(
    source: Path, *, start: int = 0, length: int | None = None, on_read: Callable[[bytes], None] | None = None
) -> Iterator[bytes]:
    """The bytes of ``source`` from ``start`` (``length`` of them, default: to the end), a chunk at a time."""
    left = length
    with source.open("rb") as file:
        file.seek(start)
        while left is None or left > 0:
            chunk = file.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            if on_read:
                on_read(chunk)
            yield chunk


def sha256_of(source: Path) -> str:
    """``sha256:<hex>`` of a file's content."""
    digest = hashlib.sha256()
    for chunk in chunks(source):
        digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
