"""GraphQL subscriptions end to end: a real server (`modelreg serve`), a WebSocket client speaking
graphql-transport-ws, changes made over HTTP. Filters, the start position, authentication in connection_init,
registry:read with audited denials, the end at token expiry; and the feed itself (buffer, catching up) in process.

Runs on the suite's backend (SQLite, or PostgreSQL with MODELREG_TEST_DATABASE_URL). Two replicas on PostgreSQL:
tests/e2e/test_subscriptions_e2e.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

import httpx
import pytest

from app.auth import dev_issuer
from app.domain.events import EventFilter
from app.services.event_feed import EventFeed
from tests.support.client import Api
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.statements import statements_sent
from tests.support.subscriptions import (
    CREATE_MODEL,
    CREATE_VERSION,
    SET_MODEL_TAG,
    UPDATE_MODEL,
    Refused,
    Subscriber,
    gql,
)

pytestmark = pytest.mark.e2e

AUDIT = """
query($filter: AuditEventFilter) {
  auditEvents(filter: $filter, first: 10) { nodes { action outcome detail actor { subject } target { type name } } }
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]) -> Iterator[LiveServer]:
    """One server on a fresh database for this module; no webhook delivery (pings would go nowhere)."""
    server_dir = tmp_path_factory.mktemp("subscriptions")
    with fresh_database(server_dir, "subs") as url:
        live = LiveServer(server_dir, url, {**artifact_store_env, "MODELREG_DISPATCHER": "false"})
        yield live
        live.stop()


def token(server: LiveServer, *roles: str, sub: str = "watcher", ttl: int = 3600) -> str:
    return dev_issuer.mint_token(server.data_dir, subject=sub, roles=list(roles), audience="modelreg",
                                 ttl_seconds=ttl)


async def test_a_subscriber_gets_the_events_it_asked_for_in_order_and_no_others(server):
    writer, reader = token(server, "mlops", sub="alice"), token(server, "data-scientist", sub="watcher")
    async with await Subscriber.connect(server.url, reader) as by_type, \
            await Subscriber.connect(server.url, reader) as by_name:
        # after: 0 replays the (fresh) outbox first, so nothing made below can slip past a subscription not yet live.
        await by_type.events({"types": ["MODEL_CREATED", "VERSION_CREATED"], "modelName": "t1-fraud/*"}, after=0)
        await by_name.events({"modelName": "t1-fraud/a"}, after=0)
        for query, name in [(CREATE_MODEL, "t1-other/x"), (CREATE_MODEL, "t1-fraud/a"), (CREATE_VERSION, "t1-fraud/a"),
                            (SET_MODEL_TAG, "t1-fraud/a"), (CREATE_VERSION, "t1-fraud/b")]:
            await gql(server.url, writer, query, {"name": name})

        got = [await by_type.event() for _ in range(4)]
        # createModelIfMissing makes t1-fraud/b: a model.created comes before its version.created
        assert [(e["type"], e["modelName"], e["version"]) for e in got] == [
            ("MODEL_CREATED", "t1-fraud/a", None), ("VERSION_CREATED", "t1-fraud/a", 1),
            ("MODEL_CREATED", "t1-fraud/b", 1), ("VERSION_CREATED", "t1-fraud/b", 1)]
        sequences = [e["sequence"] for e in got]
        assert sequences == sorted(sequences) and len(set(sequences)) == 4
        assert {type(sequence) for sequence in sequences} == {int}  # a Long: a JSON integer, not a float
        created = got[1]
        assert created["actor"] == {"subject": "alice", "kind": "USER"}
        assert created["data"]["action"] == "version.create"
        assert created["data"]["uri"] == "models:/t1-fraud/a/1"
        assert created["data"]["status"] == "READY"

        got = [await by_name.event() for _ in range(4)]
        assert [e["type"] for e in got] == ["MODEL_CREATED", "VERSION_CREATED", "VERSION_READY", "MODEL_TAGS_CHANGED"]
        assert {e["modelName"] for e in got} == {"t1-fraud/a"}
        # t1-fraud/b's events came next but are not for this subscriber: the next one it gets is this update.
        await gql(server.url, writer, UPDATE_MODEL, {"name": "t1-fraud/a"})
        assert (await by_name.event())["type"] == "MODEL_UPDATED"
        await by_type.silent(0.5)  # an update is not a type it asked for


