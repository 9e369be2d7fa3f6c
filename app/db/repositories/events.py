"""The event outbox; and, on PostgreSQL, the LISTEN/NOTIFY channel that tells other processes the outbox grew.
Webhooks and their deliveries are in webhooks.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import JSON, String, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import DomainEvent, EventFilter

from ..event_tables import EventRow, WebhookRow
from ..prepared import PreparedRead
from ..prepared_rows import PreparedRows
from ..read_scope import stored_scope
from ..sessions import dialect_name
from .audit import hold_chain_lock

# NOTIFY channel: a notification (empty payload) means "the outbox grew", sent in the transaction of the events
# and so delivered by PostgreSQL at commit, to every process that LISTENs (services/event_feed.py).
EVENTS_CHANNEL = "modelreg_events"

_EVENTS = EventRow.__table__
_EVENT_VALUES = ["id", "type", "occurred_at", "actor_subject", "actor_kind", "model_name", "version", "payload"]
# By dialect. On PostgreSQL the INSERT also tells the listening processes that the outbox grew: NOTIFY is delivered
# at commit, the notifications of one transaction folded into one, and it costs no round trip of its own.
_RETURNING = [_EVENTS.c.seq, _EVENTS.c.id]
_NOTIFY = func.pg_notify(literal(EVENTS_CHANNEL, String()), literal("", String())).label("notified")
_ADD_EVENTS = {
    "sqlite": PreparedRows(_EVENTS, _EVENT_VALUES, returning=_RETURNING),
    "postgresql": PreparedRows(_EVENTS, _EVENT_VALUES, returning=[*_RETURNING, _NOTIFY]),
}
_WEBHOOKS = WebhookRow.__table__
# The active webhooks' filters, as one JSON array of [id, event types, model name pattern, read scope], in id order:
# PostgreSQL returns it with each event written, saving the outbox a round trip to read the webhooks.
_ACTIVE_WEBHOOKS = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(
                    _WEBHOOKS.c.id, _WEBHOOKS.c.event_types, _WEBHOOKS.c.model_name_pattern, _WEBHOOKS.c.read_scope
                ),
                _WEBHOOKS.c.id,
            ),
            type_=JSON(),
        )
    )
    .where(_WEBHOOKS.c.active)
    .scalar_subquery()
    .label("webhooks")
)
_ADD_EVENTS_WITH_WEBHOOKS = PreparedRows(_EVENTS, _EVENT_VALUES, returning=[*_RETURNING, _NOTIFY, _ACTIVE_WEBHOOKS])
_ACTIVE_WEBHOOK_LIST = PreparedRead(
    select(_WEBHOOKS.c.id, _WEBHOOKS.c.event_types, _WEBHOOKS.c.model_name_pattern, _WEBHOOKS.c.read_scope)
    .where(_WEBHOOKS.c.active)
    .order_by(_WEBHOOKS.c.id)
)

WebhookFilters = list[tuple[int, EventFilter]]


def _webhook_filters(rows: list[Any]) -> WebhookFilters:
    """(webhook id, the events it wants) from rows of [id, event types, model name pattern, read scope]."""
    return [
        (webhook_id, EventFilter(frozenset(types or ()), pattern, stored_scope(scope)))
        for webhook_id, types, pattern, scope in rows
    ]


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
        written = await _ADD_EVENTS[dialect_name(self._session)].run(self._session, _event_rows(events))
        return _numbered(events, written)

    async def add_all_with_webhooks(self, events: list[DomainEvent]) -> tuple[list[DomainEvent], WebhookFilters]:
        """``add_all``, and the active webhooks, each as its id and the events it wants: read in the same statement
        on PostgreSQL, where each is a round trip."""
        if not events:
            return [], []
        if dialect_name(self._session) != "postgresql":
            active = _webhook_filters(await _ACTIVE_WEBHOOK_LIST.all(self._session, {}))
            return await self.add_all(events), active
        await hold_chain_lock(self._session)
        written = await _ADD_EVENTS_WITH_WEBHOOKS.run(self._session, _event_rows(events))
        return _numbered(events, written), _webhook_filters(written[0].webhooks or [])

    async def after(self, seq: int, limit: int) -> list[DomainEvent]:
        """Events after a position in the outbox, oldest first."""
        return [to_event(row) for row in await _AFTER.all(self._session, {"seq": seq, "limit": limit})]

    async def head(self) -> int:
        return (await self._session.execute(select(func.coalesce(func.max(EventRow.seq), 0)))).scalar_one()


def _event_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    return [
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


def _numbered(events: list[DomainEvent], written: list[Any]) -> list[DomainEvent]:
    """``events`` with the ``seq`` each was given. Both databases number the rows of one INSERT ... VALUES in the
    order of the VALUES (SQLite's rowids, PostgreSQL's sequence as it runs the list), which neither documents: the
    order test in tests/db/test_prepared_writes.py runs on both. RETURNING may come in any order, so each seq is
    found by id."""
    numbered = {row.id: row.seq for row in written}
    return [replace(e, seq=numbered[e.id]) for e in events]
