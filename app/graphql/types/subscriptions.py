"""Subscriptions: registry events, live over WebSocket (graphql-transport-ws) at /graphql (docs/events.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.domain import events

from ..context import Info
from .common import Actor, Long, PrincipalKind
from .event_types import RegistryEventType, domain_event_types


@strawberry.input(description="Which registry events to receive; every condition given must hold.")
class RegistryEventFilter:
    types: list[RegistryEventType] | None = strawberry.field(
        default=None,
        description="Event types such as VERSION_READY or TRANSITION_APPLIED (null or empty: every type). "
        "WEBHOOK_PING is never sent to subscribers and is refused here.",
    )
    model_name: str | None = strawberry.field(
        default=None,
        description="Only events about models named so: an exact name or a glob with `*` and `?` "
        "(`fraud/*`). Null: every model, and events about none (lineage).",
    )


@strawberry.type(description="A change in the registry, as webhooks receive it (docs/events.md).")
class RegistryEvent:
    entity: strawberry.Private[events.DomainEvent]

    @strawberry.field(
        description="Unique id of the event (webhooks send it as `Modelreg-Event-Id` and `id`; "
        "redeliverWebhookEvent takes it)."
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.entity.id)

    @strawberry.field(
        description="What happened, such as VERSION_CREATED or TRANSITION_APPLIED (webhook bodies: "
        "`version.created`, `transition.applied`)."
    )
    def type(self) -> RegistryEventType:
        return RegistryEventType.of(self.entity.type)

    @strawberry.field(description="Position in the event log; subscribe with `after:` it to resume after this event.")
    def sequence(self) -> Long:
        return Long(self.entity.position)

    @strawberry.field(description="When the change was made.")
    def occurred_at(self) -> datetime:
        return self.entity.occurred_at

    @strawberry.field(description="Who made it.")
    def actor(self) -> Actor:
        return Actor.of(self.entity.actor_subject, PrincipalKind(self.entity.actor_kind))

    @strawberry.field(description="The model it is about, if any.")
    def model_name(self) -> str | None:
        return self.entity.model_name

    @strawberry.field(description="The version it is about, if any.")
    def version(self) -> int | None:
        return self.entity.version

    @strawberry.field(
        description="The webhook body's `data`: the version's state right after the change "
        "(`stage`, `status`, `aliases`, `manifestDigest`), the action and its "
        "before and after."
    )
    def data(self) -> JSON:
        return JSON(self.entity.payload)


_FILTER = Annotated[RegistryEventFilter | None, strawberry.argument(description="Which events (default: all).")]
_AFTER = Annotated[
    Long | None,
    strawberry.argument(
        description="Start after this `sequence` (a resumed subscription passes the last one it received): events "
        "already stored are sent first. Default: only events from now on."
    ),
]


async def _as_graphql(stream: AsyncGenerator[events.DomainEvent, None]) -> AsyncGenerator[RegistryEvent, None]:
    async with aclosing(stream):
        async for event in stream:
            yield RegistryEvent(entity=event)


@strawberry.type(
    description="Follow the registry live: over WebSocket at /graphql with the graphql-transport-ws "
    'protocol, the token in the `connection_init` payload (`{"Authorization": '
    '"Bearer <JWT>"}`).'
)
class Subscription:
    @strawberry.subscription(
        description="Registry events as they are committed, on every server replica, oldest "
        "first. The connection closes (4403) when its token expires: reconnect "
        "and resume with `after`. Requires registry:read."
    )
    async def events(
        self, info: Info, filter: _FILTER = None, after: _AFTER = None
    ) -> AsyncGenerator[RegistryEvent, None]:
        stream = await info.context.services.events.subscribe(
            info.context.principal,
            types=domain_event_types(filter.types) if filter else None,
            model_name=filter.model_name if filter else None,
            after=after,
        )
        return _as_graphql(stream)
