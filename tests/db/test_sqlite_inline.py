"""SQLite statements run on the event loop's thread (app/db/sqlite_inline.py), but for taking the write lock (BEGIN
IMMEDIATE) and committing, which may wait and stay on aiosqlite's worker thread. A read's deferred BEGIN takes no
lock and runs on the loop's thread too."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from app.db.sqlite_inline import InlineConnection
from tests.support.databases import backend

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="the inline reader is SQLite's")


async def _statement_threads(engine, commit: bool = False) -> dict[str, set[int]]:
    """The threads SQLite ran each kind of statement of a transaction on (BEGIN, SELECT, COMMIT)."""
    seen: dict[str, set[int]] = {}

    def trace(sql: str) -> None:
        seen.setdefault(sql.split()[0].upper(), set()).add(threading.get_ident())

    async with engine.connect() as connection:  # one DBAPI connection throughout
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, InlineConnection)
        await driver._execute(driver._conn.set_trace_callback, trace)
        try:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
            if commit:
                await connection.commit()
        finally:
            await driver._execute(driver._conn.set_trace_callback, None)
    return seen


async def test_statements_run_on_the_loop_thread_but_the_write_lock_and_the_commit(app):
    database = app.state.database
    loop_thread = threading.get_ident()
    read = await _statement_threads(database.reader)
    assert read["SELECT"] == read["BEGIN"] == {loop_thread}
    write = await _statement_threads(database.writer, commit=True)
    assert write["SELECT"] == {loop_thread}
    assert loop_thread not in write["BEGIN"] | write["COMMIT"]


async def test_a_call_waits_for_the_worker_call_it_follows_even_when_that_one_was_cancelled(tmp_path):
    """A cancelled commit keeps running on the worker thread; the next statement must not run beside it on the loop's
    thread (two threads inside one sqlite3 connection crashed an xdist worker in CI)."""
    import asyncio

    from app.db.sqlite_inline import inline_connector

    connection = await inline_connector(str(tmp_path / "inline.db"))()
    release, order = threading.Event(), []

    def commit() -> None:  # named like the call that stays on the worker thread
        release.wait(5)
        order.append("commit")

    try:
        pending = asyncio.ensure_future(connection._execute(commit))
        await asyncio.sleep(0.05)
        pending.cancel()
        threading.Timer(0.3, release.set).start()
        await connection.execute("SELECT 1")
        order.append("select")
        assert order == ["commit", "select"]
    finally:
        release.set()
        await connection.close()