async def test_a_subscription_starts_now_unless_given_a_sequence_to_resume_after(server):
    writer, reader = token(server, "mlops"), token(server, "auditor")  # any role with registry:read
    await gql(server.url, writer, CREATE_MODEL, {"name": "t2/old"})
    async with await Subscriber.connect(server.url, reader) as live:
        await live.events({"modelName": "t2/*"})
        # The subscription is live once it delivers something: make probes until one arrives.
        deadline, first, probes = time.monotonic() + 20, None, 0
        while first is None and time.monotonic() < deadline:
            probes += 1
            await gql(server.url, writer, CREATE_MODEL, {"name": f"t2/probe-{probes}"})
            try:
                first = await live.event(timeout=0.3)
            except (asyncio.TimeoutError, TimeoutError):
                pass
        assert first is not None, "the subscription delivered nothing in 20 s"
        assert first["modelName"].startswith("t2/probe-"), first  # the event from before it started is not sent
        await gql(server.url, writer, CREATE_MODEL, {"name": "t2/next"})
        following = await live.event()
        while following["modelName"] != "t2/next":  # probes whose answer was still on its way
            following = await live.event()

    async with await Subscriber.connect(server.url, reader) as resumed:
        await resumed.events({"modelName": "t2/*"}, after=first["sequence"] - 1)
        again = await resumed.event()
        assert again["id"] == first["id"]
        names = [again["modelName"]]
        while names[-1] != "t2/next":
            names.append((await resumed.event())["modelName"])
        assert "t2/old" not in names and len(names) == len(set(names))


async def test_a_connection_without_a_valid_token_is_refused(server):
    bad_audience = dev_issuer.mint_token(server.data_dir, subject="x", roles=["mlops"], audience="another-api")
    for payload in [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": f"Basic {token(server, 'mlops')}"},
                    {"token": bad_audience}]:
        with pytest.raises(Refused) as refused:
            await Subscriber.connect(server.url, payload=payload)
        assert refused.value.code == 4403, (payload, refused.value)
    # A token in the URL ends up in logs: the handshake itself is refused.
    with pytest.raises(Refused) as refused:
        await Subscriber.connect(server.url, query=f"access_token={token(server, 'mlops')}")
    assert refused.value.status == 403
    # Subscribing before connection_init: 4401 (the protocol's Unauthorized).
    subscriber = await Subscriber.connect(server.url, init=False)
    await subscriber.events()
    with pytest.raises(Refused) as refused:
        await subscriber.receive()
    assert refused.value.code == 4401
    log = server.wait_for_log('"method": "WEBSOCKET"')
    assert '"reason": "no_credentials"' in log and "not-a-jwt" not in log


async def test_a_token_accepted_by_header_can_also_be_given_as_token(server):
    writer = token(server, "mlops")
    async with await Subscriber.connect(server.url, payload={"token": token(server, "data-scientist")}) as sub:
        await sub.events({"modelName": "t3/a"}, after=0)
        await gql(server.url, writer, CREATE_MODEL, {"name": "t3/a"})
        assert (await sub.event())["type"] == "MODEL_CREATED"


async def test_a_caller_without_registry_read_is_forbidden_and_the_denial_is_audited(server):
    async with await Subscriber.connect(server.url, token(server, sub="t4-nobody")) as sub:
        await sub.events({"modelName": "t4/*"})
        message = await sub.receive()
        assert message["type"] == "error" and message["id"] == "1", message
        (error,) = message["payload"]
        assert error["extensions"]["code"] == "FORBIDDEN" and "registry:read" in error["message"], error
        # The connection stays usable; the refused operation is over.
        await sub.send({"type": "ping"})
        assert (await sub.receive())["type"] == "pong"
    audit = await gql(server.url, token(server, "auditor"), AUDIT, {"filter": {"actor": "t4-nobody"}})
    (denial,) = audit["auditEvents"]["nodes"]
    assert denial["action"] == "registry.read" and denial["outcome"] == "FORBIDDEN", denial
    assert denial["target"] == {"type": "EventSubscription", "name": "t4/*"}


