"""A version's files: a manifest of (path, digest, size, media type), and its digest."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import BadUserInput, FailedPrecondition

MAX_FILES = 10_000
MAX_PATH_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
DEFAULT_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class ArtifactFile:
    """One file of a version: where it sits in the version's tree and what it contains."""

    path: str
    digest: str
    size: int
    media_type: str = DEFAULT_MEDIA_TYPE


@dataclass(frozen=True)
class StagedFile:
    """A file of a new version whose bytes are still in a staged upload, to be verified in the background."""

    path: str
    upload_id: str
    digest: str
    size: int
    media_type: str = DEFAULT_MEDIA_TYPE


@dataclass(frozen=True)
class Upload:
    """A staged upload handed to a client: where to send the bytes, until when."""

    id: str
    url: str
    direct: bool
    expires_at: datetime
    created_by: str


def check_path(path: str, field: str = "files.path") -> str:
    """A relative POSIX path inside the version: no '..', '.', empty segments, backslashes or control characters."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise BadUserInput(f"{field} must be 1-{MAX_PATH_LENGTH} characters long", field=field)
    if path.startswith("/") or _CONTROL.search(path):
        raise BadUserInput(
            f"{field} {path[:80]!r} must be relative, without backslashes or control characters", field=field
        )
    for segment in path.split("/"):
        if segment in ("", ".", "..") or len(segment) > MAX_SEGMENT_LENGTH:
            raise BadUserInput(f"{field} {path[:80]!r} has an empty, '.', '..' or over-long segment", field=field)
    return path


def media_type_for(path: str, given: str | None) -> str:
    """The media type given (validated), else a guess from the file name."""
    if given is not None:
        if not _MEDIA_TYPE.fullmatch(given):
            raise BadUserInput(
                f"files.mediaType {given[:80]!r} is not a media type such as text/plain", field="files.mediaType"
            )
        return given
    return mimetypes.guess_type(path, strict=False)[0] or DEFAULT_MEDIA_TYPE


def check_unique_paths(paths: list[str]) -> None:
    if len(paths) > MAX_FILES:
        raise BadUserInput(f"files: at most {MAX_FILES} files per version", field="files")
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise BadUserInput(f"files: {path[:80]!r} is listed twice", field="files")
        seen.add(path)
    prefixes = {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
    clash = prefixes & seen
    if clash:
        raise BadUserInput(f"files: {sorted(clash)[0]!r} is both a file and a folder", field="files")


def check_uploads_usable(staged: Sequence[StagedFile], usable: Collection[str]) -> None:
    """FAILED_PRECONDITION naming the files (the first 20) whose staged upload is not among ``usable``: the uploads
    that exist, have not expired and no version uses yet."""
    unusable = [file.path for file in staged if file.upload_id not in usable]
    if unusable:
        raise FailedPrecondition(
            f"the uploads of {', '.join(unusable[:20])} are unknown, expired or "
            "used by another version; create new ones with createArtifactUpload"
        )


def check_upload_usable(upload_id: str, usable: Collection[str]) -> None:
    """FAILED_PRECONDITION unless the staged upload is among ``usable`` (it exists, has not expired and no version
    uses it yet), so its bytes may still be sent."""
    if upload_id not in usable:
        raise FailedPrecondition(f"upload {upload_id[:64]!r} is unknown, expired or already used by a version")


def manifest_digest(files: Sequence[ArtifactFile | StagedFile]) -> str:
    """The sha256 of the canonical JSON of the manifest (sorted by path), so a deployment can verify a whole
    version with one value."""
    entries = [
        {"path": f.path, "digest": f.digest, "size": f.size, "mediaType": f.media_type}
        for f in sorted(files, key=lambda f: f.path)
    ]
    canonical = json.dumps(entries, separators=(",", ":"), sort_keys=True).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
