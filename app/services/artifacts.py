"""Use cases on artifact bytes: uploads (direct or staged) and downloads."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from app.domain.artifacts import ArtifactFile, Upload, check_upload_usable
from app.domain.audit import AuditTarget
from app.domain.entities import ModelVersion, Stage
from app.domain.errors import NotFound
from app.domain.identity import Permission, Principal
from app.domain.rules import check_sha256
from app.domain.uris import parse_model_uri

from .audit import AuditTrail
from .common import utc_now, version_at_uri
from .ports import ANYWHERE, Authorizer, Clock, UnitOfWorkFactory
from .storage_port import ArtifactStore, BlobInfo

UPLOAD_TTL = timedelta(hours=2)
BLOB = AuditTarget("ArtifactBlob")
SIGNED_URL_TTL_SECONDS = 300


@dataclass(frozen=True)
class VersionFiles:
    """A version's manifest, looked up for download."""

    version: ModelVersion
    files: list[ArtifactFile]


class ArtifactService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authorizer: Authorizer,
        store: ArtifactStore,
        *,
        max_upload_size: int,
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self.store = store
        self.max_upload_size = max_upload_size
        self._clock = clock
        self._trail = trail

    async def upload(self, principal: Principal, chunks: AsyncIterable[bytes], expected_digest: str | None) -> BlobInfo:
        """Store content (hashed while written); content already stored is not written again."""
        async with self._trail.attempt(principal, "artifact.upload", BLOB) as attempt:
            self._authorizer.require(principal, Permission.ARTIFACT_WRITE, ANYWHERE)
            info = await self.store.write(chunks, max_size=self.max_upload_size, expected_digest=expected_digest)
            async with attempt.transaction():
                attempt.record(
                    after={"digest": info.digest, "size": info.size},
                    target=AuditTarget("ArtifactBlob", info.digest),
                )
        return info

    async def stored_blob(self, principal: Principal, digest: str) -> BlobInfo:
        """The stored content of ``digest`` (so an uploader can skip sending it again); NOT_FOUND when absent.
        Needs artifact:write, like the upload it saves."""
        await self._trail.require(
            self._authorizer, principal, Permission.ARTIFACT_WRITE, "artifact.stat", BLOB, where=ANYWHERE
        )
        info = await self.store.stat(check_sha256(digest, "digest"))
        if info is None:
            raise NotFound(f"no content {digest} is stored; upload it to /api/artifacts/blobs", field="digest")
        return info

    async def create_upload(self, principal: Principal, upload_endpoint: str) -> Upload:
        """A staged upload: straight to the storage backend with a short-lived signed URL where it has them,
        else through ``upload_endpoint`` of the registry."""
        async with self._trail.attempt(principal, "artifact.upload.create", AuditTarget("ArtifactUpload")) as attempt:
            self._authorizer.require(principal, Permission.ARTIFACT_WRITE, ANYWHERE)
            upload_id = secrets.token_hex(16)
            now = self._clock()
            direct_url = await self.store.upload_url(upload_id, ttl_seconds=int(UPLOAD_TTL.total_seconds()))
            async with attempt.transaction() as uow:
                await uow.artifacts.add_upload(upload_id, principal.subject, now, now + UPLOAD_TTL)
                attempt.record(
                    after={"uploadId": upload_id, "expiresAt": now + UPLOAD_TTL, "direct": direct_url is not None},
                    target=AuditTarget("ArtifactUpload", upload_id),
                )
        return Upload(
            id=upload_id,
            url=direct_url or upload_endpoint.format(upload_id=upload_id),
            direct=direct_url is not None,
            expires_at=now + UPLOAD_TTL,
            created_by=principal.subject,
        )

    async def receive_upload(self, principal: Principal, upload_id: str, chunks: AsyncIterable[bytes]) -> int:
        """The body of a staged upload sent through the registry; returns its size."""
        target = AuditTarget("ArtifactUpload", upload_id)
        async with self._trail.attempt(principal, "artifact.upload.receive", target) as attempt:
            self._authorizer.require(principal, Permission.ARTIFACT_WRITE, ANYWHERE)
            async with self._uow(write=False) as uow:
                usable = await uow.artifacts.unused_uploads([upload_id], self._clock())
            check_upload_usable(upload_id, usable)
            size = await self.store.write_staged(upload_id, chunks, max_size=self.max_upload_size)
            async with attempt.transaction():
                attempt.record(after={"size": size})
        return size

    async def version_files(
        self, principal: Principal, uri: str, *, path: str | None, request_id: str | None = None
    ) -> VersionFiles:
        """The files of the version a ``models:/`` URI names (one file when ``path`` is given). Downloads of a
        PRODUCTION version's files are recorded for the audit trail."""
        await self._trail.require(
            self._authorizer,
            principal,
            Permission.ARTIFACT_READ,
            "artifact.download",
            AuditTarget("ModelVersion", name=uri[:256]),
        )
        parsed = parse_model_uri(uri)
        if not self._authorizer.read_scope(principal, Permission.ARTIFACT_READ).covers(parsed.name):
            raise NotFound(f"registered model {parsed.name!r} does not exist", field="name")  # as a missing one
        async with self._uow(write=True) as uow:
            version = await version_at_uri(uow, parsed)
            files = (await uow.versions.files([version.id]))[version.id]
            if path is not None:
                files = [file for file in files if file.path == path]
                if not files:
                    raise NotFound(
                        f"version {version.version} of {version.model_name!r} has no file {path!r}", field="path"
                    )
            elif not files:
                raise NotFound(f"version {version.version} of {version.model_name!r} has no stored files", field="uri")
            if version.stage is Stage.PRODUCTION:
                await uow.artifacts.record_download(
                    version.id, path, principal.subject, principal.kind.value, self._clock(), request_id
                )
                await uow.commit()
        return VersionFiles(version, files)

    def read(self, file: ArtifactFile, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of a file found by ``version_files`` (which authorized the caller)."""
        return self.store.read(file.digest, start, end)

    async def signed_url(self, file: ArtifactFile) -> str | None:
        """A short-lived read-only URL straight to the storage backend, when it has them."""
        return await self.store.read_url(
            file.digest,
            ttl_seconds=SIGNED_URL_TTL_SECONDS,
            filename=file.path.rsplit("/", 1)[-1],
            media_type=file.media_type,
        )

    async def files_of(self, principal: Principal, version_ids: list[int]) -> dict[int, list[ArtifactFile]]:
        """Manifests of many versions at once (for DataLoaders)."""
        await self._trail.require(self._authorizer, principal, Permission.REGISTRY_READ, "registry.read")
        async with self._uow(write=False) as uow:
            return await uow.versions.files(version_ids)
