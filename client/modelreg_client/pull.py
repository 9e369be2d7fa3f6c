"""Downloading a version: every file of the version a URI points at now (pinned first, so an alias moving
meanwhile cannot mix versions), each digest verified, interrupted downloads resumed with Range requests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from .client import Client
from .errors import ModelregError, bad_input
from .files import chunks
from .generated import ResolveResultResolveModelUri
from .progress import Progress


@dataclass(frozen=True)
class Pulled:
    uri: str  # the pinned models:/NAME/VERSION
    files: int
    downloaded: int  # files fetched now (the others were already there, verified)
    bytes: int


def resolve(client: Client, uri: str) -> ResolveResultResolveModelUri:
    """What ``uri`` points at now (pinned URI, version, files, open requests); NOT_FOUND when nothing."""
    resolved = client.resolve(uri=uri)["resolveModelUri"]
    if resolved is None:
        raise ModelregError("NOT_FOUND", f"{uri} resolves to nothing")
    return resolved


def _inside(dest: Path, path: str) -> Path:
    """Where a version's file goes; a path that would leave ``dest`` is refused."""
    target = (dest / path).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise bad_input(f"the version's path {path!r} would leave {dest}")
    return target


def _has(target: Path, size: int, digest: str) -> bool:
    """Whether ``target`` is already the file (size, then sha256)."""
    if not target.is_file() or target.stat().st_size != size:
        return False
    hasher = hashlib.sha256()
    for chunk in chunks(target):
        hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}" == digest


def _download(client: Client, url: str, target: Path, size: int, digest: str, progress: Progress) -> None:
    """Into ``target.part`` (continuing what a previous run left there), then checked and renamed."""
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    offset = part.stat().st_size if part.is_file() else 0
    offset = offset if offset < size else 0  # a complete or oversized leftover: start over
    if offset:
        for chunk in chunks(part, length=offset):
            hasher.update(chunk)
    progress.advance(offset)
    headers = {"range": f"bytes={offset}-"} if offset else {}
    with client.stream("GET", url, headers=headers) as response:
        resumed = response.status_code == 206
        if not resumed:  # the whole file: start over
            progress.advance(-offset)
            hasher = hashlib.sha256()
        with part.open("ab" if resumed else "wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
                hasher.update(chunk)
                progress.advance(len(chunk))
    if f"sha256:{hasher.hexdigest()}" != digest:
        part.unlink(missing_ok=True)
        raise ModelregError(
            "INTERNAL",
            f"the bytes received for {target.name} do not match its digest {digest}; "
            "nothing was kept, run the pull again",
        )
    part.replace(target)


def pull(client: Client, uri: str, dest: Path, *, progress_enabled: bool = False) -> Pulled:
    """Every file of the version ``uri`` names into ``dest``; files already there and intact are kept."""
    resolved = resolve(client, uri)
    version = resolved["modelVersion"]
    pinned = resolved["pinnedUri"]
    if version["status"] != "READY":
        raise ModelregError("FAILED_PRECONDITION", f"{pinned} is {version['status']}: {version['statusMessage'] or ''}")
    artifact = version["artifact"]
    if artifact is None or not artifact["files"]:
        raise ModelregError("FAILED_PRECONDITION", f"{pinned} has no files stored in the registry")
    files = artifact["files"]
    progress = Progress(f"pull {pinned}", sum(f["size"] for f in files), enabled=progress_enabled)
    downloaded = 0
    for file in files:
        target = _inside(dest, file["path"])
        if _has(target, file["size"], file["digest"]):
            progress.advance(file["size"])
            continue
        url = f"/api/artifacts/files?{urlencode({'uri': pinned, 'path': file['path']})}"
        _download(client, url, target, file["size"], file["digest"], progress)
        downloaded += 1
    progress.close()
    return Pulled(pinned, len(files), downloaded, sum(f["size"] for f in files))
