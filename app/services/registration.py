"""Background verification of versions whose files arrived as staged uploads."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.domain.audit import AuditTarget, version_target
from app.domain.entities import VersionStatus
from app.domain.errors import RegistryError
from app.domain.events import EventDraft, EventType

from .audit import SYSTEM, AuditTrail
from .background import KeyedTasks
from .common import utc_now
from .ports import Clock, UnitOfWork, UnitOfWorkFactory
from .storage_port import ArtifactStore, BlobInfo

log = logging.getLogger("modelreg.registration")


class BackgroundRegistration:
    """Settles PENDING_REGISTRATION versions in the background, one task per version at a time in this process,
    after the creating transaction commits and again at start-up for work a crash or restart interrupted."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        store: ArtifactStore,
        max_size: int,
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._store = store
        self._max_size = max_size
        self._trail = trail
        self._clock = clock
        self._tasks: KeyedTasks[int] = KeyedTasks()

    async def wait(self) -> None:
        """Until the work in flight has settled (tests and the importer use it)."""
        await self._tasks.wait()

    async def stop(self) -> None:
        """Cancel the work in flight at shutdown; the next start's sweep resumes it."""
        await self._tasks.stop()


class RegistrationVerifier(BackgroundRegistration):
    """Hashes each staged file of a PENDING_REGISTRATION version as it streams, moves it to its content address,
    then marks the version READY, or FAILED_REGISTRATION with the reason. Verification is idempotent."""

    def schedule(self, version_id: int) -> None:
        """Verify in the background (once per version at a time in this process)."""
        self._tasks.start(version_id, lambda: self.verify(version_id))

    async def sweep(self) -> None:
        """Schedule every version still pending, e.g. after a restart."""
        async with self._uow(write=False) as uow:
            pending = await uow.versions.pending_registrations()
        for version_id in pending:
            self.schedule(version_id)

    async def verify(self, version_id: int) -> VersionStatus:
        async with self._uow(write=False) as uow:
            staged = await uow.versions.staged_files(version_id)
        problems: list[str] = []
        for file in staged:
            stored: BlobInfo | None
            try:
                stored = await self._store.promote(file.upload_id, max_size=self._max_size)
            except RegistryError as error:
                # Promoted already by an earlier or concurrent run (another replica, before a crash)?
                stored = await self._store.stat(file.digest)
                if stored is None:
                    problems.append(f"{file.path}: {error.message}")
                    continue
            except Exception as error:  # noqa: BLE001 - storage outage: leave it pending for the next sweep
                log.warning(
                    "verification interrupted", extra={"version_id": version_id, "error_type": type(error).__name__}
                )
                return VersionStatus.PENDING_REGISTRATION
            if stored.digest != file.digest or stored.size != file.size:
                problems.append(
                    f"{file.path}: uploaded content has digest {stored.digest} and size {stored.size}, "
                    f"not the declared {file.digest} and {file.size}"
                )
        status = VersionStatus.FAILED_REGISTRATION if problems else VersionStatus.READY
        message = "; ".join(problems)[:4000] if problems else None
        async with self._uow(write=True) as uow:
            await settle_registration(uow, self._trail, version_id, status, message, self._clock())
            await uow.commit()
        log.info("registration verified", extra={"version_id": version_id, "status": status.value})
        return status


async def settle_registration(
    uow: UnitOfWork,
    trail: AuditTrail,
    version_id: int,
    status: VersionStatus,
    message: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> bool:
    """Settle a PENDING_REGISTRATION version as READY or FAILED_REGISTRATION in ``uow``'s transaction, with its
    audit event and VERSION_READY / VERSION_FAILED; False (nothing recorded) when it was settled already."""
    if not await uow.versions.finish_registration(version_id, status, message, now):
        return False
    version = (await uow.versions.get_many([version_id])).get(version_id)
    target = (
        version_target(version.model_name, version.version, version_id)
        if version
        else AuditTarget("ModelVersion", str(version_id))
    )
    settled = EventType.VERSION_READY if status is VersionStatus.READY else EventType.VERSION_FAILED
    await trail.record(
        uow,
        trail.draft(
            SYSTEM,
            "version.registration.finish",
            target,
            after={"status": status, "statusMessage": message, **(details or {})},
        ),
        [EventDraft(settled, version.model_name, version.version) if version else EventDraft(settled)],
    )
    return True
