"""The unit of work: one session, one transaction, and the only place that commits."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .engine import Database
from .repositories.aliases import SqlAliasRepository
from .repositories.artifacts import SqlArtifactRepository
from .repositories.models import SqlModelRepository
from .repositories.versions import SqlVersionRepository


class SqlUnitOfWork:
    """Repositories over one session. Leaving the block without ``commit()`` rolls back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.models = SqlModelRepository(self._session)
        self.versions = SqlVersionRepository(self._session)
        self.aliases = SqlAliasRepository(self._session)
        self.artifacts = SqlArtifactRepository(self._session)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()


class SqlUnitOfWorkFactory:
    """Hands out units of work: writes go to the writer engine, reads to the reader."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def __call__(self, *, write: bool) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._database.write_sessions if write else self._database.read_sessions)
