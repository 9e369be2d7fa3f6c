"""Subscriptions: registry events, live over WebSocket (graphql-transport-ws) at /graphql (docs/events.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.domain import events
from app.domain.errors import BadUserInput

from ..context import Info
from .common import PrincipalKind


@strawberry.input(description="Which events to receive; every condition given must hold.")
class EventFilterInput:
    types: list[str] | None = strawberry.field(
        default=None,
        description="Event types such as `version.ready` or `transition.applied` (null or empty: every type).",
    )
    model_name: str | None = strawberry.field(
        default=None,
        description="Only events about models named so: an exact name or a glob with `*` and `?` "
        "(`fraud/*`). Null: every model, and events about none (lineage).",
    )


@strawberry.type(description="Who made a change.")
class EventActor:
    subject: str = strawberry.field(description="Subject of the caller's token (`modelreg` for the server itself).")
    kind: PrincipalKind = strawberry.field(description="A person or a machine identity.")


@strawberry.type(description="A change in the registry, as webhooks receive it (docs/events.md).")
class Event:
    entity: strawberry.Private[events.DomainEvent]

    @strawberry.field(description="Unique id of the event (webhooks send it as `Modelreg-Event-Id`).")
    def id(self) -> str:
        return self.entity.id

    @strawberry.field(description="What happened, such as `version.created` or `transition.applied`.")
    def type(self) -> str:
        return self.entity.type

    @strawberry.field(description="Position in the event log; subscribe with `after:` it to resume after this event.")
    def sequence(self) -> float:
        return self.entity.position

    @strawberry.field(description="When the change was made.")
    def occurred_at(self) -> datetime:
        return self.entity.occurred_at

    @strawberry.field(description="Who made it.")
    def actor(self) -> EventActor:
        return EventActor(subject=self.entity.actor_subject, kind=PrincipalKind(self.entity.actor_kind))

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


_FILTER = Annotated[EventFilterInput | None, strawberry.argument(description="Which events (default: all).")]
_AFTER = Annotated[
    float | None,
    strawberry.argument(
        description="Start after this `sequence` (a resumed subscription passes the last one it received): events "
        "already stored are sent first. Default: only events from now on."
    ),
]


async def _as_graphql(stream: AsyncGenerator[events.DomainEvent, None]) -> AsyncGenerator[Event, None]:
    async with aclosing(stream):
        async for event in stream:
            yield Event(entity=event)


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
    async def events(self, info: Info, filter: _FILTER = None, after: _AFTER = None) -> AsyncGenerator[Event, None]:
        if after is not None and not float(after).is_integer():
            raise BadUserInput("after is an event sequence number: a whole number", field="after")
        stream = await info.context.services.events.subscribe(
            info.context.principal,
            types=filter.types if filter else None,
            model_name=filter.model_name if filter else None,
            after=None if after is None else int(after),
        )
        return _as_graphql(stream)
