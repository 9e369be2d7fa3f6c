"""What ``modelreg import mlflow`` brought over (services/imports.py), so a second run changes nothing and an
interrupted one continues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime


class MlflowImportRow(Base):
    """One registered model (``mlflow_version`` 0) or model version of one MLflow tracking server, and the modelreg
    model or version it became. ``original`` keeps what MLflow said of it (times in epoch milliseconds, the user,
    the stage, the run, the source). Deleting the modelreg model or version deletes the row: a later import brings
    it over again."""

    __tablename__ = "mlflow_imports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    tracking_uri: Mapped[str] = mapped_column(String(500))
    mlflow_name: Mapped[str] = mapped_column(String(256))
    mlflow_version: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True, nullable=True
    )
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(256))
    original: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("tracking_uri", "mlflow_name", "mlflow_version"),)
