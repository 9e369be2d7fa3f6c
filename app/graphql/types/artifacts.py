"""Artifact files: the manifest types on versions, file inputs, and staged uploads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

import strawberry

from app.domain import entities
from app.domain.commands import FileRef

from ..context import Info
from .common import Long


@strawberry.type(description="Where a version's files live and how to verify them.")
class ArtifactReference:
    version: strawberry.Private[entities.ModelVersion]
    uri: str = strawberry.field(
        description="Location of the files: the version's own `models:/` URI when the "
        "registry stores them, else the reference given at registration."
    )
    digest: str | None = strawberry.field(
        description="`sha256:<hex>`: the manifest digest for stored files, else the digest given at registration."
    )
    size: Long | None = strawberry.field(description="Size in bytes (all files together for stored files).")

    @strawberry.field(
        description="Digest of the manifest (paths, digests, sizes, media types) of stored files; "
        "null for a reference to files elsewhere."
    )
    async def manifest_digest(self, info: Info) -> str | None:
        return self.digest if await info.context.loaders.files.load(self.version.id) else None

    @strawberry.field(description="The files the registry stores for this version, sorted by path.")
    async def files(self, info: Info) -> list[ArtifactFile]:
        found = await info.context.loaders.files.load(self.version.id)
        base = str(info.context.request.base_url).rstrip("/") if info.context.request else ""
        uri = f"models:/{self.version.model_name}/{self.version.version}"
        return [
            ArtifactFile(
                path=f.path,
                size=f.size,
                digest=f.digest,
                media_type=f.media_type,
                download_url=f"{base}/api/artifacts/files?{urlencode({'uri': uri, 'path': f.path})}",
            )
            for f in found
        ]


@strawberry.type(description="One file of a version.")
class ArtifactFile:
    path: str = strawberry.field(description="Path within the version, such as `model/model.pkl`.")
    size: Long = strawberry.field(description="Size in bytes.")
    digest: str = strawberry.field(description="`sha256:<hex>` of the content; also the download's ETag.")
    media_type: str = strawberry.field(description="Media type, such as `application/octet-stream`.")
    download_url: str = strawberry.field(description="GET it with the same bearer token (Range requests work).")


@strawberry.input(
    description="A file of a new version: the digest of content uploaded to /api/artifacts/blobs, or "
    "a staged upload (uploadId) with its expected digest and size."
)
class ArtifactFileInput:
    path: str = strawberry.field(description="Relative path within the version, such as `model/model.pkl`.")
    digest: str | None = strawberry.field(default=None, description="`sha256:<hex>` of the content.")
    upload_id: str | None = strawberry.field(default=None, description="A staged upload from createArtifactUpload.")
    size: Long | None = strawberry.field(default=None, description="Size in bytes (required with uploadId).")
    media_type: str | None = strawberry.field(default=None, description="Media type; guessed from the name if unset.")

    def to_domain(self) -> FileRef:
        return FileRef(
            path=self.path,
            digest=self.digest,
            upload_id=self.upload_id,
            size=self.size,
            media_type=self.media_type,
        )


@strawberry.input(description="A staged upload to create.")
class CreateArtifactUploadInput:
    note: str | None = strawberry.field(default=None, description="Free text for your own bookkeeping; not stored.")


@strawberry.type(description="Where to send a file's bytes; pass `uploadId` in createModelVersion's files.")
class ArtifactUploadPayload:
    upload_id: str = strawberry.field(description="Id to name in `files: [{path, uploadId, digest, size}]`.")
    upload_url: str = strawberry.field(
        description="PUT the bytes here. Direct URLs are signed storage URLs "
        "(Azure: also block uploads; send `x-ms-blob-type: BlockBlob`); "
        "otherwise the registry's endpoint with your bearer token."
    )
    direct: bool = strawberry.field(description="True when the URL goes straight to the storage backend.")
    expires_at: datetime = strawberry.field(description="The upload must be used by a version before this time.")


@strawberry.type(description="Artifact mutations.")
class ArtifactMutations:
    @strawberry.mutation(
        description="Create a staged upload for a large file (straight to cloud storage where "
        "possible). Requires artifact:write."
    )
    async def create_artifact_upload(
        self,
        info: Info,
        input: Annotated[CreateArtifactUploadInput, strawberry.argument(description="The upload.")],
    ) -> ArtifactUploadPayload:
        base = str(info.context.request.base_url).rstrip("/") if info.context.request else ""
        upload = await info.context.services.artifacts.create_upload(
            info.context.principal, base + "/api/artifacts/uploads/{upload_id}"
        )
        return ArtifactUploadPayload(
            upload_id=upload.id, upload_url=upload.url, direct=upload.direct, expires_at=upload.expires_at
        )