async def test_bad_arguments_are_refused(server):
    async with await Subscriber.connect(server.url, token(server, "data-scientist")) as sub:
        # Refused by the schema: types are RegistryEventType values (the dotted names of webhook bodies are not),
        # `after` is a Long.
        for id, variables in [("1", {"filter": {"types": ["MODEL_EXPLODED"]}}),
                              ("2", {"filter": {"types": ["model.created"]}}),
                              ("3", {"after": 1.5}), ("4", {"after": "12a"})]:
            await sub.subscribe(variables=variables, id=id)
            message = await sub.receive()
            assert message["type"] == "error" and message["id"] == id, message
            (error,) = message["payload"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        # Refused by the use case, naming the field.
        for id, variables, field, text in [("5", {"filter": {"types": ["WEBHOOK_PING"]}}, "filter.types", "webhook"),
                                           ("6", {"after": -1}, "after", "0 or more")]:
            await sub.subscribe(variables=variables, id=id)
            message = await sub.receive()
            assert message["type"] == "error" and message["id"] == id, message
            (error,) = message["payload"]
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
            assert text in error["message"], error


async def test_webhook_pings_are_not_sent_to_subscribers(server):
    """A ping names the webhook's URL, which only webhook:manage may read."""
    writer = token(server, "mlops")
    async with await Subscriber.connect(server.url, token(server, "mlops")) as sub:
        await sub.events(after=0)
        hook = await gql(server.url, writer, """mutation { createWebhook(input: {url: "https://hooks.example.com/t5",
            secret: "t5-secret-0123456789"}) { webhook { id } } }""")
        await gql(server.url, writer, "mutation($id: ID!) { pingWebhook(input: {id: $id}) { delivery { status } } }",
                  {"id": hook["createWebhook"]["webhook"]["id"]})
        await gql(server.url, writer, CREATE_MODEL, {"name": "t5/after-ping"})
        seen = [await sub.event()]
        while seen[-1]["modelName"] != "t5/after-ping":
            seen.append(await sub.event())
        assert "WEBHOOK_PING" not in {e["type"] for e in seen}


async def test_the_connection_closes_when_its_token_expires(server):
    """Nothing done over the connection (subscriptions, but queries and mutations too) outlives its token."""
    async with await Subscriber.connect(server.url, token(server, "data-scientist", ttl=2)) as sub:
        await sub.events({"modelName": "t6/*"})
        started = time.monotonic()
        with pytest.raises(Refused) as refused:
            await sub.receive(timeout=10)
        assert (refused.value.code, refused.value.reason) == (4403, "the token has expired")
        assert time.monotonic() - started < 5


async def test_completing_a_subscription_stops_it_and_others_go_on(server):
    writer = token(server, "mlops")
    async with await Subscriber.connect(server.url, token(server, "data-scientist")) as sub:
        await sub.events({"modelName": "t7/a"}, after=0, id="a")
        await sub.events({"modelName": "t7/b"}, after=0, id="b")
        await gql(server.url, writer, CREATE_MODEL, {"name": "t7/a"})
        assert (await sub.event(id="a"))["modelName"] == "t7/a"
        await sub.send({"id": "a", "type": "complete"})
        await gql(server.url, writer, UPDATE_MODEL, {"name": "t7/a"})
        await gql(server.url, writer, CREATE_MODEL, {"name": "t7/b"})
        assert (await sub.event(id="b"))["modelName"] == "t7/b"


async def test_a_subscription_over_http_is_refused_with_a_pointer_to_websockets(server):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{server.url}/graphql", json={"query": "subscription { events { id } }"},
                                     headers={"Authorization": f"Bearer {token(server, 'mlops')}"})
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "WebSocket" in error["message"], error


# The feed in process: one reader for every subscriber, a bounded buffer, and subscribers that catch up from
# the outbox when they are behind it.


async def test_the_feed_delivers_everything_once_in_order_through_buffer_overflows(api: Api, app):
    for n in range(7):
        await api.ok(CREATE_MODEL, {"name": f"feed/{n}"})
    feed = EventFeed(app.state.uow, poll_interval=0.1, batch_size=2, buffer_size=3)
    feed.start()
    try:
        got: list[str] = []

        async def follow() -> None:
            async for event in feed.follow(0, EventFilter(model_name_pattern="feed/*").matches):
                got.append(event.model_name)
                await asyncio.sleep(0.02)  # slower than the writer below: falls behind the buffer

        reader = asyncio.create_task(follow())
        for n in range(7, 15):
            await api.ok(CREATE_MODEL, {"name": f"feed/{n}"})
            feed.wake()
        deadline = time.monotonic() + 10
        while len(got) < 15 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        reader.cancel()
        assert got == [f"feed/{n}" for n in range(15)]
    finally:
        await feed.stop()


async def test_the_pump_reads_nothing_while_nobody_subscribes_and_delivers_once_somebody_does(api: Api, app):
    feed = EventFeed(app.state.uow, poll_interval=0.05)
    feed.start()
    try:
        with statements_sent(app.state.database.reader.sync_engine) as sent:
            for n in range(3):
                await api.ok(CREATE_MODEL, {"name": f"idle/{n}"})
                feed.wake()
            await asyncio.sleep(0.2)  # polls come and go
        assert [statement for statement, _ in sent if "FROM events" in statement] == []
        stream = feed.follow(await feed.head(), EventFilter(model_name_pattern="idle/*").matches)
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)
        await api.ok(CREATE_MODEL, {"name": "idle/after"})
        feed.wake()
        assert (await asyncio.wait_for(pending, 5)).model_name == "idle/after"
        await stream.aclose()
    finally:
        await feed.stop()


async def test_the_feed_without_its_pump_still_delivers(api: Api, app):
    """Before start() (or after stop()), subscribers read the outbox themselves, woken by wake() or the poll."""
    feed = EventFeed(app.state.uow, poll_interval=5)
    stream = feed.follow(await feed.head(), lambda event: True)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    await api.ok(CREATE_MODEL, {"name": "nopump/a"})
    feed.wake()
    event = await asyncio.wait_for(pending, 2)
    assert event.model_name == "nopump/a"
    await stream.aclose()

