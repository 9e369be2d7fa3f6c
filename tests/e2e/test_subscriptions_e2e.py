"""Subscriptions across replicas: two `modelreg serve` processes on one database. A change made through one reaches
a subscriber of the other at once, by LISTEN/NOTIFY on PostgreSQL and by PRAGMA data_version on one SQLite file
(app/db/outbox_listeners.py): the safety-net poll is set to 30 s, so an event that arrives within a few seconds
cannot have come from it."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from app.auth import dev_issuer
from app.db.engine import driver_urls
from app.db.outbox_listeners import LISTENER_APPLICATION_NAME
from tests.support.databases import backend, fresh_database
from tests.support.live_server import LiveServer
from tests.support.subscriptions import CREATE_MODEL, CREATE_VERSION, Subscriber, gql

pytestmark = pytest.mark.e2e
postgresql_only = pytest.mark.skipif(backend() != "postgresql", reason="LISTEN/NOTIFY: set "
                                     "MODELREG_TEST_DATABASE_URL=postgresql://...")

POLL_INTERVAL_S = 30
PROMPT_S = 3  # far below the poll interval


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str]]:
    data_dir = tmp_path_factory.mktemp("replicas")
    with fresh_database(data_dir, "replicas") as url:
        yield data_dir, url


@pytest.fixture(scope="module")
def replicas(database: tuple[object, str],
             artifact_store_env: dict[str, str]) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers on one fresh database (and one data directory: the same development token issuer)."""
    data_dir, url = database
    env = {**artifact_store_env, "MODELREG_EVENTS_POLL_INTERVAL": str(POLL_INTERVAL_S), "MODELREG_DISPATCHER": "false"}
    a = LiveServer(data_dir, url, env)
    try:
        b = LiveServer(data_dir, url, env)
    except BaseException:
        a.stop()
        raise
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


async def _made_on_one_seen_on_the_other(made_on: LiveServer, seen_on: LiveServer, prefix: str) -> None:
    writer = dev_issuer.mint_token(made_on.data_dir, subject="ci", roles=["mlops"], audience="modelreg")
    reader = dev_issuer.mint_token(made_on.data_dir, subject="watcher", roles=["data-scientist"], audience="modelreg")
    async with await Subscriber.connect(seen_on.url, reader) as sub:
        await sub.events({"modelName": f"{prefix}/*"})
        # Live once it has delivered an event made on its own server (woken in process, after the commit).
        deadline, probe = time.monotonic() + 20, 0
        while True:
            probe += 1
            await gql(seen_on.url, writer, CREATE_MODEL, {"name": f"{prefix}/probe-{probe}"})
            try:
                await sub.event(timeout=1)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "the subscription delivered nothing made on its own server"
        await sub.silent(0.5)  # any probe still on its way

        for n in range(3):
            name = f"{prefix}/from-the-other-{n}"
            started = time.monotonic()
            await gql(made_on.url, writer, CREATE_VERSION, {"name": name})
            got = [await sub.event(timeout=PROMPT_S) for _ in range(3)]
            elapsed = time.monotonic() - started
            # createModelIfMissing: the model's creation comes first
            assert [(e["type"], e["modelName"]) for e in got] == [
                ("MODEL_CREATED", name), ("VERSION_CREATED", name), ("VERSION_READY", name)]
            assert elapsed < PROMPT_S, f"{elapsed:.2f} s: not by notification"


async def test_an_event_made_on_one_replica_reaches_a_subscriber_of_the_other_at_once(replicas):
    a, b = replicas
    await _made_on_one_seen_on_the_other(made_on=b, seen_on=a, prefix="b-to-a")
    await _made_on_one_seen_on_the_other(made_on=a, seen_on=b, prefix="a-to-b")
    if backend() == "postgresql":
        for server in (a, b):
            assert "listening for outbox notifications" in server.log()


@postgresql_only
async def test_a_replica_whose_listening_connection_dies_reconnects_and_hears_again(replicas, database):
    a, b = replicas
    engine = create_engine(driver_urls(database[1])[1], isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            killed = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"),
                {"name": LISTENER_APPLICATION_NAME}).scalar_one()
    finally:
        engine.dispose()
    assert killed == 2  # one per replica
    for server in (a, b):
        deadline = time.monotonic() + 15
        while server.log().count("listening for outbox notifications") < 2:
            assert time.monotonic() < deadline, f"no reconnection:\n{server.log()[-3000:]}"
            time.sleep(0.1)
        assert "outbox listener disconnected; reconnecting" in server.log()
    await _made_on_one_seen_on_the_other(made_on=b, seen_on=a, prefix="after-reconnect")
