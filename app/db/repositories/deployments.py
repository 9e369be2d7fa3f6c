"""Deployments, their entries and revisions."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.deployments import (
    Deployment,
    DeploymentAction,
    DeploymentFilter,
    DeploymentOrder,
    DeploymentOrderField,
    DeploymentRole,
    Entry,
    Revision,
)
from app.domain.queries import Direction, Page, PageRequest
from app.domain.read_scope import EVERYTHING, ReadScope

from ..deployment_tables import DeploymentEntryRow, DeploymentRevisionRow, DeploymentRow
from ..filters import text_conditions
from ..pagination import fetch_page
from ..read_scope import name_in_scope
from ..tables import ModelRow, VersionRow


def _entry_json(entry: Entry) -> dict:
    return {
        "versionId": entry.version_id,
        "version": entry.version,
        "role": entry.role.value,
        "trafficPercent": entry.traffic_percent,
    }


def _entry(data: dict) -> Entry:
    return Entry(data["versionId"], data["version"], DeploymentRole(data["role"]), data["trafficPercent"])


def _revision(row: DeploymentRevisionRow) -> Revision:
    return Revision(
        row.revision,
        DeploymentAction(row.action),
        tuple(_entry(e) for e in row.entries),
        row.changed_at,
        row.changed_by,
    )


# What is served first: the primary, then the canary, then shadows (each by version number).
_ROLE_ORDER = {DeploymentRole.PRIMARY: 0, DeploymentRole.CANARY: 1, DeploymentRole.SHADOW: 2}
_ORDER_COLUMNS = {
    DeploymentOrderField.UPDATED_AT: DeploymentRow.updated_at,
    DeploymentOrderField.MODEL_NAME: ModelRow.name,
    DeploymentOrderField.ENVIRONMENT: DeploymentRow.environment,
}


class SqlDeploymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, model_id: int, environment: str) -> Deployment | None:
        row = (
            await self._session.execute(
                select(DeploymentRow, ModelRow.name)
                .join(ModelRow, ModelRow.id == DeploymentRow.model_id)
                .where(DeploymentRow.model_id == model_id, DeploymentRow.environment == environment)
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            return None
        return (await self._with_entries([(row[0], row[1])]))[0]

    async def get_many(self, ids: builtins.list[int]) -> dict[int, Deployment]:
        rows = await self._session.execute(
            select(DeploymentRow, ModelRow.name)
            .join(ModelRow, ModelRow.id == DeploymentRow.model_id)
            .where(DeploymentRow.id.in_(ids))
        )
        return {found.id: found for found in await self._with_entries([(row[0], row[1]) for row in rows])}

    async def list(
        self,
        filter: DeploymentFilter,
        order: DeploymentOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
    ) -> Page[Deployment]:
        sort_key = _ORDER_COLUMNS[order.field]
        conditions = [*text_conditions(ModelRow.name, filter.model_name), *name_in_scope(ModelRow.name, scope)]
        if filter.environments:
            conditions.append(DeploymentRow.environment.in_(filter.environments))
        if filter.canary is not None:
            canary = exists().where(
                DeploymentEntryRow.deployment_id == DeploymentRow.id,
                DeploymentEntryRow.role == DeploymentRole.CANARY.value,
            )
            conditions.append(canary if filter.canary else ~canary)
        query = (
            select(DeploymentRow, ModelRow.name, sort_key)
            .join(ModelRow, ModelRow.id == DeploymentRow.model_id)
            .where(*conditions)
        )
        rows = await fetch_page(
            self._session,
            query,
            list_name=f"deployments/{order.field.value}",
            sort_key=sort_key,
            id_column=DeploymentRow.id,
            direction=order.direction,
            page=page,
            with_total=with_total,
            convert=lambda row: (row[0], row[1]),
        )
        found = await self._with_entries([item for _, item in rows.items])
        return replace(
            rows, items=[(cursor, deployment) for (cursor, _), deployment in zip(rows.items, found, strict=True)]
        )

    async def _with_entries(self, rows: builtins.list[tuple[DeploymentRow, str]]) -> builtins.list[Deployment]:
        """The deployments of ``rows`` (each with its model's name), with their entries read in one statement."""
        if not rows:
            return []
        entries = await self._session.execute(
            select(DeploymentEntryRow, VersionRow.version)
            .join(VersionRow, VersionRow.id == DeploymentEntryRow.version_id)
            .where(DeploymentEntryRow.deployment_id.in_([row.id for row, _ in rows]))
        )
        by_deployment: dict[int, builtins.list[Entry]] = {}
        for e, number in entries:
            by_deployment.setdefault(e.deployment_id, []).append(
                Entry(e.version_id, number, DeploymentRole(e.role), e.traffic_percent)
            )
        return [
            Deployment(
                row.id,
                row.model_id,
                model_name,
                row.environment,
                row.revision,
                tuple(
                    sorted(by_deployment.get(row.id, []), key=lambda entry: (_ROLE_ORDER[entry.role], entry.version))
                ),
                row.updated_at,
                row.updated_by,
            )
            for row, model_name in rows
        ]

    async def save(
        self,
        model_id: int,
        environment: str,
        entries: tuple[Entry, ...],
        action: DeploymentAction,
        actor: str,
        now: datetime,
    ) -> None:
        """Make ``entries`` the deployment's next revision (its first, if it is new)."""
        row = (
            await self._session.execute(
                select(DeploymentRow).where(
                    DeploymentRow.model_id == model_id, DeploymentRow.environment == environment
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = DeploymentRow(model_id=model_id, environment=environment, revision=0)
            self._session.add(row)
        row.revision += 1
        row.updated_at, row.updated_by = now, actor
        await self._session.flush()
        await self._session.execute(delete(DeploymentEntryRow).where(DeploymentEntryRow.deployment_id == row.id))
        self._session.add_all(
            DeploymentEntryRow(
                deployment_id=row.id,
                version_id=entry.version_id,
                role=entry.role.value,
                traffic_percent=entry.traffic_percent,
            )
            for entry in entries
        )
        self._session.add(
            DeploymentRevisionRow(
                deployment_id=row.id,
                revision=row.revision,
                action=action.value,
                entries=[_entry_json(entry) for entry in entries],
                changed_at=now,
                changed_by=actor,
            )
        )
        await self._session.flush()

    async def history(self, deployment_id: int) -> builtins.list[Revision]:
        """Every revision, newest first."""
        rows = await self._session.execute(
            select(DeploymentRevisionRow)
            .where(DeploymentRevisionRow.deployment_id == deployment_id)
            .order_by(DeploymentRevisionRow.revision.desc())
        )
        return [_revision(row) for row in rows.scalars()]

    async def history_page(self, deployment_id: int, page: PageRequest, with_total: bool) -> Page[Revision]:
        """One page of the revisions, newest first."""
        return await fetch_page(
            self._session,
            select(DeploymentRevisionRow, DeploymentRevisionRow.revision).where(
                DeploymentRevisionRow.deployment_id == deployment_id
            ),
            list_name=f"deployment-history/{deployment_id}",
            sort_key=DeploymentRevisionRow.revision,
            id_column=DeploymentRevisionRow.revision,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: _revision(row[0]),
            row_id=lambda row: row[0].revision,
        )

    async def revision(self, deployment_id: int, number: int) -> Revision | None:
        row = await self._session.get(DeploymentRevisionRow, (deployment_id, number))
        return _revision(row) if row else None

    async def environments_serving(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[str]]:
        """For each version served somewhere now: the environments."""
        rows = await self._session.execute(
            select(DeploymentEntryRow.version_id, DeploymentRow.environment)
            .join(DeploymentRow, DeploymentRow.id == DeploymentEntryRow.deployment_id)
            .where(DeploymentEntryRow.version_id.in_(version_ids))
        )
        found: dict[int, builtins.list[str]] = {}
        for version_id, environment in rows:
            found.setdefault(version_id, []).append(environment)
        return found

    async def of_model(self, model_id: int) -> builtins.list[str]:
        """Environments that serve the model now: its deployments with entries (not those it was undeployed from)."""
        rows = await self._session.execute(
            select(DeploymentRow.environment)
            .where(
                DeploymentRow.model_id == model_id,
                exists().where(DeploymentEntryRow.deployment_id == DeploymentRow.id),
            )
            .order_by(DeploymentRow.environment)
        )
        return list(rows.scalars())

    async def forget_model(self, model_id: int) -> None:
        """Delete the model's deployments with their histories (before the model itself: none may serve it)."""
        ids = select(DeploymentRow.id).where(DeploymentRow.model_id == model_id).scalar_subquery()
        await self._session.execute(delete(DeploymentEntryRow).where(DeploymentEntryRow.deployment_id.in_(ids)))
        await self._session.execute(delete(DeploymentRevisionRow).where(DeploymentRevisionRow.deployment_id.in_(ids)))
        await self._session.execute(delete(DeploymentRow).where(DeploymentRow.model_id == model_id))
