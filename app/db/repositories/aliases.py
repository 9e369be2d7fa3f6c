"""Model aliases and the history of their moves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, Row, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import ModelAlias, ModelVersion
from app.domain.governance import VersionAt

from ..mapping import to_alias
from ..prepared import PreparedRead
from ..tables import AliasChangeRow, AliasRow, ModelRow, VersionRow

_ALIASES = AliasRow.__table__
_MODELS = ModelRow.__table__
_VERSIONS = VersionRow.__table__
_IDS = bindparam("ids", type_=Integer(), expanding=True)
# Core rows, the hot statements built once (see versions.py).
_ALIAS_ROWS = (
    select(*_ALIASES.c, _MODELS.c.name.label("model_name"), _VERSIONS.c.version)
    .join(_MODELS, _MODELS.c.id == _ALIASES.c.model_id)
    .join(_VERSIONS, _VERSIONS.c.id == _ALIASES.c.version_id)
)
# By name within each model or version; the model breaks ties between owners, so that the rows' order is one order
# (two models' `stable` came back in either order, and a test comparing two executions failed now and then).
_ALIAS_ORDER = (_ALIASES.c.alias, _ALIASES.c.model_id)
_OF_MODELS = PreparedRead(_ALIAS_ROWS.where(_ALIASES.c.model_id.in_(_IDS)).order_by(*_ALIAS_ORDER))
_OF_VERSIONS = PreparedRead(_ALIAS_ROWS.where(_ALIASES.c.version_id.in_(_IDS)).order_by(*_ALIAS_ORDER))


def _alias(row: Row) -> ModelAlias:
    return to_alias(row, row.model_name, row.version)


class SqlAliasRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, model_id: int, alias: str) -> ModelAlias | None:
        row = (
            await self._session.execute(_ALIAS_ROWS.where(AliasRow.model_id == model_id, AliasRow.alias == alias))
        ).first()
        return _alias(row) if row else None

    async def set(self, version: ModelVersion, alias: str, actor: str, now: datetime) -> ModelAlias:
        """Point ``alias`` at ``version`` and record the move (a no-op move is not recorded)."""
        current = await self.get(version.model_id, alias)
        if current is not None and current.version_id == version.id:
            return current
        await self._session.merge(
            AliasRow(model_id=version.model_id, alias=alias, version_id=version.id, updated_at=now, updated_by=actor)
        )
        self._session.add(
            AliasChangeRow(
                model_id=version.model_id,
                alias=alias,
                from_version=current.version if current else None,
                to_version=version.version,
                changed_at=now,
                changed_by=actor,
            )
        )
        await self._session.flush()
        return ModelAlias(
            model_id=version.model_id,
            model_name=version.model_name,
            alias=alias,
            version=version.version,
            version_id=version.id,
            updated_at=now,
            updated_by=actor,
        )

    async def delete(self, model_id: int, alias: str, actor: str, now: datetime) -> bool:
        current = await self.get(model_id, alias)
        if current is None:
            return False
        await self._session.execute(delete(AliasRow).where(AliasRow.model_id == model_id, AliasRow.alias == alias))
        self._session.add(
            AliasChangeRow(
                model_id=model_id,
                alias=alias,
                from_version=current.version,
                to_version=None,
                changed_at=now,
                changed_by=actor,
            )
        )
        await self._session.flush()
        return True

    async def for_models(self, model_ids: list[int]) -> dict[int, list[ModelAlias]]:
        result: dict[int, list[ModelAlias]] = {model_id: [] for model_id in model_ids}
        for row in await _OF_MODELS.all(self._session, {"ids": model_ids}):
            result[row.model_id].append(_alias(row))
        return result

    async def for_versions(self, version_ids: list[int]) -> dict[int, list[ModelAlias]]:
        result: dict[int, list[ModelAlias]] = {version_id: [] for version_id in version_ids}
        for row in await _OF_VERSIONS.all(self._session, {"ids": version_ids}):
            result[row.version_id].append(_alias(row))
        return result

    async def at(self, model_id: int, alias: str, moment: datetime) -> VersionAt | None:
        """The version the alias pointed at, at ``moment`` (None when it was not set), from the move history."""
        query = (
            select(AliasChangeRow)
            .where(
                AliasChangeRow.model_id == model_id, AliasChangeRow.alias == alias, AliasChangeRow.changed_at <= moment
            )
            .order_by(AliasChangeRow.changed_at.desc(), AliasChangeRow.id.desc())
            .limit(1)
        )
        row = (await self._session.execute(query)).scalar_one_or_none()
        if row is None or row.to_version is None:
            return None
        return VersionAt(version=row.to_version, since=row.changed_at, by=row.changed_by)
