"""Deployments, their entries and revisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.deployments import Deployment, DeploymentAction, DeploymentRole, Entry, Revision

from ..deployment_tables import DeploymentEntryRow, DeploymentRevisionRow, DeploymentRow
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
        entries = await self._session.execute(
            select(DeploymentEntryRow, VersionRow.version)
            .join(VersionRow, VersionRow.id == DeploymentEntryRow.version_id)
            .where(DeploymentEntryRow.deployment_id == row[0].id)
        )
        order = {DeploymentRole.PRIMARY: 0, DeploymentRole.CANARY: 1, DeploymentRole.SHADOW: 2}
        found = sorted(
            (Entry(e.version_id, number, DeploymentRole(e.role), e.traffic_percent) for e, number in entries),
            key=lambda entry: (order[entry.role], entry.version),
        )
        deployment = row[0]
        return Deployment(
            deployment.id,
            deployment.model_id,
            row[1],
            deployment.environment,
            deployment.revision,
            tuple(found),
            deployment.updated_at,
            deployment.updated_by,
        )

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

    async def history(self, deployment_id: int) -> list[Revision]:
        """Every revision, newest first."""
        rows = await self._session.execute(
            select(DeploymentRevisionRow)
            .where(DeploymentRevisionRow.deployment_id == deployment_id)
            .order_by(DeploymentRevisionRow.revision.desc())
        )
        return [
            Revision(
                row.revision,
                DeploymentAction(row.action),
                tuple(_entry(e) for e in row.entries),
                row.changed_at,
                row.changed_by,
            )
            for row in rows.scalars()
        ]

    async def environments_serving(self, version_ids: list[int]) -> dict[int, list[str]]:
        """For each version served somewhere now: the environments."""
        rows = await self._session.execute(
            select(DeploymentEntryRow.version_id, DeploymentRow.environment)
            .join(DeploymentRow, DeploymentRow.id == DeploymentEntryRow.deployment_id)
            .where(DeploymentEntryRow.version_id.in_(version_ids))
        )
        found: dict[int, list[str]] = {}
        for version_id, environment in rows:
            found.setdefault(version_id, []).append(environment)
        return found

    async def of_model(self, model_id: int) -> list[str]:
        """Environments where the model has a deployment (even an empty one)."""
        rows = await self._session.execute(select(DeploymentRow.environment).where(DeploymentRow.model_id == model_id))
        return list(rows.scalars())
