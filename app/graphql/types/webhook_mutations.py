"""Webhook mutations and their inputs."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain import webhooks

from ..context import Info
from .event_types import RegistryEventType, domain_event_types
from .webhooks import Webhook, WebhookDelivery, webhook_id


@strawberry.input(description="A new webhook.")
class CreateWebhookInput:
    url: str = strawberry.field(
        description="http(s) URL to POST events to. Private and loopback addresses are "
        "refused at delivery unless the server allows them."
    )
    secret: str = strawberry.field(
        description="Signing secret, 16-256 characters; the receiver verifies the "
        "`Modelreg-Signature` header with it. Never shown again."
    )
    events: list[RegistryEventType] | None = strawberry.field(
        default=None, description="Event types to receive (default: all)."
    )
    model_name_pattern: str | None = strawberry.field(
        default=None, description="Only models whose name matches (`fraud/*`)."
    )
    description: str | None = strawberry.field(default=None, description="Free text.")
    active: bool = strawberry.field(default=True, description="False to create it paused.")

    def to_domain(self) -> webhooks.NewWebhook:
        return webhooks.NewWebhook(
            self.url,
            self.secret,
            frozenset(domain_event_types(self.events) or ()),
            self.model_name_pattern,
            self.description,
            self.active,
        )


@strawberry.input(description="Changes to a webhook; only the fields given change.")
class UpdateWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook.")
    url: str | None = strawberry.field(default=None, description="New URL.")
    secret: str | None = strawberry.field(default=None, description="New signing secret (rotation).")
    events: list[RegistryEventType] | None = strawberry.field(
        default=None, description="New event types (empty list: all)."
    )
    model_name_pattern: str | None = strawberry.field(default=None, description="New pattern (empty: all models).")
    description: str | None = strawberry.field(default=None, description="New description.")
    active: bool | None = strawberry.field(default=None, description="Pause (false) or resume (true).")

    def to_domain(self) -> webhooks.WebhookChanges:
        return webhooks.WebhookChanges(
            self.url,
            self.secret,
            frozenset(domain_event_types(self.events) or ()) if self.events is not None else None,
            self.model_name_pattern,
            self.description,
            self.active,
        )


@strawberry.input(description="The webhook to delete.")
class DeleteWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook's global id.")


@strawberry.input(description="The webhook to ping.")
class PingWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook's global id.")


@strawberry.input(description="An event to send to a webhook again.")
class RedeliverWebhookEventInput:
    webhook_id: strawberry.ID = strawberry.field(description="The webhook's global id.")
    event_id: strawberry.ID = strawberry.field(description="The event's id (`eventId` of a delivery).")


@strawberry.type(description="The webhook created or changed.")
class WebhookPayload:
    webhook: Webhook = strawberry.field(description="The webhook.")


@strawberry.type(description="The webhook deleted.")
class DeleteWebhookPayload:
    deleted_id: strawberry.ID = strawberry.field(description="Global id it had.")


@strawberry.type(description="The delivery queued.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery = strawberry.field(description="The new delivery (PENDING).")


_Create = Annotated[CreateWebhookInput, strawberry.argument(description="The webhook.")]
_Update = Annotated[UpdateWebhookInput, strawberry.argument(description="The changes.")]
_Delete = Annotated[DeleteWebhookInput, strawberry.argument(description="The webhook.")]
_Ping = Annotated[PingWebhookInput, strawberry.argument(description="The webhook.")]
_Redeliver = Annotated[RedeliverWebhookEventInput, strawberry.argument(description="Webhook and event.")]


@strawberry.type(description="Webhook mutations.")
class WebhookMutations:
    @strawberry.mutation(description="Register a webhook. Requires webhook:manage.")
    async def create_webhook(self, info: Info, input: _Create) -> WebhookPayload:
        found = await info.context.services.webhooks.create(info.context.principal, input.to_domain())
        return WebhookPayload(webhook=Webhook(entity=found))

    @strawberry.mutation(description="Change a webhook (URL, secret, filters, pause). Requires webhook:manage.")
    async def update_webhook(self, info: Info, input: _Update) -> WebhookPayload:
        found = await info.context.services.webhooks.update(
            info.context.principal, webhook_id(input.id), input.to_domain()
        )
        return WebhookPayload(webhook=Webhook(entity=found))

    @strawberry.mutation(description="Delete a webhook and its delivery log. Requires webhook:manage.")
    async def delete_webhook(self, info: Info, input: _Delete) -> DeleteWebhookPayload:
        await info.context.services.webhooks.delete(info.context.principal, webhook_id(input.id))
        return DeleteWebhookPayload(deleted_id=input.id)

    @strawberry.mutation(description="Send a `webhook.ping` event to this webhook. Requires webhook:manage.")
    async def ping_webhook(self, info: Info, input: _Ping) -> WebhookDeliveryPayload:
        delivery = await info.context.services.webhooks.ping(info.context.principal, webhook_id(input.id))
        return WebhookDeliveryPayload(delivery=WebhookDelivery.of(delivery))

    @strawberry.mutation(description="Queue an event for a webhook again (a new delivery). Requires webhook:manage.")
    async def redeliver_webhook_event(self, info: Info, input: _Redeliver) -> WebhookDeliveryPayload:
        delivery = await info.context.services.webhooks.redeliver(
            info.context.principal, webhook_id(input.webhook_id, "webhookId"), input.event_id
        )
        return WebhookDeliveryPayload(delivery=WebhookDelivery.of(delivery))
