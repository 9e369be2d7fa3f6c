"""Hearing that another process added events to the outbox, so this process's subscriptions wake at once.

PostgreSQL: ``LISTEN`` (the writers ``NOTIFY`` at commit). SQLite: ``PRAGMA data_version``, which changes when
another connection commits to the file: several ``modelreg serve`` processes (``--workers``) on one SQLite file
wake each other within ``interval`` seconds instead of waiting for the feed's poll.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from .repositories.events import EVENTS_CHANNEL

log = logging.getLogger("modelreg.events")

LISTENER_APPLICATION_NAME = "modelreg-event-listener"  # how the listening connection shows in pg_stat_activity


class PostgresEventListener:
    """``LISTEN modelreg_events`` on a dedicated connection (outside the pool: it is held for the process's life).

    ``listen(on_notify)`` runs until cancelled: it calls ``on_notify`` for each notification, and once after
    every (re)connection, since events may have been committed while nobody listened. A lost connection is
    retried with backoff; the connection is checked every ``health_interval`` seconds, because a silently
    dropped one would otherwise wait forever. Meanwhile the feed's periodic poll still delivers every event.
    """

    def __init__(self, database_url: str, *, health_interval: float = 30.0, retry_delay: float = 1.0) -> None:
        self._conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._health_interval = health_interval
        self._retry_delay = retry_delay

    async def listen(self, on_notify: Callable[[], None]) -> None:
        delay = self._retry_delay
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name=LISTENER_APPLICATION_NAME
                )
                async with connection:
                    await connection.execute(f"LISTEN {EVENTS_CHANNEL}")
                    log.info("listening for outbox notifications", extra={"channel": EVENTS_CHANNEL})
                    delay = self._retry_delay
                    on_notify()
                    while True:
                        async for _ in connection.notifies(timeout=self._health_interval):
                            on_notify()
                        await connection.execute("SELECT 1")  # raises if the connection is gone
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure: reconnect
                log.warning(
                    "outbox listener disconnected; reconnecting",
                    extra={"error_type": type(error).__name__, "retry_in_s": delay},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


class SqliteChangeListener:
    """Polls ``PRAGMA data_version`` of the database file on a connection of its own (a read of the file header,
    microseconds) and calls ``on_notify`` when another connection has committed since the last look."""

    def __init__(self, database_url: str, *, interval: float = 0.2) -> None:
        self._path = make_url(database_url).database or ""
        self._interval = interval

    async def listen(self, on_notify: Callable[[], None]) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            seen = None
            while True:
                try:
                    version = connection.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error as error:  # busy or briefly unavailable: look again next time
                    log.warning(
                        "could not read the database's data_version", extra={"error_type": type(error).__name__}
                    )
                    version = seen
                if version != seen:
                    seen = version
                    on_notify()
                await asyncio.sleep(self._interval)
        finally:
            connection.close()
