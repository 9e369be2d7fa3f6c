"""Staged uploads and the record of production downloads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..tables import DownloadRow, UploadRow


class SqlArtifactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_upload(self, upload_id: str, actor: str, now: datetime, expires_at: datetime) -> None:
        self._session.add(UploadRow(id=upload_id, created_by=actor, created_at=now, expires_at=expires_at))
        await self._session.flush()

    async def unused_uploads(self, upload_ids: list[str], now: datetime, *, for_update: bool = False) -> set[str]:
        """Of the given ids, those that exist, have not expired and no version uses yet."""
        query = select(UploadRow.id).where(
            UploadRow.id.in_(upload_ids), UploadRow.version_id.is_(None), UploadRow.expires_at > now
        )
        if for_update:
            query = query.with_for_update()
        return set((await self._session.execute(query)).scalars())

    async def use_uploads(self, upload_ids: list[str], version_id: int) -> None:
        await self._session.execute(update(UploadRow).where(UploadRow.id.in_(upload_ids)).values(version_id=version_id))

    async def expired_uploads(self, now: datetime) -> list[str]:
        query = select(UploadRow.id).where(UploadRow.expires_at <= now, UploadRow.version_id.is_(None))
        return list((await self._session.execute(query)).scalars())

    async def forget_uploads(self, upload_ids: list[str]) -> None:
        await self._session.execute(delete(UploadRow).where(UploadRow.id.in_(upload_ids)))

    async def record_download(
        self, version_id: int, path: str | None, subject: str, subject_kind: str, now: datetime, request_id: str | None
    ) -> None:
        self._session.add(
            DownloadRow(
                version_id=version_id,
                path=path,
                subject=subject,
                subject_kind=subject_kind,
                downloaded_at=now,
                request_id=request_id,
            )
        )
        await self._session.flush()
