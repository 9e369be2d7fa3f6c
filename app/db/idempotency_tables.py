"""Idempotency keys of retried mutations (services/idempotency.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime


class IdempotencyKeyRow(Base):
    """One caller's key for one mutation: written in the transaction of the work it guards, so both or neither."""

    __tablename__ = "idempotency_keys"

    subject: Mapped[str] = mapped_column(String(256), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
