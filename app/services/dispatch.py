"""The webhook dispatcher: claims due deliveries from the database and sends them, at least once.

It runs inside ``modelreg serve`` and as ``modelreg worker``; any number of them share the outbox. A claim is a
lease: a dispatcher that dies mid-delivery leaves rows whose lease runs out, and another (or the restarted one)
sends them again, so receivers deduplicate by event id. Slow receivers hold at most ``per_webhook`` slots each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from app.domain.events import DomainEvent
from app.domain.webhooks import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    Claim,
    DeliveryStatus,
    RetryPolicy,
    sign,
)

from .common import utc_now
from .ports import Clock, SecretBox, UnitOfWorkFactory
from .waiting import wait_at_most

log = logging.getLogger("modelreg.webhooks")


class SendOutcome(Protocol):
    @property
    def status_code(self) -> int | None: ...
    @property
    def latency_ms(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def ok(self) -> bool: ...


class WebhookSender(Protocol):
    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendOutcome: ...


def delivery_body(event: DomainEvent) -> bytes:
    """What a receiver gets: the event as JSON (docs/events.md)."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "occurredAt": event.occurred_at.isoformat(),
            "actor": {"subject": event.actor_subject, "kind": event.actor_kind},
            "modelName": event.model_name,
            "version": event.version,
            "data": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sender: WebhookSender,
        secrets: SecretBox,
        policy: RetryPolicy,
        *,
        timeout: float,
        clock: Clock = utc_now,
        concurrency: int = 32,
        per_webhook: int = 4,
        poll_interval: float = 0.5,
        on_attempt: Callable[[str, int], None] | None = None,
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._secrets = secrets
        self._policy = policy
        self._clock = clock
        self._lease = timedelta(seconds=timeout * 2 + 5)  # longer than any send: a live claim never expires
        self._concurrency = concurrency
        self._per_webhook = per_webhook
        self._poll_interval = poll_interval
        self._on_attempt = on_attempt  # (outcome: delivered, retry or dead; attempt number), for metrics
        self._inflight: dict[asyncio.Task, int] = {}  # task -> webhook id
        self._runner: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._runner = asyncio.create_task(self.run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        tasks = [task for task in (self._runner, *self._inflight) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until the deliveries being sent now are settled (for shutdown and tests)."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed = await self.dispatch_due()
            except Exception as error:  # noqa: BLE001 - a database hiccup must not end the dispatcher
                log.warning("dispatch failed, retrying", extra={"error_type": type(error).__name__})
                claimed = 0
            if not claimed:  # nothing due, or no room: a finished send or a new delivery wakes us early
                await wait_at_most(self._wake, self._poll_interval)

    async def dispatch_due(self) -> int:
        """Claim what there is room for and start sending it; the number of deliveries claimed."""
        free = self._concurrency - len(self._inflight)
        if free <= 0:
            return 0
        sending = Counter(self._inflight.values())
        room = {hook: self._per_webhook - count for hook, count in sending.items()}
        now = self._clock()
        async with self._uow(write=False) as reader:
            if not await reader.webhooks.any_due(now):
                return 0  # idle: no write transaction (on SQLite, no write lock) to claim nothing
        async with self._uow(write=True) as uow:
            claims = await uow.webhooks.claim_due(now, now + self._lease, free, room, self._per_webhook)
            targets = {hook: await uow.webhooks.target(hook) for hook in {claim.webhook_id for claim in claims}}
            await uow.commit()
        for claim in claims:
            task = asyncio.create_task(self._deliver(claim, targets[claim.webhook_id]))
            self._inflight[task] = claim.webhook_id
            task.add_done_callback(self._finished)
        return len(claims)

    def _finished(self, task: asyncio.Task) -> None:
        self._inflight.pop(task, None)
        self._wake.set()  # a slot is free

    async def _deliver(self, claim: Claim, target: tuple[str, str]) -> None:
        url, sealed = target
        event = claim.event
        body = delivery_body(event)
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event.id,
            EVENT_TYPE_HEADER: event.type,
            DELIVERY_ID_HEADER: str(claim.delivery_id),
            SIGNATURE_HEADER: sign(self._secrets.open(sealed), int(time.time()), body),
        }
        result = await self._sender.send(url, body, headers)
        now = self._clock()
        if result.ok:
            status, next_at = DeliveryStatus.DELIVERED, None
        else:
            next_at = self._policy.next_attempt(claim.attempts + 1, claim.created_at, now)
            status = DeliveryStatus.PENDING if next_at else DeliveryStatus.DEAD
        async with self._uow(write=True) as uow:
            await uow.webhooks.record_attempt(
                claim.delivery_id,
                status=status,
                now=now,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                error=result.error,
                next_attempt_at=next_at,
            )
            await uow.commit()
        if self._on_attempt is not None:
            outcome = {DeliveryStatus.DELIVERED: "delivered", DeliveryStatus.DEAD: "dead"}.get(status, "retry")
            self._on_attempt(outcome, claim.attempts + 1)
        log.info(
            "webhook delivery",
            extra={
                "delivery_id": claim.delivery_id,
                "event_type": event.type,
                "status": status.value,
                "status_code": result.status_code,
                "latency_ms": result.latency_ms,
            },
        )
