"""The unit of work: one session, one transaction, and the only place that commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .engine import Database, is_sqlite
from .repositories.aliases import SqlAliasRepository
from .repositories.artifacts import SqlArtifactRepository
from .repositories.audit import SqlAuditRepository
from .repositories.deployments import SqlDeploymentRepository
from .repositories.documents import SqlDocumentRepository
from .repositories.events import SqlEventRepository
from .repositories.idempotency import SqlIdempotencyRepository
from .repositories.imports import SqlImportRepository
from .repositories.lineage import SqlLineageRepository
from .repositories.lineage_walks import SqlLineageWalks
from .repositories.models import SqlModelRepository
from .repositories.related import SqlRelatedReads
from .repositories.sources import SqlVersionSourceRepository
from .repositories.transitions import SqlTransitionRepository
from .repositories.versions import SqlVersionRepository
from .repositories.webhooks import SqlWebhookRepository

log = logging.getLogger("modelreg.db")


class SqlUnitOfWork:
    """Repositories over one session. Leaving the block without ``commit()`` rolls back. Read units only read: on
    PostgreSQL their sessions run in autocommit (db/engine.py), so a write there would not wait for ``commit()``.

    ``after_commit(callback)`` runs a callback once the transaction has committed (never after a rollback): the
    event outbox uses it to wake this process's subscriptions (services/event_feed.py).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], queue: asyncio.Lock | None = None) -> None:
        self._sessions = sessions
        self._queue = queue
        self._session: AsyncSession | None = None
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> Self:
        if self._queue is not None:
            await self._queue.acquire()
        try:
            self._session = self._sessions()
        except BaseException:
            self._release_queue()
            raise
        self.models = SqlModelRepository(self._session)
        self.versions = SqlVersionRepository(self._session)
        self.aliases = SqlAliasRepository(self._session)
        self.related = SqlRelatedReads(self._session)
        self.artifacts = SqlArtifactRepository(self._session)
        self.transitions = SqlTransitionRepository(self._session)
        self.documents = SqlDocumentRepository(self._session)
        self.audit = SqlAuditRepository(self._session)
        self.lineage = SqlLineageRepository(self._session)
        self.walks = SqlLineageWalks(self._session)
        self.events = SqlEventRepository(self._session)
        self.webhooks = SqlWebhookRepository(self._session)
        self.deployments = SqlDeploymentRepository(self._session)
        self.idempotency = SqlIdempotencyRepository(self._session)
        self.sources = SqlVersionSourceRepository(self._session)
        self.imports = SqlImportRepository(self._session)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        try:
            try:
                await self._session.rollback()
            finally:
                await self._session.close()
        finally:
            # Whatever the rollback or the close raised (a second cancellation, a broken connection), the next
            # writer must get its turn: a queue left locked would stall every write of this process.
            self._session = None
            self._after_commit = []  # rolled back: nothing happened to tell anyone about
            self._release_queue()

    def _release_queue(self) -> None:
        if self._queue is not None:
            self._queue.release()

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
        if (shared := _shared_reads.get()) is not None:
            shared.stale = True  # the request's shared read snapshot predates this write
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - the change is committed; a callback must not undo the answer
                log.error("after-commit callback failed", extra={"error_type": type(error).__name__})

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (quick, synchronous) right after this transaction commits; forgotten on rollback."""
        self._after_commit.append(callback)


class SharedReads:
    """One read unit of work for a whole request, opened on first use and lent to one reader at a time.

    A GraphQL request resolves its fields through several DataLoaders; each batch used to open its own session,
    transaction and pooled connection (9 for the model page). They now take turns on one. A write committed in
    the same request marks it stale: the next reader gets a fresh transaction, so it sees the write.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._turn = asyncio.Lock()
        self._unit: SqlUnitOfWork | None = None
        self.stale = False
        self.closed = False

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[SqlUnitOfWork]:
        async with self._turn:
            if self.closed:  # lent before the request ended, entered after: a unit of its own
                async with SqlUnitOfWork(self._sessions) as own:
                    yield own
                return
            if self._unit is not None and self.stale:
                await self._close()
            if self._unit is None:
                self._unit = await SqlUnitOfWork(self._sessions).__aenter__()
                self.stale = False
            try:
                yield self._unit
            except BaseException:
                await self._close()  # a failed statement can leave the transaction unusable (PostgreSQL)
                raise

    async def _close(self) -> None:
        unit, self._unit = self._unit, None
        if unit is not None:
            await unit.__aexit__(None, None, None)

    async def close(self) -> None:
        async with self._turn:
            self.closed = True
            await self._close()


_shared_reads: ContextVar[SharedReads | None] = ContextVar("modelreg_shared_reads", default=None)


class SqlUnitOfWorkFactory:
    """Hands out units of work: writes go to the writer engine, reads to the reader."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # SQLite has one writer at a time and its busy handler lets newcomers overtake waiting writers: queue
        # this process's writers first come, first served (p99 of concurrent creates drops from ~1.7 s to ~0.3 s).
        self._write_queue = asyncio.Lock() if is_sqlite(database.url) else None

    def __call__(self, *, write: bool) -> AbstractAsyncContextManager[SqlUnitOfWork]:
        if write:
            return SqlUnitOfWork(self._database.write_sessions, self._write_queue)
        if (shared := _shared_reads.get()) is not None and not shared.closed:
            return shared.lend()
        return SqlUnitOfWork(self._database.read_sessions)

    @asynccontextmanager
    async def request_scope(self) -> AsyncIterator[None]:
        """Reads in this block (and the tasks it starts) share one unit of work (``SharedReads``)."""
        shared = SharedReads(self._database.read_sessions)
        token = _shared_reads.set(shared)
        try:
            yield
        finally:
            _shared_reads.reset(token)
            await shared.close()
