"""What ``modelreg import mlflow`` imported (services/imports.py), by tracking server and MLflow name and version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import Stage, VersionStatus
from app.domain.imports import ImportedModel, ImportedVersion

from ..import_tables import MlflowImportRow
from ..tables import AliasRow, ModelRow, VersionRow

_MODEL = 0  # mlflow_version of the row that records the registered model itself


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def model(self, source: str, mlflow_name: str) -> ImportedModel | None:
        """The modelreg model an MLflow model became, with its imported versions and its aliases (None when it was
        not imported, or was deleted since)."""
        found = (
            await self._session.execute(
                select(ModelRow.id, ModelRow.name, ModelRow.next_version)
                .join(MlflowImportRow, MlflowImportRow.model_id == ModelRow.id)
                .where(
                    MlflowImportRow.tracking_uri == source,
                    MlflowImportRow.mlflow_name == mlflow_name,
                    MlflowImportRow.mlflow_version == _MODEL,
                )
            )
        ).first()
        if found is None:
            return None
        rows = await self._session.execute(
            select(
                MlflowImportRow.mlflow_version,
                VersionRow.id,
                VersionRow.version,
                VersionRow.status,
                VersionRow.stage,
                VersionRow.status_message,
            )
            .join(VersionRow, VersionRow.id == MlflowImportRow.version_id)
            .where(
                MlflowImportRow.tracking_uri == source,
                MlflowImportRow.mlflow_name == mlflow_name,
                MlflowImportRow.mlflow_version != _MODEL,
            )
        )
        versions = {
            row[0]: ImportedVersion(row[0], row[1], row[2], VersionStatus(row[3]), Stage(row[4]), row[5])
            for row in rows
        }
        aliases = await self._session.execute(
            select(AliasRow.alias, VersionRow.version)
            .join(VersionRow, VersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == found.id)
        )
        return ImportedModel(found.id, found.name, found.next_version, versions, {row[0]: row[1] for row in aliases})

    async def is_recorded(self, source: str, mlflow_name: str, mlflow_version: int) -> bool:
        row = await self._session.execute(
            select(MlflowImportRow.id).where(
                MlflowImportRow.tracking_uri == source,
                MlflowImportRow.mlflow_name == mlflow_name,
                MlflowImportRow.mlflow_version == mlflow_version,
            )
        )
        return row.first() is not None

    async def add(
        self,
        source: str,
        mlflow_name: str,
        mlflow_version: int | None,
        model_id: int,
        version_id: int | None,
        actor: str,
        now: datetime,
        original: dict[str, Any],
    ) -> None:
        """Record an imported model (``mlflow_version`` None) or version."""
        self._session.add(
            MlflowImportRow(
                tracking_uri=source,
                mlflow_name=mlflow_name,
                mlflow_version=_MODEL if mlflow_version is None else mlflow_version,
                model_id=model_id,
                version_id=version_id,
                imported_at=now,
                imported_by=actor,
                original=original,
            )
        )
        await self._session.flush()

    async def next_version(self, model_id: int) -> int:
        row = await self._session.execute(select(ModelRow.next_version).where(ModelRow.id == model_id))
        return int(row.scalar_one())

    async def skip_version_numbers(self, model_id: int, next_number: int) -> None:
        """Let the model's next version take ``next_number`` (never lower than it is)."""
        await self._session.execute(
            update(ModelRow)
            .where(ModelRow.id == model_id, ModelRow.next_version < next_number)
            .values(next_version=next_number)
        )
