"""Turning the files named by a new version into its manifest."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from app.domain.artifacts import ArtifactFile, StagedFile, manifest_digest
from app.domain.commands import FileRef, NewVersion
from app.domain.entities import ArtifactRef
from app.domain.errors import BadUserInput, FailedPrecondition

from .storage_port import ArtifactStore, BlobInfo

STAT_CONCURRENCY = 16


# The refs are validated and canonical (NewVersion.validate, .canonical): each has a digest and a media type, and a
# staged upload its declared size; the casts below say so to the type checker.


async def stored_files(store: ArtifactStore, refs: tuple[FileRef, ...]) -> list[ArtifactFile]:
    """The files given by digest, with sizes from the store; FAILED_PRECONDITION names every missing one, and
    BAD_USER_INPUT every one whose declared size is not the stored content's."""
    by_digest = [ref for ref in refs if ref.upload_id is None]
    limit = asyncio.Semaphore(STAT_CONCURRENCY)

    async def stat(ref: FileRef) -> tuple[FileRef, BlobInfo | None]:
        async with limit:
            return ref, await store.stat(cast(str, ref.digest))

    found = await asyncio.gather(*(stat(ref) for ref in by_digest))
    missing = [ref.path for ref, info in found if info is None]
    if missing:
        shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise FailedPrecondition(
            f"these files were not uploaded (no content with their digest is stored): {shown}; "
            "upload them to /api/artifacts/blobs first"
        )
    wrong = [
        (ref, cast(BlobInfo, info).size) for ref, info in found if ref.size not in (None, cast(BlobInfo, info).size)
    ]
    if wrong:
        shown = "; ".join(f"{ref.path} is {size} bytes, not {ref.size}" for ref, size in wrong[:20])
        more = f" and {len(wrong) - 20} more" if len(wrong) > 20 else ""
        raise BadUserInput(
            f"files.size: the stored content differs from the declared size: {shown}{more}; "
            "declare the size that was uploaded (or leave size out)",
            field="files.size",
        )
    return [
        ArtifactFile(ref.path, cast(str, ref.digest), cast(BlobInfo, info).size, cast(str, ref.media_type))
        for ref, info in found
    ]


def staged_files(refs: tuple[FileRef, ...]) -> list[StagedFile]:
    """The files given by staged upload, each upload used once."""
    staged = [
        StagedFile(r.path, r.upload_id, cast(str, r.digest), cast(int, r.size), cast(str, r.media_type))
        for r in refs
        if r.upload_id
    ]
    ids = [file.upload_id for file in staged]
    if len(ids) != len(set(ids)):
        raise BadUserInput("files: each uploadId may be used by one file only", field="files.uploadId")
    return staged


def with_manifest(command: NewVersion, number: int, files: list[ArtifactFile | StagedFile]) -> NewVersion:
    """The command whose artifact reference points at the registry's own copy: the version's URI, the
    manifest digest and the total size."""
    if not files:
        return command
    return replace(command, artifact=manifest_reference(command.model_name, number, files))


def manifest_reference(model_name: str, number: int, files: Sequence[ArtifactFile | StagedFile]) -> ArtifactRef:
    """The artifact reference of a version whose files the registry stores: its URI, manifest digest and size."""
    return ArtifactRef(
        uri=f"models:/{model_name}/{number}", digest=manifest_digest(files), size=sum(file.size for file in files)
    )
