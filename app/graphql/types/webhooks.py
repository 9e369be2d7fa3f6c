"""Webhooks: the types, queries and mutations (docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.domain import webhooks
from app.domain.errors import BadUserInput

from ..context import Info
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    fetches_node,
    from_global_id,
    page_request,
    to_connection,
    to_global_id,
    wants_total,
)
from .common import Actor
from .event_types import RegistryEventType, registry_event_types


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Due at `nextAttemptAt` (or being sent now).")
    DELIVERED = strawberry.enum_value("DELIVERED", description="The receiver answered 2xx.")
    DEAD = strawberry.enum_value("DEAD", description="Retries ran out: dead-lettered; redeliver it by hand.")


@strawberry.type(description="One event sent (or to send) to one webhook, with its attempts.")
class WebhookDelivery(Node):
    id: strawberry.ID = strawberry.field(description="Globally unique opaque id.")
    event_id: strawberry.ID = strawberry.field(
        description="The event's id (`RegistryEvent.id`, the `Modelreg-Event-Id` header)."
    )
    event_type: RegistryEventType = strawberry.field(description="The event's type, such as TRANSITION_APPLIED.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next (PENDING only).")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last answer, if any.")
    last_latency_ms: int | None = strawberry.field(description="How long the last attempt took.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    delivered_at: datetime | None = strawberry.field(description="When the receiver accepted it.")

    @classmethod
    def of(cls, delivery: webhooks.Delivery) -> WebhookDelivery:
        return cls(
            id=to_global_id("WebhookDelivery", delivery.id),
            event_id=strawberry.ID(delivery.event_id),
            event_type=RegistryEventType.of(delivery.event_type),
            status=WebhookDeliveryStatus(delivery.status.value),
            attempts=delivery.attempts,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_latency_ms=delivery.last_latency_ms,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
        )


@strawberry.type(description="A receiver of registry events: signed HTTP POSTs, retried until delivered.")
class Webhook(Node):
    entity: strawberry.Private[webhooks.Webhook]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("Webhook", self.entity.id)

    @strawberry.field(description="Where events are POSTed.")
    def url(self) -> str:
        return self.entity.url

    @strawberry.field(description="Event types it receives; empty: every type.")
    def events(self) -> list[RegistryEventType]:
        return registry_event_types(sorted(self.entity.event_types))

    @strawberry.field(description="Only events of models whose name matches (`*` and `?` globs); null: all.")
    def model_name_pattern(self) -> str | None:
        return self.entity.model_name_pattern

    @strawberry.field(description="The last 4 characters of the signing secret (the secret is never shown).")
    def secret_hint(self) -> str:
        return self.entity.secret_hint

    @strawberry.field(description="Free text.")
    def description(self) -> str | None:
        return self.entity.description

    @strawberry.field(description="False while paused: events of the pause are not queued, queued ones wait.")
    def active(self) -> bool:
        return self.entity.active

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.entity.created_at

    @strawberry.field(description="Who created it.")
    def created_by(self) -> Actor:
        return Actor.of(self.entity.created_by)

    @strawberry.field(description="When it last changed.")
    def updated_at(self) -> datetime:
        return self.entity.updated_at

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        status: Annotated[WebhookDeliveryStatus | None, strawberry.argument(description="Only this status.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookDelivery]:
        page = await info.context.services.webhooks.deliveries(
            info.context.principal,
            self.entity.id,
            webhooks.DeliveryStatus(status.value) if status else None,
            page_request(first, after, last, before),
            wants_total(info),
        )
        return to_connection(page, WebhookDelivery.of)


def webhook_id(global_id: str, field: str = "id") -> int:
    type_name, key = from_global_id(global_id)
    if type_name != "Webhook":
        raise BadUserInput(f"{field} must be the id of a Webhook", field=field)
    return key


@strawberry.type(description="Webhook queries.")
class WebhookQueries:
    @strawberry.field(description="Webhooks, newest first. Requires webhook:manage.")
    async def webhooks(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[Webhook] | None:
        page = await info.context.services.webhooks.page(
            info.context.principal, page_request(first, after, last, before), wants_total(info)
        )
        return to_connection(page, lambda entity: Webhook(entity=entity))

    @strawberry.field(description="One webhook, or null. Requires webhook:manage.")
    async def webhook(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its global id.")]
    ) -> Webhook | None:
        found = await info.context.services.webhooks.get(info.context.principal, webhook_id(id))
        return Webhook(entity=found) if found else None


@fetches_node("Webhook")
async def _webhook_node(info: Info, key: int) -> Webhook | None:
    found = await info.context.services.webhooks.get(info.context.principal, key)
    return Webhook(entity=found) if found else None


@fetches_node("WebhookDelivery")
async def _delivery_node(info: Info, key: int) -> WebhookDelivery | None:
    found = await info.context.services.webhooks.delivery(info.context.principal, key)
    return WebhookDelivery.of(found) if found else None
