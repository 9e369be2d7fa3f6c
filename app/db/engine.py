"""Engines for the configured database, with the driver and connection settings each backend needs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app import json_codec

from .sqlite_inline import inline_connector

SQLITE_BUSY_TIMEOUT_MS = 30_000
IDLE_PING_AFTER_S = 30.0  # a pooled PostgreSQL connection idle for longer is pinged before it is handed out
_IDLE_SINCE = "modelreg.idle_since"  # pool record info: when the connection was returned


def driver_urls(url: str) -> tuple[str, str]:
    """The (async, sync) SQLAlchemy URLs for a user-given database URL.

    ``sqlite:///file.db`` and ``postgresql://...`` are accepted as people write them; the drivers are ours. The
    server runs on asyncpg (a third of psycopg's CPU per round trip, docs/benchmarks.md); migrations and tools on
    psycopg's synchronous driver.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False),
        )
    if backend in ("postgresql", "postgres"):
        return (
            parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
            parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        )
    raise ValueError(f"unsupported database backend {backend!r}")


def _asyncpg_connect_args(url: str, statement_timeout: float) -> dict[str, Any]:
    """asyncpg's connection arguments: the URL's libpq parameters (``sslmode``, ``sslrootcert``,
    ``application_name``, ...) as asyncpg reads them from a DSN, which SQLAlchemy would pass on as unknown keyword
    arguments; and the statement timeout as a server setting."""
    parsed = make_url(url)
    args: dict[str, Any] = {}
    if parsed.query:
        args["dsn"] = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    if statement_timeout:
        args["server_settings"] = {"statement_timeout": str(int(statement_timeout * 1000))}
    return args


def _drop_dead_connections(engine: AsyncEngine) -> None:
    """Hand out only live pooled connections, without a round trip per checkout (SQLAlchemy's ``pool_pre_ping``
    costs one per request). asyncpg hears the server close a connection (a restart, ``pg_terminate_backend``, an
    idle timeout) as it happens; a connection idle for longer than ``IDLE_PING_AFTER_S``, whose peer may have gone
    without a word (a failover), is pinged. A dead one is replaced, and the request is served."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed the connection")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since > IDLE_PING_AFTER_S:
            try:
                dbapi_connection.ping()
            except Exception as error:  # any failure means the connection is unusable
                raise DisconnectionError("the connection did not answer a ping") from error


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    """Foreign keys, WAL and a busy timeout on every connection.

    The writer engine starts every transaction with BEGIN IMMEDIATE: it takes the write lock up front, so
    concurrent writers queue instead of failing with "database is locked" when they upgrade a read lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass(frozen=True)
class Database:
    """Session factories for reads and for writes (the same engine except on SQLite)."""

    reader: AsyncEngine
    writer: AsyncEngine
    read_sessions: async_sessionmaker
    write_sessions: async_sessionmaker
    url: str

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.reader.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def create_database(url: str, *, echo: bool = False, statement_timeout: float = 0) -> Database:
    """Build engines and session factories for ``url``. On PostgreSQL, ``statement_timeout`` seconds (0: none) bound
    every statement of every connection (MODELREG_STATEMENT_TIMEOUT): a runaway query is cancelled by the server
    instead of holding a pooled connection."""
    async_url, _ = driver_urls(url)
    json_options: dict[str, Any] = {"json_serializer": json_codec.dumps_text, "json_deserializer": json_codec.loads}
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:" and not parsed.query:
            json_options["async_creator"] = inline_connector(parsed.database)  # statements on the loop's thread
        writer = create_async_engine(async_url, echo=echo, **json_options)
        reader = create_async_engine(async_url, echo=echo, **json_options)
        _configure_sqlite(writer, immediate=True)
        _configure_sqlite(reader, immediate=False)
    else:
        writer = reader = create_async_engine(
            make_url(async_url).set(query={}),  # the query's parameters go in the DSN
            echo=echo,
            pool_size=10,
            max_overflow=20,
            connect_args=_asyncpg_connect_args(url, statement_timeout),
            **json_options,
        )
        _drop_dead_connections(writer)
    # PostgreSQL reads run in autocommit: under READ COMMITTED every statement takes its own snapshot inside a
    # transaction too, so BEGIN and ROLLBACK were two round trips per request that bought nothing.
    read_bind = reader if is_sqlite(url) else reader.execution_options(isolation_level="AUTOCOMMIT")
    return Database(
        reader=reader,
        writer=writer,
        read_sessions=async_sessionmaker(read_bind, expire_on_commit=False, autoflush=False),
        write_sessions=async_sessionmaker(writer, expire_on_commit=False, autoflush=False),
        url=url,
    )
