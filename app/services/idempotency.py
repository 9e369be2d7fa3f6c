"""Idempotency keys for mutations a CI may retry (createModelVersion, requestStageTransition, deploy).

A use case that accepts a key calls ``replay(...)`` first thing in its write transaction and ``remember(...)`` once
the work is done, in the same transaction::

    async with attempt.transaction() as uow:
        if (done := await replay(attempt, uow, "deploy", key, request, now, uow.deployments.get_many)) is not None:
            return done
        ... the work ...
        await remember(uow, principal, "deploy", key, saved.id)

``replay`` claims the key (an insert that a concurrent call with the same key waits on), so of any number of calls
with one key exactly one does the work; the others get its result once it commits, or do the work themselves if it
rolled back. The key row is written with the work, so a crash leaves neither. A replay is recorded in the audit log
as what it is: the mutation's action with outcome OK and ``after = {"idempotentReplay": true, ...}``, and emits no
event (nothing changed, so no webhook fires twice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from app.domain.audit import AuditTarget
from app.domain.errors import NotFound
from app.domain.idempotency import KEY_LIFETIME, check_key, check_same_request, digest
from app.domain.identity import Principal

from .audit import Attempt
from .ports import UnitOfWork

T = TypeVar("T")


async def replay(
    attempt: Attempt,
    uow: UnitOfWork,
    operation: str,
    key: str | None,
    request: Any,
    now: datetime,
    load: Callable[[list[int]], Awaitable[dict[int, T]]],
    target: Callable[[T], AuditTarget] | None = None,
) -> T | None:
    """The first answer for ``key`` (re-read now, so its shape is the real one), or None: then do the work.

    The same key with another ``request`` is CONFLICT naming ``idempotencyKey``; a key whose object was deleted
    since is NOT_FOUND.
    """
    if key is None:
        return None
    check_key(key)
    request_digest = digest(request)
    subject = attempt.principal.subject
    record = await uow.idempotency.claim(subject, operation, key, request_digest, now, now - KEY_LIFETIME)
    if record is None:
        return None
    check_same_request(record, request_digest, operation)
    assert record.result_id is not None, "a key is completed in the transaction that claimed it"
    found = (await load([record.result_id])).get(record.result_id)
    if found is None:
        raise NotFound(
            f"what {operation} did with idempotencyKey {key!r} has been deleted since; use a new key to do it again",
            field="idempotencyKey",
        )
    attempt.record(
        after={"idempotentReplay": True, "idempotencyKey": key, "resultId": record.result_id},
        target=target(found) if target is not None else None,
    )
    return found


async def remember(uow: UnitOfWork, principal: Principal, operation: str, key: str | None, result_id: int) -> None:
    """Store what the work produced under the key ``replay`` claimed (nothing without a key)."""
    if key is not None:
        await uow.idempotency.complete(principal.subject, operation, key, result_id)
