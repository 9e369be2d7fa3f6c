"""Auditor use cases on the audit log: queries, the integrity check, and the streamed export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from app.domain.audit import AuditEvent, AuditFilter, AuditTarget, IntegrityReport
from app.domain.errors import Forbidden
from app.domain.identity import Permission, Principal
from app.domain.queries import Direction, Page, PageRequest, check_page
from app.domain.read_scope import ReadScope, covers_audit_target

from .audit import AuditTrail
from .ports import Authorizer, UnitOfWorkFactory

VERIFY_CHUNK = 5000
EXPORT_CHUNK = 1000
LOG = AuditTarget("AuditLog")


async def verify_chain(uow: UnitOfWorkFactory, chunk: int = VERIFY_CHUNK) -> IntegrityReport:
    """Recompute the whole hash chain in sequence order, a chunk per short read transaction, and report the
    first broken event (edited, deleted, inserted or reordered rows all break it)."""
    report, after = IntegrityReport(), 0
    while True:
        async with uow(write=False) as work:
            events = await work.audit.chunk(after, chunk)
        if not events or not report.feed(events):
            return report
        after = events[-1].seq


class AuditLogService:
    """Auditors only (audit:read); a denied attempt is itself recorded."""

    def __init__(
        self, uow: UnitOfWorkFactory, authorizer: Authorizer, trail: AuditTrail, max_page_size: int = 100
    ) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self.max_page_size = max_page_size
        self._trail = trail

    async def _require(self, principal: Principal, action: str) -> None:
        await self._trail.require(self._authorizer, principal, Permission.AUDIT_READ, action, LOG)

    async def events(
        self,
        principal: Principal,
        filter: AuditFilter,
        page: PageRequest,
        with_total: bool,
        direction: Direction = Direction.DESC,
    ) -> Page[AuditEvent]:
        await self._require(principal, "audit.read")
        check_page(page, self.max_page_size)
        scope = self._authorizer.read_scope(principal, Permission.AUDIT_READ)
        async with self._uow(write=False) as uow:
            return await uow.audit.list(filter, page, with_total, direction, scope)

    async def event(self, principal: Principal, seq: int) -> AuditEvent | None:
        """The event with sequence number ``seq`` (``node(id:)``), or None."""
        await self._require(principal, "audit.read")
        scope = self._authorizer.read_scope(principal, Permission.AUDIT_READ)
        async with self._uow(write=False) as uow:
            found = await uow.audit.chunk(seq - 1, 1)
        if not found or found[0].seq != seq:
            return None
        target = found[0].draft.target
        return found[0] if covers_audit_target(scope, target.type, target.name) else None

    async def integrity(self, principal: Principal) -> IntegrityReport:
        await self._require(principal, "audit.verify")
        if not self._authorizer.read_scope(principal, Permission.AUDIT_READ).everything:
            # The chain links every event: checking it takes reading them all (scoped reads, authorization.md).
            error = Forbidden("missing permission audit:read held globally: the integrity check reads every event")
            await self._trail.record_failure(principal, "audit.verify", LOG, error)
            raise error
        return await verify_chain(self._uow)

    async def export(
        self, principal: Principal, occurred_from: datetime | None, occurred_to: datetime | None
    ) -> AsyncIterator[AuditEvent]:
        """Authorize now, then stream the events up to the head as it is now, in sequence order, a chunk per
        short read transaction (the log is append-only, so chunks are consistent with each other)."""
        await self._require(principal, "audit.export")
        scope = self._authorizer.read_scope(principal, Permission.AUDIT_READ)
        async with self._uow(write=False) as uow:
            head = await uow.audit.head()
        return self._stream(head, occurred_from, occurred_to, scope)

    async def _stream(
        self, head: int, occurred_from: datetime | None, occurred_to: datetime | None, scope: ReadScope
    ) -> AsyncIterator[AuditEvent]:
        after = 0
        while True:
            async with self._uow(write=False) as uow:
                events = await uow.audit.chunk(
                    after,
                    EXPORT_CHUNK,
                    until_seq=head,
                    occurred_from=occurred_from,
                    occurred_to=occurred_to,
                    scope=scope,
                )
            for event in events:
                yield event
            if len(events) < EXPORT_CHUNK:
                return
            after = events[-1].seq
