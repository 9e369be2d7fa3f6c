"""SQLite reads run on the event loop's thread (app/db/sqlite_inline.py); writes keep aiosqlite's worker thread, since
they may wait for the write lock."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from app.db.sqlite_inline import InlineConnection
from tests.support.databases import backend

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="the inline reader is SQLite's")


async def _statement_threads(sessions) -> tuple[type, set[int]]:
    """The driver connection's class, and the threads SQLite ran a session's statement on."""
    seen: set[int] = set()
    async with sessions() as session:
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        await driver._execute(driver._conn.set_trace_callback, lambda _sql: seen.add(threading.get_ident()))
        try:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await driver._execute(driver._conn.set_trace_callback, None)
    return type(driver), seen


async def test_reads_run_on_the_loop_thread_and_writes_on_a_worker_thread(app):
    database = app.state.database
    loop_thread = threading.get_ident()
    kind, threads = await _statement_threads(database.read_sessions)
    assert kind is InlineConnection and threads == {loop_thread}
    kind, threads = await _statement_threads(database.write_sessions)
    assert kind is not InlineConnection and threads and loop_thread not in threads
