"""Versions registered from a source: where their files come from, and attaching them once copied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.artifacts import ArtifactFile
from app.domain.entities import ArtifactRef, VersionStatus

from ..sessions import rowcount
from ..tables import VersionFileRow, VersionRow, VersionSourceRow


class SqlVersionSourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, version_id: int, uri: str) -> None:
        self._session.add(VersionSourceRow(version_id=version_id, uri=uri))
        await self._session.flush()

    async def uris(self, version_ids: list[int]) -> dict[int, str]:
        """The source URI of each of the versions that were registered from one."""
        query = select(VersionSourceRow.version_id, VersionSourceRow.uri).where(
            VersionSourceRow.version_id.in_(version_ids)
        )
        return {row.version_id: row.uri for row in await self._session.execute(query)}

    async def pending(self) -> list[tuple[int, str]]:
        """(version id, source URI) of every version still waiting for its copy."""
        query = (
            select(VersionSourceRow.version_id, VersionSourceRow.uri)
            .join(VersionRow, VersionRow.id == VersionSourceRow.version_id)
            .where(
                VersionSourceRow.copied_at.is_(None),
                VersionRow.status == VersionStatus.PENDING_REGISTRATION.value,
            )
        )
        return [(row.version_id, row.uri) for row in await self._session.execute(query)]

    async def attach(
        self, version_id: int, files: Sequence[ArtifactFile], artifact: ArtifactRef, now: datetime
    ) -> bool:
        """The copied files become the version's manifest (once: False when another copier attached them first)."""
        claimed = await self._session.execute(
            update(VersionSourceRow)
            .where(VersionSourceRow.version_id == version_id, VersionSourceRow.copied_at.is_(None))
            .values(copied_at=now)
        )
        if not rowcount(claimed):
            return False
        self._session.add_all(
            VersionFileRow(version_id=version_id, path=f.path, digest=f.digest, size=f.size, media_type=f.media_type)
            for f in files
        )
        await self._session.execute(
            update(VersionRow)
            .where(VersionRow.id == version_id)
            .values(artifact_uri=artifact.uri, artifact_digest=artifact.digest, artifact_size=artifact.size)
        )
        await self._session.flush()
        return True
