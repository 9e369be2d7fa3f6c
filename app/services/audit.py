"""Recording the audit trail: one event per attempted change, and one per denied attempt.

Every mutating use case has the same shape::

    async with self._trail.attempt(principal, "model.create", model_target(name)) as attempt:
        self._authorizer.require(principal, Permission.MODEL_WRITE)
        command.validate()
        async with attempt.transaction() as uow:
            model = await uow.models.add(...)
            attempt.record(after=model_state(model), events=[EventDraft(EventType.MODEL_CREATED, model.name)])

``attempt.transaction()`` is the use case's write transaction and the only one that commits: when its block ends,
the audit event (with what ``record()`` said) and the domain events the use case emits are written in it, then it
commits; a block that does not call ``record()`` commits nothing and raises. When the use case raises (FORBIDDEN
from ``authorizer.require()``, NOT_FOUND, BAD_USER_INPUT, anything) the attempt writes the failure with the error
code in a short transaction of its own, after the use case's transaction has rolled back. Reads record only their
denials, through ``trail.require()``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, overload

from app.domain.audit import OUTCOME_OK, AuditDraft, AuditTarget, jsonable
from app.domain.errors import ErrorCode, Forbidden, RegistryError
from app.domain.events import EventDraft
from app.domain.identity import Permission, Principal, PrincipalKind, RequestInfo

from .common import utc_now
from .events import EventOutbox
from .ports import Authorizer, Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("modelreg.audit")
SYSTEM = Principal(subject="modelreg", kind=PrincipalKind.SERVICE)  # background work of the server itself
DETAIL_MAX = 2000
USER_AGENT_MAX = 512


@overload
def _clip(text: str, limit: int) -> str: ...
@overload
def _clip(text: str | None, limit: int) -> str | None: ...
def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text.replace("\x00", "\\x00")[:limit]


class AuditTrail:
    """Writes the audit log and, through the outbox, the domain events of every change."""

    def __init__(self, uow: UnitOfWorkFactory, outbox: EventOutbox, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._outbox = outbox
        self._clock = clock

    async def record(self, uow: UnitOfWork, draft: AuditDraft, events: Sequence[EventDraft] = ()) -> None:
        """Append a change to the audit log and write the events it emits to the outbox, in ``uow``'s transaction."""
        await uow.audit.append(draft)
        await self._outbox.publish(uow, draft, events)

    def draft(
        self,
        principal: Principal,
        action: str,
        target: AuditTarget,
        *,
        outcome: str = OUTCOME_OK,
        before: Any = None,
        after: Any = None,
        detail: str | None = None,
    ) -> AuditDraft:
        request = principal.request or RequestInfo()
        # Refused input can be anything: text columns get it clipped to their size and without NUL characters.
        target = AuditTarget(target.type, _clip(target.id, 128), _clip(target.name, 256), target.version)
        return AuditDraft(
            occurred_at=self._clock(),
            actor_subject=_clip(principal.subject, 256),
            actor_kind=principal.kind.value,
            actor_roles=tuple(sorted(principal.roles)),
            action=action,
            target=target,
            outcome=outcome,
            before=jsonable(before),
            after=jsonable(after),
            detail=_clip(detail, DETAIL_MAX),
            request_id=_clip(request.request_id, 64),
            client_address=_clip(request.client_address, 64),
            user_agent=_clip(request.user_agent, USER_AGENT_MAX),
        )

    def attempt(self, principal: Principal, action: str, target: AuditTarget) -> Attempt:
        return Attempt(self, principal, action, target)

    async def record_failure(
        self, principal: Principal, action: str, target: AuditTarget, error: BaseException
    ) -> None:
        """The failed attempt, in a transaction of its own. A failure to record is logged, never raised over
        the error the caller is about to see."""
        code = error.code.value if isinstance(error, RegistryError) else ErrorCode.INTERNAL.value
        detail = error.message if isinstance(error, RegistryError) else type(error).__name__
        try:
            async with self._uow(write=True) as uow:
                await uow.audit.append(self.draft(principal, action, target, outcome=code, detail=detail))
                await uow.commit()
        except Exception as failure:  # noqa: BLE001 - the original error matters more
            log.error(
                "could not record a failed attempt in the audit log",
                extra={"action": action, "outcome": code, "error_type": type(failure).__name__},
            )

    async def require(
        self,
        authorizer: Authorizer,
        principal: Principal,
        permission: Permission,
        action: str,
        target: AuditTarget | None = None,
        where: str | None = None,
    ) -> None:
        """``authorizer.require()`` for reads: a denial is recorded, an allowed read is not."""
        try:
            authorizer.require(principal, permission, where)
        except Forbidden as error:
            await self.record_failure(principal, action, target or AuditTarget(permission.resource), error)
            raise


