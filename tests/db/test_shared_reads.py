"""One read unit of work per request (app/db/uow.py, SharedReads): the reads of a request take turns on one session
and connection, see what the request itself wrote, and never leak a session past the request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event, text

from app.db.uow import SqlUnitOfWorkFactory
from app.domain.commands import NewModel


def _count_checkouts(app):
    counts = {"checkouts": 0}
    pools = {app.state.database.reader.sync_engine.pool, app.state.database.writer.sync_engine.pool}

    def checkout(*_):
        counts["checkouts"] += 1

    for pool in pools:
        event.listen(pool, "checkout", checkout)
    return counts, lambda: [event.remove(pool, "checkout", checkout) for pool in pools]


async def _model(factory, name):
    async with factory(write=False) as uow:
        return await uow.models.get_by_name(name)


async def test_concurrent_reads_of_a_request_share_one_connection(api, app):
    await api.ok('mutation { createRegisteredModel(input: {name: "shared/a"}) { registeredModel { name } } }')
    factory = SqlUnitOfWorkFactory(app.state.database)
    counts, stop = _count_checkouts(app)
    try:
        async with factory.request_scope():
            found = await asyncio.gather(*(_model(factory, "shared/a") for _ in range(8)))
    finally:
        stop()
    assert [model.name for model in found] == ["shared/a"] * 8
    assert counts["checkouts"] == 1


async def test_a_read_after_a_write_in_the_same_request_sees_the_write(api, app):
    factory = SqlUnitOfWorkFactory(app.state.database)
    now = datetime.now(UTC)
    async with factory.request_scope():
        assert await _model(factory, "shared/b") is None  # the shared read transaction has begun
        async with factory(write=True) as uow:
            await uow.models.add(NewModel(name="shared/b"), "tester", "tester", now)
            await uow.commit()
        assert (await _model(factory, "shared/b")).name == "shared/b"


async def test_a_failed_statement_gives_the_next_reader_a_fresh_transaction(api, app):
    await api.ok('mutation { createRegisteredModel(input: {name: "shared/c"}) { registeredModel { name } } }')
    factory = SqlUnitOfWorkFactory(app.state.database)
    async with factory.request_scope():
        try:
            async with factory(write=False) as uow:
                await uow.models._session.execute(text("SELECT * FROM no_such_table"))
        except Exception:  # noqa: BLE001 - the failure itself is not what is tested
            pass
        assert (await _model(factory, "shared/c")).name == "shared/c"  # PostgreSQL: not "transaction aborted"


async def test_a_task_outliving_its_request_reads_with_its_own_session(api, app):
    await api.ok('mutation { createRegisteredModel(input: {name: "shared/d"}) { registeredModel { name } } }')
    factory = SqlUnitOfWorkFactory(app.state.database)
    release = asyncio.Event()

    async def background() -> str:
        await release.wait()
        return (await _model(factory, "shared/d")).name

    async with factory.request_scope():
        task = asyncio.create_task(background())  # inherits the request's context
        lent_early = factory(write=False)  # taken during the request, entered after it
    release.set()
    assert await task == "shared/d"
    async with lent_early as uow:
        assert (await uow.models.get_by_name("shared/d")).name == "shared/d"
    for engine in {app.state.database.reader, app.state.database.writer}:
        assert engine.sync_engine.pool.checkedout() == 0


async def test_postgresql_reads_hold_no_transaction_and_writes_hold_one(app):
    """PostgreSQL reads run in autocommit (app/db/engine.py): under READ COMMITTED every statement had its own
    snapshot inside a transaction anyway, and BEGIN and ROLLBACK cost two round trips per request. ``now()`` is the
    start of the transaction: two statements of a read see two times, two of a write the same one."""
    import pytest

    from tests.support.databases import SWITCH, backend

    if backend() != "postgresql":
        pytest.skip(f"PostgreSQL's transactions: set {SWITCH} (CI's second leg)")
    database = app.state.database
    for sessions, same_time in ((database.read_sessions, False), (database.write_sessions, True)):
        async with sessions() as session:
            first = (await session.execute(text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            second = (await session.execute(text("SELECT now()"))).scalar_one()
            await session.rollback()
        assert (first == second) is same_time
