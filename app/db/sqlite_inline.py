"""SQLite statements on the event loop's thread, except those that can wait.

aiosqlite runs every call of a connection (cursor, execute, fetch, close) on a worker thread and hands the result
back through the loop: four thread hand-overs per statement, which measured about a fifth of a small GraphQL read's
CPU. Almost no SQLite call waits here: in WAL mode a read never waits for a writer (a read's deferred ``BEGIN``
takes no lock at all), and a writer's statements run once its transaction holds the write lock. Only taking that
lock (``BEGIN IMMEDIATE``, up to the busy timeout while another process writes) and committing (which may
checkpoint the WAL to the file) can take long; they stay on the worker thread, everything else runs where it is
called.

A call never runs beside another: while a worker-thread call is unfinished (its caller may have been cancelled, the
thread keeps going), later calls queue behind it on the worker thread too. Two threads inside one ``sqlite3``
connection crash the process.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite

_WAITING_STATEMENTS = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "COMMIT", "END")


def _may_wait(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """Whether the call can block: taking the write lock (BEGIN IMMEDIATE or EXCLUSIVE) or a commit (a
    checkpoint). A plain BEGIN is deferred: it takes no lock."""
    if getattr(fn, "__name__", "") == "commit":
        return True
    if not args or not isinstance(args[0], str):
        return False
    statement = " ".join(args[0][:40].split()).upper()
    return statement.startswith(_WAITING_STATEMENTS)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run at once on the calling (event loop) thread, but for those that may
    wait (``_may_wait``), which run on aiosqlite's worker thread as before. The worker thread also opens and closes
    the connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_worker = 0  # worker-thread calls queued or running; changed under _on_worker_lock
        self._on_worker_lock = threading.Lock()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _may_wait(fn, args) or self._on_worker:
            return await self._on_worker_thread(fn, *args, **kwargs)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def fetch_all(self, sql: str, parameters: Any, *, fetch: bool, describe: bool) -> tuple[list[Any], Any]:
        """Run a statement and, in the same call, fetch its rows (``fetch``) and its description (``describe``,
        else None): the prepared statements' path (app/db/prepared.py), with no cursor object to keep."""

        def query() -> tuple[list[Any], Any]:
            assert self._connection is not None
            cursor = self._connection.execute(sql, parameters)
            try:
                return (cursor.fetchall() if fetch else []), (cursor.description if describe else None)
            finally:
                cursor.close()

        return await self._execute(query)

    async def _on_worker_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on aiosqlite's thread, counted in ``_on_worker`` until it has returned there."""

        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._on_worker_lock:
                    self._on_worker -= 1

        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        with self._on_worker_lock:
            self._on_worker += 1
        return await super()._execute(counted)  # type: ignore[no-untyped-call]  # queues at once: no await before


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` for SQLAlchemy's aiosqlite dialect: connections to ``path`` used from the loop's thread."""

    async def connect() -> InlineConnection:
        connection = InlineConnection(partial(sqlite3.connect, path, check_same_thread=False), 64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does for aiosqlite's own connections
        await connection
        return connection

    return connect
