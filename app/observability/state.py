"""Gauges of the registry's shared state, read from the database when a scrape asks (never per request): the webhook
outbox's backlog and its oldest pending delivery, dead letters, versions whose staged upload awaits verification,
the audit chain's length. Four indexed reads; every replica reports the same values (use ``max`` across them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.event_tables import WebhookDeliveryRow
from app.db.governance_tables import AuditEventRow
from app.db.tables import VersionRow

PENDING = "PENDING"
DEAD = "DEAD"
PENDING_REGISTRATION = "PENDING_REGISTRATION"


@dataclass(frozen=True)
class RegistryState:
    outbox_pending: int
    outbox_oldest_age_seconds: float
    dead_letters: int
    staged_pending: int
    audit_chain_length: int
    up: bool = True


async def read_state(database: Database, now: datetime | None = None) -> RegistryState:
    """The four reads, in one read transaction."""
    now = now or datetime.now(UTC)
    async with database.read_sessions() as session:
        backlog = select(func.count(), func.min(WebhookDeliveryRow.created_at))
        pending, oldest = (await session.execute(backlog.where(WebhookDeliveryRow.status == PENDING))).one()
        dead = await session.scalar(select(func.count()).where(WebhookDeliveryRow.status == DEAD))
        staged = await session.scalar(select(func.count()).where(VersionRow.status == PENDING_REGISTRATION))
        head = await session.scalar(select(func.max(AuditEventRow.seq)))
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return RegistryState(int(pending or 0), age, int(dead or 0), int(staged or 0), int(head or 0))


class StateCollector(Collector):
    """The values read for one scrape, as gauges (``up`` 0 when the database did not answer)."""

    def __init__(self, state: RegistryState | None) -> None:
        self.state = state

    def collect(self) -> list[Metric]:
        up = GaugeMetricFamily("modelreg_database_up", "1 when the database answered this scrape's reads")
        up.add_metric([], 1 if self.state else 0)
        if self.state is None:
            return [up]
        state = self.state
        return [
            up,
            GaugeMetricFamily(
                "modelreg_outbox_pending_deliveries", "Webhook deliveries waiting to be sent", state.outbox_pending
            ),
            GaugeMetricFamily(
                "modelreg_outbox_oldest_pending_age_seconds",
                "Age of the oldest webhook delivery still pending (0 when none)",
                state.outbox_oldest_age_seconds,
            ),
            GaugeMetricFamily(
                "modelreg_webhook_dead_letters", "Webhook deliveries whose retries ran out (DEAD)", state.dead_letters
            ),
            GaugeMetricFamily(
                "modelreg_staged_uploads_pending_verification",
                "Versions whose uploaded files wait for the server to verify them (PENDING_REGISTRATION)",
                state.staged_pending,
            ),
            GaugeMetricFamily(
                "modelreg_audit_chain_length", "Events in the audit log's hash chain", state.audit_chain_length
            ),
        ]
