"""Builds the webhook dispatcher from settings, for ``modelreg serve`` and ``modelreg worker``."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from app.config import Settings
from app.domain.webhooks import RetryPolicy
from app.observability import tracing
from app.observability.metrics import record_webhook_attempt
from app.services.dispatch import Dispatcher
from app.services.ports import UnitOfWorkFactory

from .secrets import SealedSecrets, secret_key
from .sender import HttpWebhookSender

log = logging.getLogger("modelreg.webhooks")


@dataclass
class WebhookParts:
    secrets: SealedSecrets
    sender: HttpWebhookSender
    dispatcher: Dispatcher


def build_webhooks(settings: Settings, uow: UnitOfWorkFactory) -> WebhookParts:
    secrets = SealedSecrets(secret_key(settings))
    sender = HttpWebhookSender(settings.webhook_timeout, allow_private=settings.webhook_allow_private)
    tracer_provider = tracing.provider()
    if tracer_provider is not None:  # a client span per delivery, when OTEL_* turn traces on
        tracing.instrument_http_client(sender.http_client, tracer_provider)
    policy = RetryPolicy(period=timedelta(seconds=settings.webhook_retry_period))
    dispatcher = Dispatcher(
        uow, sender, secrets, policy, timeout=settings.webhook_timeout, on_attempt=record_webhook_attempt
    )
    return WebhookParts(secrets, sender, dispatcher)


async def run_worker(settings: Settings) -> None:
    """Deliver webhooks until SIGTERM or SIGINT, without serving HTTP (``modelreg worker``)."""
    from app.db.engine import create_database
    from app.db.uow import SqlUnitOfWorkFactory

    database = create_database(settings.effective_database_url, statement_timeout=settings.statement_timeout)
    tracer_provider = tracing.provider()
    if tracer_provider is not None:
        tracing.instrument_engines([database.writer], tracer_provider)
    parts = build_webhooks(settings, SqlUnitOfWorkFactory(database))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    metrics = None
    if settings.metrics_port is not None:  # the worker's own series (webhook deliveries) for Prometheus
        from app.observability.endpoint import MetricsListener

        metrics = MetricsListener(database, settings.host, settings.metrics_port)
        await metrics.start()
    parts.dispatcher.start()
    log.info("webhook worker started")
    try:
        await stop.wait()
    finally:
        if metrics is not None:
            await metrics.stop()
        await parts.dispatcher.stop()
        await parts.sender.close()
        await database.dispose()
        log.info("webhook worker stopped")