@dataclass(frozen=True)
class _Change:
    """What a use case said it changed: the audit event's before and after, its final target, the events emitted."""

    before: Any
    after: Any
    target: AuditTarget | None
    events: tuple[EventDraft, ...]


class Attempt:
    """One attempted change; exactly one audit event comes out of it, whatever happens."""

    def __init__(self, trail: AuditTrail, principal: Principal, action: str, target: AuditTarget) -> None:
        self._trail = trail
        self.principal = principal
        self.action = action
        self.target = target
        self._change: _Change | None = None
        self._committed = False

    async def __aenter__(self) -> Attempt:
        return self

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """The use case's write transaction: make the change in it and say what it was with ``record()``. At the
        end of the block the audit event and the emitted events are written in the same transaction, which commits.
        An exception rolls everything back; so does a block that never called ``record()`` (a bug: it raises)."""
        async with self._trail._uow(write=True) as uow:
            try:
                yield uow
                change = self._change
                if change is None:
                    raise RuntimeError(f"use case {self.action!r} ended its transaction without record()")
                if change.target is not None:
                    self.target = change.target
                draft = self._trail.draft(
                    self.principal, self.action, self.target, before=change.before, after=change.after
                )
                await self._trail.record(uow, draft, change.events)
                await uow.commit()
            finally:
                self._change = None  # a retried transaction says again what it changed
        self._committed = True

    def record(
        self,
        *,
        before: Any = None,
        after: Any = None,
        target: AuditTarget | None = None,
        events: Sequence[EventDraft] = (),
    ) -> None:
        """Say what the change did: the state ``before`` and ``after`` for the audit log, the ``target`` once it is
        known exactly (with its id), and the domain ``events`` it emits. Written when the transaction ends."""
        self._change = _Change(before, after, target, tuple(events))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> Literal[False]:  # never swallows the error (and so type checkers know the block may raise)
        if error is None:
            if not self._committed:
                bug = RuntimeError(f"use case {self.action!r} succeeded without committing a transaction()")
                await self._trail.record_failure(self.principal, self.action, self.target, bug)
                raise bug
            return False
        if isinstance(error, Exception):  # not on cancellation: there is no one to answer and no time to write
            await self._trail.record_failure(self.principal, self.action, self.target, error)
        return False


# What the events record as before and after.


def model_state(model: Any, tags: dict[str, str] | None = None) -> dict[str, Any]:
    state = {
        "name": model.name,
        "description": model.description,
        "owner": model.owner,
        "useCase": model.use_case,
        "riskTier": model.risk_tier,
        "regulatoryStatus": model.regulatory_status,
    }
    if tags is not None:
        state["tags"] = tags
    return state


def version_state(version: Any) -> dict[str, Any]:
    artifact = version.artifact
    return {
        "version": version.version,
        "status": version.status,
        "stage": version.stage,
        "description": version.description,
        "flavor": version.flavor,
        "artifact": {"uri": artifact.uri, "digest": artifact.digest, "size": artifact.size} if artifact else None,
        "run": {"tracker": version.run.tracker, "runId": version.run.run_id} if version.run else None,
        "code": {"repositoryUrl": version.code.repository_url, "commitSha": version.code.commit_sha}
        if version.code
        else None,
    }
