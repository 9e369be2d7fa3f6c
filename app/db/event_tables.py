"""The event outbox, webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime


class EventRow(Base):
    """One domain event, written in the transaction of the change; ``seq`` orders the outbox."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_subject: Mapped[str] = mapped_column(String(256))
    actor_kind: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str | None] = mapped_column(String(256), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookRow(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    model_name_pattern: Mapped[str | None] = mapped_column(String(256))
    # The signing secret, sealed with a key derived from MODELREG_SECRET_KEY: readable only by the dispatcher.
    secret_sealed: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the creator could read (scoped reads): namespaces separated by spaces, NULL for everything (0013).
    read_scope: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookDeliveryRow(Base):
    """One event for one webhook, from PENDING through attempts to DELIVERED or DEAD (dead-lettered).

    A dispatcher claims due rows by setting ``lease_until``; a claim that outlives its lease (the dispatcher died)
    is due again, so a crash between commit and delivery loses nothing."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)
