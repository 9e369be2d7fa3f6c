"""Deployments: the current entries of each (model, environment) and every revision before."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime


class DeploymentRow(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="RESTRICT"))
    environment: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(256))

    __table_args__ = (UniqueConstraint("model_id", "environment"),)


class DeploymentEntryRow(Base):
    """A version served now; RESTRICT keeps a deployed version from being deleted underneath."""

    __tablename__ = "deployment_entries"

    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    traffic_percent: Mapped[int] = mapped_column(Integer)


class DeploymentRevisionRow(Base):
    __tablename__ = "deployment_revisions"

    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    # [{"versionId", "version", "role", "trafficPercent"}]: the entries of this revision
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(256))
