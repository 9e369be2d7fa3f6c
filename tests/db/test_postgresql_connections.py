"""The server's PostgreSQL connections (app/db/engine.py): asyncpg, given the URL's libpq parameters; pooled
connections the server closed, or that stopped answering while idle, are replaced before a request gets them,
without a round trip per checkout; prepared statements (app/db/prepared.py) run in the session's transaction."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import engine as engine_module
from app.db.engine import create_database, driver_urls
from app.db.repositories import versions
from tests.support.databases import backend

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL only: set MODELREG_TEST_DATABASE_URL")


async def _backend_pid(database) -> int:
    async with database.read_sessions() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


def _terminate(database_url: str, pid: int) -> None:
    """End a server process from another (blocking) connection, and wait until it has gone."""
    admin = create_engine(driver_urls(database_url)[1], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    finally:
        admin.dispose()


async def test_the_libpq_parameters_of_the_url_reach_the_server(database_url):
    url = make_url(database_url).update_query_dict({"application_name": "modelreg-dsn-test", "sslmode": "disable"})
    database = create_database(url.render_as_string(hide_password=False))
    try:
        async with database.read_sessions() as session:
            assert (await session.execute(text("SHOW application_name"))).scalar_one() == "modelreg-dsn-test"
    finally:
        await database.dispose()


async def test_a_connection_the_server_closed_is_replaced_before_a_request_gets_it(database_url):
    database = create_database(database_url)
    try:
        first = await _backend_pid(database)
        _terminate(database_url, first)
        await asyncio.sleep(0.2)  # the event loop hears the connection close
        assert await _backend_pid(database) != first  # served, on a new connection
    finally:
        await database.dispose()


@pytest.mark.parametrize("pinged", [True, False])
async def test_a_connection_idle_for_long_is_pinged_before_a_request_gets_it(database_url, monkeypatch, pinged):
    """The server process is ended while the event loop is blocked, so the driver has not heard of it: only a ping
    finds out. A connection idle for less than IDLE_PING_AFTER_S is handed out unpinged: the request fails (and
    the pool replaces the connection), the price of no round trip per checkout."""
    database = create_database(database_url)
    try:
        first = await _backend_pid(database)
        monkeypatch.setattr(engine_module, "IDLE_PING_AFTER_S", 0.0 if pinged else 3600.0)
        _terminate(database_url, first)  # blocks the loop: the close is not heard before the next checkout
        if pinged:
            assert await _backend_pid(database) != first
        else:
            with pytest.raises(Exception):  # noqa: B017 - whichever error the lost connection gives
                await _backend_pid(database)
            assert await _backend_pid(database) != first
    finally:
        await database.dispose()


async def test_a_prepared_write_run_first_is_in_the_transaction_that_commit_and_rollback_end(api, app):
    """asyncpg begins a transaction with the first statement; a prepared statement that comes first must begin it
    where SQLAlchemy's commit and rollback see it, or its write would be committed at once, whatever came next."""
    await api.ok('mutation { createModelVersion(input: {name: "driver/t", createModelIfMissing: true}) '
                 "{ modelVersion { id } } }")
    database = app.state.database
    read = text("SELECT v.id, v.updated_at FROM model_versions v JOIN registered_models m ON m.id = v.model_id "
                "WHERE m.name = 'driver/t'")

    async def stored() -> Any:
        async with database.read_sessions() as session:
            return (await session.execute(read)).one()

    version_id, created = await stored()
    later = created + timedelta(days=1)
    for ending, expected in (("rollback", created), ("commit", later)):
        async with database.write_sessions() as session:
            await versions._TOUCH.run(session, {"version_id": version_id, "changed_at": later})
            await getattr(session, ending)()
        assert (await stored())[1] == expected, ending
