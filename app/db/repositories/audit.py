"""The audit log: appending to the hash chain, and reading it back for auditors and verification."""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Row, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.audit import (
    GENESIS_HASH,
    KEY_OWNERS,
    AuditDraft,
    AuditEvent,
    AuditFilter,
    AuditTarget,
    canonical_json,
    chain,
)
from app.domain.queries import Direction, Page, PageRequest
from app.domain.read_scope import EVERYTHING, MODEL_AUDIT_TARGETS, ReadScope

from ..governance_tables import AuditEventRow
from ..pagination import fetch_page
from ..prepared import PreparedRead, PreparedWrite
from ..prepared_rows import insert_row
from ..read_scope import text_in_scope
from ..sessions import dialect_name, remember, remembered

# pg_advisory_xact_lock key serialising appends to the chain ("modelreg" as a 64-bit number).
CHAIN_LOCK_KEY = int.from_bytes(b"modelreg", "big") & 0x7FFF_FFFF_FFFF_FFFF

_CHAIN_LOCK = PreparedRead(select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)).label("locked")))
_AUDIT = AuditEventRow.__table__
_HEAD = PreparedRead(select(_AUDIT.c.seq, _AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1))
_APPEND = PreparedWrite(insert_row(_AUDIT))
_CHAIN_LOCK_HELD = "modelreg.chain_lock_held"  # session.info: whether the transaction holds it (sessions.remember)


async def hold_chain_lock(session: AsyncSession) -> None:
    """Take the audit chain's transaction lock on PostgreSQL (nothing on SQLite, which has one writer), once per
    transaction: the audit append, the outbox and webhook deletion all take it, and taken again it costs a round
    trip for nothing. It is released when the transaction ends."""
    if dialect_name(session) != "postgresql":
        return
    transaction = session.sync_session.get_transaction()
    if remembered(session, _CHAIN_LOCK_HELD, transaction):
        return
    await _CHAIN_LOCK.all(session, {"key": CHAIN_LOCK_KEY})
    remember(session, _CHAIN_LOCK_HELD, session.sync_session.get_transaction(), True)


def _json_text(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def _event(row: AuditEventRow | Row) -> AuditEvent:
    draft = AuditDraft(
        occurred_at=row.occurred_at,
        actor_subject=row.actor_subject,
        actor_kind=row.actor_kind,
        actor_roles=tuple(json.loads(row.actor_roles)),
        action=row.action,
        target=AuditTarget(row.target_type, row.target_id, row.target_name, row.target_version),
        outcome=row.outcome,
        before=json.loads(row.before) if row.before is not None else None,
        after=json.loads(row.after) if row.after is not None else None,
        detail=row.detail,
        request_id=row.request_id,
        client_address=row.client_address,
        user_agent=row.user_agent,
    )
    return AuditEvent(seq=row.seq, draft=draft, prev_hash=row.prev_hash, hash=row.hash)


def _in_scope(scope: ReadScope) -> list[Any]:
    """The events an auditor within some namespaces reads: those about a model of theirs."""
    if scope.everything:
        return []
    return [AuditEventRow.target_type.in_(MODEL_AUDIT_TARGETS), *text_in_scope(AuditEventRow.target_name, scope)]


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, draft: AuditDraft) -> AuditEvent:
        """Add an event at the head of the chain, in the caller's transaction.

        Appends are serialised so each reads the true head: on PostgreSQL by a transaction-level advisory lock
        (held until commit), on SQLite by the write lock every writing transaction takes with BEGIN IMMEDIATE.
        Call it last in a transaction, so the lock is held briefly.
        """
        await hold_chain_lock(self._session)
        head = await _HEAD.first(self._session, {})
        seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
        event = chain(seq, draft, prev_hash)
        target = draft.target
        await _APPEND.run(
            self._session,
            {
                "seq": seq,
                "occurred_at": draft.occurred_at,
                "actor_subject": draft.actor_subject,
                "actor_kind": draft.actor_kind,
                "actor_roles": canonical_json(list(draft.actor_roles)),
                "action": draft.action,
                "target_type": target.type,
                "target_id": target.id,
                "target_name": target.name,
                "target_version": target.version,
                "before": _json_text(draft.before),
                "after": _json_text(draft.after),
                "outcome": draft.outcome,
                "detail": draft.detail,
                "request_id": draft.request_id,
                "client_address": draft.client_address,
                "user_agent": draft.user_agent,
                "prev_hash": prev_hash,
                "hash": event.hash,
            },
        )
        return event

    async def list(
        self,
        filter: AuditFilter,
        page: PageRequest,
        with_total: bool,
        direction: Direction = Direction.DESC,
        scope: ReadScope = EVERYTHING,
    ) -> Page[AuditEvent]:
        conditions = _in_scope(scope)
        if filter.actor is not None:
            conditions.append(AuditEventRow.actor_subject == filter.actor)
        if filter.action is not None:
            if filter.action.endswith("*"):
                conditions.append(AuditEventRow.action.startswith(filter.action[:-1], autoescape=True))
            else:
                conditions.append(AuditEventRow.action == filter.action)
        if filter.target_type is not None:
            conditions.append(AuditEventRow.target_type == filter.target_type)
        named = []
        if filter.target is not None:
            # A name, or an id that is no database key (the API shows database keys as global ids only).
            named += [
                AuditEventRow.target_name == filter.target,
                and_(AuditEventRow.target_id == filter.target, AuditEventRow.target_type.not_in(KEY_OWNERS)),
            ]
        if filter.target_key is not None:
            named.append(
                and_(
                    AuditEventRow.target_type.in_(sorted(filter.target_key.types)),
                    AuditEventRow.target_id == filter.target_key.key,
                )
            )
        if named:
            conditions.append(or_(*named))
        if filter.outcome is not None:
            conditions.append(AuditEventRow.outcome == filter.outcome)
        if filter.occurred_from is not None:
            conditions.append(AuditEventRow.occurred_at >= filter.occurred_from)
        if filter.occurred_to is not None:
            conditions.append(AuditEventRow.occurred_at < filter.occurred_to)
        query = select(AuditEventRow, AuditEventRow.seq).where(*conditions)
        return await fetch_page(
            self._session,
            query,
            list_name="audit-events",
            sort_key=AuditEventRow.seq,
            id_column=AuditEventRow.seq,
            direction=direction,
            page=page,
            with_total=with_total,
            convert=lambda row: _event(row[0]),
        )

    async def chunk(
        self,
        after_seq: int,
        limit: int,
        *,
        until_seq: int | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
        scope: ReadScope = EVERYTHING,
    ) -> builtins.list[AuditEvent]:
        """Up to ``limit`` events after ``after_seq`` in sequence order (for verification and export)."""
        # Plain rows, not ORM objects: verification and export read every event, and this halves the cost.
        query = select(*AuditEventRow.__table__.columns).where(AuditEventRow.seq > after_seq, *_in_scope(scope))
        if until_seq is not None:
            query = query.where(AuditEventRow.seq <= until_seq)
        if occurred_from is not None:
            query = query.where(AuditEventRow.occurred_at >= occurred_from)
        if occurred_to is not None:
            query = query.where(AuditEventRow.occurred_at < occurred_to)
        rows = await self._session.execute(query.order_by(AuditEventRow.seq).limit(limit))
        return [_event(row) for row in rows]

    async def head(self) -> int:
        """The highest sequence number (0 for an empty log)."""
        return (await self._session.execute(select(func.coalesce(func.max(AuditEventRow.seq), 0)))).scalar_one()
