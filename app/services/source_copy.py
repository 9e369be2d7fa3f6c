"""Copying the files of versions registered from a source (an MLflow model, an HTTP or local directory) into the
content-addressed store, then settling the version."""

from __future__ import annotations

import asyncio
import logging

from app.domain.artifacts import ArtifactFile, check_path, check_unique_paths, media_type_for
from app.domain.entities import VersionStatus
from app.domain.errors import RegistryError

from .audit import AuditTrail
from .common import utc_now
from .ports import Clock, UnitOfWorkFactory
from .registration import BackgroundRegistration, settle_registration
from .source_port import RemoteFile, SourceReader, SourceUnavailable
from .storage_port import ArtifactStore
from .version_files import manifest_reference

log = logging.getLogger("modelreg.registration")

READ_ATTEMPTS = 3  # a source that fails this many times in a row fails the registration
RETRY_DELAY_SECONDS = 1.0


class SourceCopier(BackgroundRegistration):
    """Streams each file of a version's source into the store (hashing as it goes), then, in one transaction,
    attaches the files as the version's manifest and marks it READY; a source that cannot be read, lists nothing
    or holds a file that is too large or badly named marks it FAILED_REGISTRATION with the reason. Stored content is
    content-addressed and a version is settled once, so copying twice (or on two replicas) is harmless."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        store: ArtifactStore,
        reader: SourceReader | None,
        max_size: int,
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(uow, store, max_size, trail, clock)
        self._reader = reader

    async def listing(self, uri: str) -> list[RemoteFile] | None:
        """The files at ``uri``, or None when the source cannot be read (the version then refers to it as an
        external URI, as a version registered with an artifact reference does)."""
        if self._reader is None:
            return None
        try:
            files = await self._reader.list_files(uri)
        except SourceUnavailable as error:
            log.info("source not copied; kept as an external reference", extra={"source": uri[:500], "why": str(error)})
            return None
        return files or None

    def schedule(self, version_id: int, uri: str, files: list[RemoteFile] | None = None) -> None:
        """Copy in the background (once per version at a time in this process)."""
        self._tasks.start(version_id, lambda: self.copy(version_id, uri, files))

    async def sweep(self) -> None:
        """Schedule every copy still pending, e.g. after a restart."""
        async with self._uow(write=False) as uow:
            pending = await uow.sources.pending()
        for version_id, uri in pending:
            self.schedule(version_id, uri)

    async def copy(self, version_id: int, uri: str, files: list[RemoteFile] | None = None) -> VersionStatus:
        try:
            stored = await self._copy_files(uri, files)
        except (SourceUnavailable, RegistryError) as error:
            reason = error.message if isinstance(error, RegistryError) else str(error)
            return await self._settle(version_id, VersionStatus.FAILED_REGISTRATION, f"copying from {uri}: {reason}")
        except Exception as error:  # noqa: BLE001 - storage outage: leave it pending for the next sweep
            log.warning("copy interrupted", extra={"version_id": version_id, "error_type": type(error).__name__})
            return VersionStatus.PENDING_REGISTRATION
        return await self._settle(version_id, VersionStatus.READY, None, stored)

    async def _copy_files(self, uri: str, files: list[RemoteFile] | None) -> list[ArtifactFile]:
        if self._reader is None:
            raise SourceUnavailable("no source reader is configured")
        if files is None:
            files = await self._reader.list_files(uri)
        if not files:
            raise SourceUnavailable("the source holds no files")
        check_unique_paths([check_path(file.path, "source") for file in files])
        return [
            ArtifactFile(file.path, *(await self._copy_one(file)), media_type_for(file.path, None)) for file in files
        ]

    async def _copy_one(self, file: RemoteFile) -> tuple[str, int]:
        """(digest, size) of the stored copy; retries a read that fails part-way."""
        assert self._reader is not None
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                info = await self._store.write(self._reader.open(file), max_size=self._max_size)
                return info.digest, info.size
            except SourceUnavailable:
                if attempt == READ_ATTEMPTS:
                    raise
                await asyncio.sleep(RETRY_DELAY_SECONDS * attempt)
        raise AssertionError("unreachable")

    async def _settle(
        self, version_id: int, status: VersionStatus, message: str | None, files: list[ArtifactFile] | None = None
    ) -> VersionStatus:
        now = self._clock()
        async with self._uow(write=True) as uow:
            if files:
                version = (await uow.versions.get_many([version_id])).get(version_id)
                if version is None:  # deleted while copying
                    return status
                reference = manifest_reference(version.model_name, version.version, files)
                if not await uow.sources.attach(version_id, files, reference, now):
                    return status  # another copier (replica) attached them first
            details = {"files": len(files or [])}
            await settle_registration(uow, self._trail, version_id, status, message and message[:4000], now, details)
            await uow.commit()
        log.info("copy from source settled", extra={"version_id": version_id, "status": status.value})
        return status
