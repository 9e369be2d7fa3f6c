"""The event outbox; and, on PostgreSQL, the LISTEN/NOTIFY channel that tells other processes the outbox grew.
Webhooks and their deliveries are in webhooks.py."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import String, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import DomainEvent

from ..event_tables import EventRow
from ..prepared import PreparedRead
from ..prepared_rows import PreparedRows
from ..sessions import dialect_name
from .audit import hold_chain_lock

# NOTIFY channel: a notification (empty payload) means "the outbox grew", sent in the transaction of the events
# and so delivered by PostgreSQL at commit, to every process that LISTENs (services/event_feed.py).
EVENTS_CHANNEL = "modelreg_events"

_EVENTS = EventRow.__table__
_EVENT_VALUES = ["id", "type", "occurred_at", "actor_subject", "actor_kind", "model_name", "version", "payload"]
# By dialect. On PostgreSQL the INSERT also tells the listening processes that the outbox grew: NOTIFY is delivered
# at commit, the notifications of one transaction folded into one, and it costs no round trip of its own.
_ADD_EVENTS = {
    "sqlite": PreparedRows(_EVENTS, _EVENT_VALUES, returning=[_EVENTS.c.seq, _EVENTS.c.id]),
    "postgresql": PreparedRows(
        _EVENTS,
        _EVENT_VALUES,
        returning=[
            _EVENTS.c.seq,
            _EVENTS.c.id,
            func.pg_notify(literal(EVENTS_CHANNEL, String()), literal("", String())).label("notified"),
        ],
    ),
}
_AFTER = PreparedRead(
    select(*_EVENTS.c).where(_EVENTS.c.seq > bindparam("seq")).order_by(_EVENTS.c.seq).limit(bindparam("limit"))
)


def to_event(row: EventRow) -> DomainEvent:
    return DomainEvent(
        row.id,
        row.type,
        row.occurred_at,
        row.actor_subject,
        row.actor_kind,
        row.model_name,
        row.version,
        dict(row.payload or {}),
        row.seq,
    )


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, event: DomainEvent) -> DomainEvent:
        """Write one event in the caller's transaction (see ``add_all``)."""
        return (await self.add_all([event]))[0]

    async def add_all(self, events: list[DomainEvent]) -> list[DomainEvent]:
        """Write events in the caller's transaction, in order, with one INSERT; they come back with their ``seq``.

        Readers of the outbox (subscriptions) move past every ``seq`` they have seen, so events must become
        visible in ``seq`` order. On PostgreSQL a sequence hands out numbers before commit, so two writers could
        commit out of order: every writer takes the audit chain's transaction lock first (audited changes hold it
        anyway, taken again it is free) and so allocates and commits in turn. SQLite has one writer at a time.
        On PostgreSQL other processes are told at commit that the outbox grew (NOTIFY; see ``_ADD_EVENTS``).
        """
        if not events:
            return []
        await hold_chain_lock(self._session)
        rows = [
            {
                "id": e.id,
                "type": e.type,
                "occurred_at": e.occurred_at,
                "actor_subject": e.actor_subject,
                "actor_kind": e.actor_kind,
                "model_name": e.model_name,
                "version": e.version,
                "payload": e.payload,
            }
            for e in events
        ]
        # Both databases number the rows of one INSERT ... VALUES in the order of the VALUES (SQLite's rowids,
        # PostgreSQL's sequence as it runs the list), which neither documents: the order test in
        # tests/db/test_prepared_writes.py runs on both. RETURNING may come in any order, so each seq is found by id.
        written = await _ADD_EVENTS[dialect_name(self._session)].run(self._session, rows)
        numbered = {row.id: row.seq for row in written}
        return [replace(e, seq=numbered[e.id]) for e in events]

    async def after(self, seq: int, limit: int) -> list[DomainEvent]:
        """Events after a position in the outbox, oldest first."""
        return [to_event(row) for row in await _AFTER.all(self._session, {"seq": seq, "limit": limit})]

    async def head(self) -> int:
        return (await self._session.execute(select(func.coalesce(func.max(EventRow.seq), 0)))).scalar_one()
