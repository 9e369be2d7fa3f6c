"""Webhook use cases: register receivers, change them, ping them, read and replay their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict

from app.domain.audit import AuditTarget
from app.domain.errors import NotFound
from app.domain.events import PING, DomainEvent
from app.domain.identity import Permission, Principal
from app.domain.public_ids import global_id
from app.domain.queries import Page, PageRequest, check_page
from app.domain.webhooks import Delivery, DeliveryStatus, NewWebhook, Webhook, WebhookChanges, check_public_target

from .audit import AuditTrail
from .common import utc_now
from .ports import Authorizer, Clock, SecretBox, UnitOfWork, UnitOfWorkFactory


def _target(webhook_id: int | None, url: str | None = None) -> AuditTarget:
    return AuditTarget("Webhook", str(webhook_id) if webhook_id is not None else None, url[:256] if url else None)


def _state(webhook: Webhook) -> dict:
    """What the audit log keeps of a webhook: never its secret, only the secret's last characters."""
    state = asdict(webhook)
    state["event_types"] = sorted(webhook.event_types)
    return state


def _one(delivery_ids: list[int], webhook_id: int) -> int:
    """The delivery added for one webhook; none when it was deleted since it was found (NOT_FOUND)."""
    if not delivery_ids:
        raise NotFound(f"no webhook has id {global_id('Webhook', webhook_id)}", field="id")
    return delivery_ids[0]


async def _find(uow: UnitOfWork, webhook_id: int) -> Webhook:
    webhook = await uow.webhooks.get(webhook_id)
    if webhook is None:
        raise NotFound(f"no webhook has id {global_id('Webhook', webhook_id)}", field="id")
    return webhook


class WebhookService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authorizer: Authorizer,
        secrets: SecretBox,
        trail: AuditTrail,
        clock: Clock = utc_now,
        max_page_size: int = 100,
        on_new_delivery: Callable[[], None] = lambda: None,
        allow_private_targets: bool = False,
    ) -> None:
        """``allow_private_targets`` (MODELREG_WEBHOOK_ALLOW_PRIVATE): accept URLs on non-public addresses."""
        self._uow = uow
        self._authorizer = authorizer
        self._secrets = secrets
        self._clock = clock
        self._trail = trail
        self._max_page_size = max_page_size
        self._on_new_delivery = on_new_delivery
        self._allow_private_targets = allow_private_targets

    async def create(self, principal: Principal, new: NewWebhook) -> Webhook:
        async with self._trail.attempt(principal, "webhook.create", _target(None, new.url)) as attempt:
            self._authorizer.require(principal, Permission.WEBHOOK_MANAGE)
            new.validate()
            if not self._allow_private_targets:
                check_public_target(new.url)
            async with attempt.transaction() as uow:
                webhook = await uow.webhooks.add(
                    new,
                    self._secrets.seal(new.secret),
                    principal.subject,
                    self._clock(),
                    self._authorizer.read_scope(principal),  # it delivers only what its creator may read
                )
                attempt.record(after=_state(webhook), target=_target(webhook.id, webhook.url))
        return webhook

    async def update(self, principal: Principal, webhook_id: int, changes: WebhookChanges) -> Webhook:
        async with self._trail.attempt(principal, "webhook.update", _target(webhook_id)) as attempt:
            self._authorizer.require(principal, Permission.WEBHOOK_MANAGE)
            changes.validate()
            if changes.url is not None and not self._allow_private_targets:
                check_public_target(changes.url)
            sealed = self._secrets.seal(changes.secret) if changes.secret is not None else None
            async with attempt.transaction() as uow:
                before = await _find(uow, webhook_id)
                webhook = await uow.webhooks.update(webhook_id, changes, sealed, self._clock())
                attempt.record(before=_state(before), after=_state(webhook), target=_target(webhook.id, webhook.url))
        return webhook

    async def delete(self, principal: Principal, webhook_id: int) -> Webhook:
        """Delete a webhook with its delivery log; pending deliveries are dropped."""
        async with self._trail.attempt(principal, "webhook.delete", _target(webhook_id)) as attempt:
            self._authorizer.require(principal, Permission.WEBHOOK_MANAGE)
            async with attempt.transaction() as uow:
                await _find(uow, webhook_id)
                webhook = await uow.webhooks.delete(webhook_id)
                attempt.record(before=_state(webhook), target=_target(webhook.id, webhook.url))
        return webhook

    async def ping(self, principal: Principal, webhook_id: int) -> Delivery:
        """Send a ``webhook.ping`` event to this webhook only, whatever its filter (and even when inactive)."""
        async with self._trail.attempt(principal, "webhook.ping", _target(webhook_id)) as attempt:
            self._authorizer.require(principal, Permission.WEBHOOK_MANAGE)
            now = self._clock()
            async with attempt.transaction() as uow:
                webhook = await _find(uow, webhook_id)
                event = await uow.events.add(
                    DomainEvent(
                        str(uuid.uuid4()),
                        PING.value,
                        now,
                        principal.subject,
                        principal.kind.value,
                        None,
                        None,
                        {"webhookId": webhook.id, "url": webhook.url},
                    )
                )
                delivery_id = _one(await uow.webhooks.add_deliveries(event.position, [webhook.id], now), webhook_id)
                delivery = await uow.webhooks.delivery(delivery_id)
                attempt.record(
                    after={"eventId": event.id, "deliveryId": delivery_id}, target=_target(webhook.id, webhook.url)
                )
        self._on_new_delivery()
        return delivery

    async def redeliver(self, principal: Principal, webhook_id: int, event_id: str) -> Delivery:
        """Queue an event for this webhook again (a new delivery), say after a dead letter was fixed."""
        async with self._trail.attempt(principal, "webhook.redeliver", _target(webhook_id)) as attempt:
            self._authorizer.require(principal, Permission.WEBHOOK_MANAGE)
            now = self._clock()
            async with attempt.transaction() as uow:
                webhook = await _find(uow, webhook_id)
                seq = await uow.webhooks.event_seq(event_id)
                if seq is None:
                    raise NotFound(f"no event has id {event_id[:64]!r}", field="eventId")
                delivery_id = _one(await uow.webhooks.add_deliveries(seq, [webhook.id], now), webhook_id)
                delivery = await uow.webhooks.delivery(delivery_id)
                attempt.record(
                    after={"eventId": event_id, "deliveryId": delivery_id}, target=_target(webhook.id, webhook.url)
                )
        self._on_new_delivery()
        return delivery

    # Reads: webhooks name internal URLs, so reading them needs webhook:manage too (denials audited).

    async def _require(self, principal: Principal) -> None:
        await self._trail.require(self._authorizer, principal, Permission.WEBHOOK_MANAGE, "webhook.read")

    async def page(self, principal: Principal, page: PageRequest, with_total: bool) -> Page[Webhook]:
        await self._require(principal)
        check_page(page, self._max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.webhooks.page(page, with_total)

    async def get(self, principal: Principal, webhook_id: int) -> Webhook | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.webhooks.get(webhook_id)

    async def delivery(self, principal: Principal, delivery_id: int) -> Delivery | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.webhooks.find_delivery(delivery_id)

    async def deliveries(
        self, principal: Principal, webhook_id: int, status: DeliveryStatus | None, page: PageRequest, with_total: bool
    ) -> Page[Delivery]:
        await self._require(principal)
        check_page(page, self._max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.webhooks.deliveries(webhook_id, status, page, with_total)
