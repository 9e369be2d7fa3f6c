"""Webhooks and their deliveries of the outbox's events (events.py)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import NotFound
from app.domain.public_ids import global_id
from app.domain.queries import Direction, Page, PageRequest
from app.domain.read_scope import EVERYTHING, ReadScope
from app.domain.webhooks import Claim, Delivery, DeliveryStatus, NewWebhook, Webhook, WebhookChanges

from ..event_tables import EventRow, WebhookDeliveryRow, WebhookRow
from ..pagination import fetch_page
from ..read_scope import stored_scope
from .audit import hold_chain_lock
from .events import to_event

_WEBHOOKS = WebhookRow.__table__


def to_webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        row.id,
        row.url,
        frozenset(row.event_types or ()),
        row.model_name_pattern,
        row.secret_hint,
        row.description,
        row.active,
        row.created_at,
        row.created_by,
        row.updated_at,
        stored_scope(row.read_scope),
    )


def to_delivery(row: WebhookDeliveryRow, event: EventRow) -> Delivery:
    status = DeliveryStatus(row.status)
    return Delivery(
        row.id,
        row.webhook_id,
        event.id,
        event.type,
        status,
        row.attempts,
        row.created_at,
        row.next_attempt_at if status is DeliveryStatus.PENDING else None,
        row.last_attempt_at,
        row.last_status_code,
        row.last_latency_ms,
        row.last_error,
        row.delivered_at,
    )


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, new: NewWebhook, sealed_secret: str, actor: str, now: datetime, scope: ReadScope = EVERYTHING
    ) -> Webhook:
        row = WebhookRow(
            read_scope=None if scope.namespaces is None else " ".join(scope.namespaces),
            url=new.url,
            event_types=sorted(new.event_types),
            model_name_pattern=new.model_name_pattern,
            secret_sealed=sealed_secret,
            secret_hint=new.secret[-4:],
            description=new.description,
            active=new.active,
            created_at=now,
            created_by=actor,
            updated_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return to_webhook(row)

    async def _row(self, webhook_id: int) -> WebhookRow:
        """The row of a webhook the caller found in this transaction (``get``), or that a claim holds."""
        row = await self._session.get(WebhookRow, webhook_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no webhook has id {global_id('Webhook', webhook_id)}", field="id")
        return row

    async def get(self, webhook_id: int) -> Webhook | None:
        row = await self._session.get(WebhookRow, webhook_id, populate_existing=True)
        return None if row is None else to_webhook(row)

    async def update(
        self, webhook_id: int, changes: WebhookChanges, sealed_secret: str | None, now: datetime
    ) -> Webhook:
        row = await self._row(webhook_id)
        for name in ("url", "description", "active"):
            if getattr(changes, name) is not None:
                setattr(row, name, getattr(changes, name))
        if changes.event_types is not None:
            row.event_types = sorted(changes.event_types)
        if changes.model_name_pattern is not None:
            row.model_name_pattern = changes.model_name_pattern or None
        if sealed_secret is not None:
            assert changes.secret is not None, "a sealed secret is the sealed changes.secret"
            row.secret_sealed, row.secret_hint = sealed_secret, changes.secret[-4:]
        row.updated_at = now
        await self._session.flush()
        return to_webhook(row)

    async def delete(self, webhook_id: int) -> Webhook:
        """Delete a webhook and its deliveries. On PostgreSQL the audit chain's lock comes first, the order of every
        outbox writer (which holds it while adding deliveries): taken after the webhook's row, a writer adding a
        delivery for it waited for the row while this waited for the lock, a deadlock (issue 14, point 9)."""
        await hold_chain_lock(self._session)
        webhook = to_webhook(await self._row(webhook_id))
        await self._session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id))
        await self._session.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))
        return webhook

    async def target(self, webhook_id: int) -> tuple[str, str]:
        """(url, sealed secret) to send a delivery to."""
        row = await self._row(webhook_id)
        return row.url, row.secret_sealed

    async def add_deliveries(
        self, event_seq: int, webhook_ids: builtins.list[int], now: datetime
    ) -> builtins.list[int]:
        """PENDING deliveries of an event to the webhooks that still exist (in the order asked), under the audit
        chain's lock on PostgreSQL, as ``delete`` takes it: a webhook deleted meanwhile gets none, instead of a
        foreign key violation or a deadlock (issue 14, point 9)."""
        await hold_chain_lock(self._session)
        existing = set(
            (await self._session.execute(select(WebhookRow.id).where(WebhookRow.id.in_(webhook_ids)))).scalars()
        )
        rows = [
            WebhookDeliveryRow(
                webhook_id=webhook_id,
                event_seq=event_seq,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for webhook_id in webhook_ids
            if webhook_id in existing
        ]
        self._session.add_all(rows)
        await self._session.flush()
        return [row.id for row in rows]

    async def any_due(self, now: datetime) -> bool:
        """Whether a pending delivery is due and free (a read, through the status index: an idle dispatcher asks this
        instead of taking the write lock to claim nothing)."""
        query = (
            select(WebhookDeliveryRow.id)
            .where(
                WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                WebhookDeliveryRow.next_attempt_at <= now,
                or_(WebhookDeliveryRow.lease_until.is_(None), WebhookDeliveryRow.lease_until <= now),
            )
            .limit(1)
        )
        return (await self._session.execute(query)).first() is not None

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, room: dict[int, int], per_webhook: int
    ) -> builtins.list[Claim]:
        """Take up to ``limit`` due deliveries of active webhooks until ``lease_until``, at most ``room[webhook]``
        (else ``per_webhook``) for each webhook. Rows another dispatcher holds are skipped (``FOR UPDATE SKIP
        LOCKED`` on PostgreSQL; SQLite has one writer at a time)."""
        rank = func.row_number().over(
            partition_by=WebhookDeliveryRow.webhook_id,
            order_by=(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id),
        )
        candidates = (
            select(WebhookDeliveryRow.id, rank.label("rank"))
            .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
            .where(
                WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                WebhookDeliveryRow.next_attempt_at <= now,
                or_(WebhookDeliveryRow.lease_until.is_(None), WebhookDeliveryRow.lease_until <= now),
                WebhookRow.active.is_(True),
                WebhookDeliveryRow.webhook_id.not_in([hook for hook, free in room.items() if free <= 0]),
            )
            .subquery()
        )
        due = (
            select(WebhookDeliveryRow.id, WebhookDeliveryRow.webhook_id)
            .where(WebhookDeliveryRow.id.in_(select(candidates.c.id).where(candidates.c.rank <= per_webhook)))
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit * 2)
            .with_for_update(skip_locked=True)
        )
        taken: dict[int, int] = {}
        ids: list[int] = []
        for delivery_id, webhook_id in (await self._session.execute(due)).all():
            if len(ids) < limit and taken.get(webhook_id, 0) < room.get(webhook_id, per_webhook):
                taken[webhook_id] = taken.get(webhook_id, 0) + 1
                ids.append(delivery_id)
        if not ids:
            return []
        await self._session.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(ids)).values(lease_until=lease_until)
        )
        rows = await self._session.execute(
            select(WebhookDeliveryRow, EventRow)
            .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
            .where(WebhookDeliveryRow.id.in_(ids))
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
        )
        return [
            Claim(row[0].id, row[0].webhook_id, to_event(row[1]), row[0].attempts, row[0].created_at) for row in rows
        ]

    async def record_attempt(
        self,
        delivery_id: int,
        *,
        status: DeliveryStatus,
        now: datetime,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status.value,
            "attempts": WebhookDeliveryRow.attempts + 1,
            "last_attempt_at": now,
            "last_status_code": status_code,
            "last_latency_ms": latency_ms,
            "last_error": error,
            "lease_until": None,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        await self._session.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id).values(**values)
        )

    async def deliveries(
        self, webhook_id: int, status: DeliveryStatus | None, page: PageRequest, with_total: bool
    ) -> Page[Delivery]:
        """A webhook's deliveries, newest first."""
        query = (
            select(WebhookDeliveryRow, EventRow, WebhookDeliveryRow.id)
            .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
            .where(WebhookDeliveryRow.webhook_id == webhook_id)
        )
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status.value)
        return await fetch_page(
            self._session,
            query,
            list_name=f"webhook-deliveries/{webhook_id}",
            sort_key=WebhookDeliveryRow.id,
            id_column=WebhookDeliveryRow.id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: to_delivery(row[0], row[1]),
        )

    async def find_delivery(self, delivery_id: int) -> Delivery | None:
        row = (
            await self._session.execute(
                select(WebhookDeliveryRow, EventRow)
                .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
                .where(WebhookDeliveryRow.id == delivery_id)
            )
        ).one_or_none()
        return to_delivery(row[0], row[1]) if row else None

    async def delivery(self, delivery_id: int) -> Delivery:
        row = (
            await self._session.execute(
                select(WebhookDeliveryRow, EventRow)
                .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
                .where(WebhookDeliveryRow.id == delivery_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        return to_delivery(row[0], row[1])

    async def page(self, page: PageRequest, with_total: bool) -> Page[Webhook]:
        query = select(WebhookRow, WebhookRow.id)
        return await fetch_page(
            self._session,
            query,
            list_name="webhooks",
            sort_key=WebhookRow.id,
            id_column=WebhookRow.id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: to_webhook(row[0]),
        )

    async def event_seq(self, event_id: str) -> int | None:
        return (await self._session.execute(select(EventRow.seq).where(EventRow.id == event_id))).scalar_one_or_none()
