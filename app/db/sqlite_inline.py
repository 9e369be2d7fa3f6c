"""SQLite reads on the event loop's thread.

aiosqlite runs every call of a connection (cursor, execute, fetch, close) on a worker thread and hands the result
back through the loop: four thread hand-overs per statement, which measured about a fifth of a small GraphQL read's
CPU. A read in WAL mode never waits for a writer, so the reader engine runs its calls where they are made instead;
writers keep aiosqlite's thread, since they can wait up to the busy timeout for the write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run at once on the calling (event loop) thread. The worker thread still
    opens and closes the connection."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` for SQLAlchemy's aiosqlite dialect: connections to ``path`` used from the loop's thread."""

    async def connect() -> InlineConnection:
        connection = InlineConnection(partial(sqlite3.connect, path, check_same_thread=False), 64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does for aiosqlite's own connections
        await connection
        return connection

    return connect
