"""Operator tasks on stored artifacts: re-hash everything, and collect garbage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .common import utc_now
from .ports import UnitOfWorkFactory
from .storage_port import ArtifactStore, Leftover

GC_BATCH = 500
# At start-up, temporary files not modified for this long are a crash's leftovers. Not all of them: other processes
# (replicas, `modelreg worker`) may share the store and be writing theirs now; a write touches its file with every
# chunk it receives, so only an abandoned one grows this old.
START_UP_GRACE = timedelta(hours=1)


@dataclass
class VerifyReport:
    checked: int = 0
    bytes: int = 0
    mismatches: list[str] = field(default_factory=list)


@dataclass
class GcReport:
    examined: int = 0
    deleted: list[str] = field(default_factory=list)
    kept_referenced: int = 0
    kept_recent: int = 0
    expired_uploads: int = 0
    temporary_deleted: list[str] = field(default_factory=list)
    temporary_bytes: int = 0


async def verify_store(store: ArtifactStore) -> VerifyReport:
    """Re-hash every stored blob; a blob whose content no longer matches its name is reported."""
    report = VerifyReport()
    async for blob in store.blobs():
        hasher, size = hashlib.sha256(), 0
        async for chunk in store.read(blob.digest):
            hasher.update(chunk)
            size += len(chunk)
        report.checked += 1
        report.bytes += size
        if f"sha256:{hasher.hexdigest()}" != blob.digest:
            report.mismatches.append(blob.digest)
    return report


async def collect_garbage(
    uow_factory: UnitOfWorkFactory,
    store: ArtifactStore,
    *,
    grace: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> GcReport:
    """Delete blobs that no version references and that are older than ``grace`` (so an upload about to be
    registered survives), temporary files of interrupted writes not modified for ``grace``, and staged uploads
    whose time ran out. A referenced blob is never deleted."""
    now = now or utc_now()
    report = GcReport()
    batch = []
    async for blob in store.blobs():
        report.examined += 1
        if blob.modified is not None and now - blob.modified < grace:
            report.kept_recent += 1
            continue
        batch.append(blob.digest)
        if len(batch) >= GC_BATCH:
            await _sweep(uow_factory, store, batch, report, dry_run)
            batch = []
    if batch:
        await _sweep(uow_factory, store, batch, report, dry_run)
    leftovers = await store.sweep_temporary(modified_before=now - grace, dry_run=dry_run)
    report.temporary_deleted = [leftover.name for leftover in leftovers]
    report.temporary_bytes = sum(leftover.size for leftover in leftovers)
    async with uow_factory(write=True) as uow:
        expired = await uow.artifacts.expired_uploads(now)
        report.expired_uploads = len(expired)
        if not dry_run and expired:
            for upload_id in expired:
                await store.discard(upload_id)
            await uow.artifacts.forget_uploads(expired)
            await uow.commit()
    return report


async def _sweep(
    uow_factory: UnitOfWorkFactory, store: ArtifactStore, digests: list[str], report: GcReport, dry_run: bool
) -> None:
    async with uow_factory(write=False) as uow:
        referenced = await uow.versions.referenced_digests(digests)
    report.kept_referenced += len(referenced)
    for digest in digests:
        if digest in referenced:
            continue
        if not dry_run:
            await store.delete(digest)
        report.deleted.append(digest)


async def remove_partial_writes(
    store: ArtifactStore, *, grace: timedelta = START_UP_GRACE, now: datetime | None = None
) -> list[Leftover]:
    """At start-up: the temporary files a crash left (not modified for ``grace``)."""
    return await store.sweep_temporary(modified_before=(now or utc_now()) - grace)
