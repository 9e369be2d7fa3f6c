"""Webhooks against a receiver on loopback: signed deliveries, filters, retries with backoff, dead letters,
redelivery, pings, slow receivers, SSRF refusals. The dispatcher runs in the test with a fast retry policy."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from app.domain.webhooks import RetryPolicy
from app.services.dispatch import Dispatcher
from app.webhooks.sender import HttpWebhookSender
from tests.support.client import Api
from tests.support.webhook_receiver import Receiver

SECRET = "whsec-0123456789abcdef"
CREATE_WEBHOOK = """
mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id url events secretHint active } } }
"""
CREATE_VERSION = """
mutation($in: CreateModelVersionInput!) { createModelVersion(input: $in) { modelVersion { id uri } } }
"""
DELIVERIES = """
query($id: ID!) { webhook(id: $id) { deliveries(first: 50) { totalCount nodes {
  eventId eventType status attempts lastStatusCode lastError nextAttemptAt deliveredAt } } } }
"""


def verify_signature(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver's check, as docs/events.md shows it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


def dispatcher_for(app, *, timeout: float = 1.0, period_s: float = 1.5) -> Dispatcher:
    policy = RetryPolicy(first_delay=timedelta(milliseconds=50), max_delay=timedelta(milliseconds=200),
                         period=timedelta(seconds=period_s))
    sender = HttpWebhookSender(timeout, allow_private=True)
    return Dispatcher(app.state.uow, sender, app.state.webhooks.secrets, policy, timeout=timeout, poll_interval=0.05)


async def deliver_until(dispatcher: Dispatcher, done, timeout: float = 10) -> None:
    """Run dispatch rounds until ``done()`` holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        await dispatcher.dispatch_due()
        await dispatcher.idle()
        await asyncio.sleep(0.02)


async def rounds(dispatcher: Dispatcher, count: int) -> None:
    for _ in range(count):
        await dispatcher.dispatch_due()
        await dispatcher.idle()
        await asyncio.sleep(0.05)


async def webhook(api: Api, url: str, **extra) -> dict:
    data = await api.ok(CREATE_WEBHOOK, {"in": {"url": url, "secret": SECRET, **extra}})
    return data["createWebhook"]["webhook"]


async def deliveries(api: Api, hook: dict) -> list[dict]:
    return (await api.ok(DELIVERIES, {"id": hook["id"]}))["webhook"]["deliveries"]["nodes"]


async def test_events_reach_matching_webhooks_signed(api: Api, app, receiver: Receiver):
    hook = await webhook(api, receiver.url(), events=["VERSION_CREATED", "VERSION_READY"], modelNamePattern="hooks/*")
    assert hook["secretHint"] == SECRET[-4:] and hook["events"] == ["VERSION_CREATED", "VERSION_READY"]
    version = (await api.ok(CREATE_VERSION, {"in": {"name": "hooks/a", "createModelIfMissing": True,
                                                    "artifact": {"uri": "s3://b/m", "digest": "sha256:" + "ab" * 32}}})
               )["createModelVersion"]["modelVersion"]
    await api.ok(CREATE_VERSION, {"in": {"name": "other/b", "createModelIfMissing": True}})
    dispatcher = dispatcher_for(app)
    await deliver_until(dispatcher, lambda: len(receiver.received) >= 2)
    await rounds(dispatcher, 3)
    # Deliveries go out concurrently: their order is not the order of the events.
    assert sorted(r.headers["modelreg-event-type"] for r in receiver.received) == ["version.created", "version.ready"]
    for got in receiver.received:
        assert verify_signature(SECRET, got.headers["modelreg-signature"], got.body)
        assert not verify_signature("another-secret-value", got.headers["modelreg-signature"], got.body)
        body = json.loads(got.body)
        assert body["id"] == got.headers["modelreg-event-id"] and body["modelName"] == "hooks/a"
        assert body["data"]["uri"] == version["uri"] and body["data"]["stage"] == "NONE"
        assert body["data"]["aliases"] == [] and body["data"]["manifestDigest"] == "sha256:" + "ab" * 32
        assert body["actor"]["subject"] == "tester"
    log = await deliveries(api, hook)
    assert {(d["eventType"], d["status"], d["attempts"], d["lastStatusCode"]) for d in log} == {
        ("VERSION_CREATED", "DELIVERED", 1, 200), ("VERSION_READY", "DELIVERED", 1, 200)}


async def test_failures_retry_with_backoff_then_dead_letter_and_redeliver(api: Api, app, receiver: Receiver):
    answers = iter([500, 503])
    receiver.answer = lambda got: next(answers, 200)
    hook = await webhook(api, receiver.url(), events=["MODEL_CREATED"])
    await api.ok('mutation { createRegisteredModel(input: {name: "retry/a"}) { registeredModel { name } } }')
    dispatcher = dispatcher_for(app)
    await deliver_until(dispatcher, lambda: len(receiver.received) >= 3)
    (log,) = await deliveries(api, hook)
    assert (log["status"], log["attempts"], log["lastStatusCode"]) == ("DELIVERED", 3, 200)
    assert len({got.headers["modelreg-event-id"] for got in receiver.received}) == 1  # the same event each time

    receiver.answer = lambda got: 500
    await api.ok('mutation { createRegisteredModel(input: {name: "retry/b"}) { registeredModel { name } } }')
    await deliver_until(dispatcher, lambda: False if not receiver.received[3:] else True)
    await asyncio.sleep(1.6)  # the retry period of this dispatcher runs out
    await rounds(dispatcher, 10)
    dead = [d for d in await deliveries(api, hook) if d["status"] == "DEAD"]
    assert len(dead) == 1 and dead[0]["attempts"] >= 2 and dead[0]["lastError"].startswith("HTTP 500")
    assert dead[0]["nextAttemptAt"] is None

    receiver.answer = lambda got: 200
    again = await api.ok("mutation($in: RedeliverWebhookEventInput!) { redeliverWebhookEvent(input: $in) "
                         "{ delivery { status attempts eventId } } }",
                         {"in": {"webhookId": hook["id"], "eventId": dead[0]["eventId"]}})
    assert again["redeliverWebhookEvent"]["delivery"] == {"status": "PENDING", "attempts": 0,
                                                          "eventId": dead[0]["eventId"]}
    await deliver_until(dispatcher, lambda: receiver.received[-1].headers["modelreg-event-id"] == dead[0]["eventId"]
                        and len([d for d in receiver.received if d.headers["modelreg-event-id"] == dead[0]["eventId"]])
                        > dead[0]["attempts"])
    statuses = sorted(d["status"] for d in await deliveries(api, hook) if d["eventId"] == dead[0]["eventId"])
    assert statuses == ["DEAD", "DELIVERED"]


async def test_a_timeout_is_a_failed_attempt(api: Api, app, receiver: Receiver):
    calls = []

    def slow_first(got):
        calls.append(got)
        if len(calls) == 1:
            time.sleep(1.0)
        return 200

    receiver.answer = slow_first
    hook = await webhook(api, receiver.url(), events=["MODEL_CREATED"])
    await api.ok('mutation { createRegisteredModel(input: {name: "slow/a"}) { registeredModel { name } } }')
    dispatcher = dispatcher_for(app, timeout=0.3)
    await deliver_until(dispatcher, lambda: len(calls) >= 2)
    (log,) = await deliveries(api, hook)
    assert log["status"] == "DELIVERED" and log["attempts"] == 2


async def test_a_hanging_receiver_blocks_neither_the_api_nor_other_receivers(api: Api, app, receiver: Receiver):
    fast = Receiver()
    finished_hanging: list[float] = []

    def hang(got):
        time.sleep(2.0)
        finished_hanging.append(time.monotonic())
        return 200

    receiver.answer = hang
    try:
        await webhook(api, receiver.url("/slow"), events=["MODEL_CREATED"])
        await webhook(api, fast.url("/fast"), events=["MODEL_CREATED"])
        dispatcher = dispatcher_for(app, timeout=5)
        dispatcher.start()
        try:
            for i in range(6):
                await api.ok(f'mutation {{ createRegisteredModel(input: {{name: "hang/{i}"}}) '
                             "{ registeredModel { name } } }")
            created_all = time.monotonic()
            await asyncio.to_thread(fast.wait_for, 6, 10)
            fast_done = time.monotonic()
            # Every mutation answered, and the fast receiver got all six, while the slow one still hung.
            assert not finished_hanging or (created_all < finished_hanging[0] and fast_done < finished_hanging[0])
        finally:
            await dispatcher.stop()
    finally:
        fast.stop()


async def test_ping_and_pause(api: Api, app, receiver: Receiver):
    hook = await webhook(api, receiver.url(), events=["MODEL_CREATED"], active=False)
    dispatcher = dispatcher_for(app)
    await api.ok('mutation { createRegisteredModel(input: {name: "paused/a"}) { registeredModel { name } } }')
    await rounds(dispatcher, 3)
    assert receiver.received == [] and await deliveries(api, hook) == []  # paused: nothing queued or sent
    await api.ok("mutation($in: UpdateWebhookInput!) { updateWebhook(input: $in) { webhook { active } } }",
                 {"in": {"id": hook["id"], "active": True}})
    await api.ok('mutation { createRegisteredModel(input: {name: "paused/b"}) { registeredModel { name } } }')
    await deliver_until(dispatcher, lambda: len(receiver.received) >= 1)
    assert json.loads(receiver.received[0].body)["modelName"] == "paused/b"
    pinged = await api.ok("mutation($in: PingWebhookInput!) { pingWebhook(input: $in) { delivery { eventType } } }",
                          {"in": {"id": hook["id"]}})
    assert pinged["pingWebhook"]["delivery"]["eventType"] == "WEBHOOK_PING"
    await deliver_until(dispatcher, lambda: len(receiver.received) >= 2)
    assert [r.headers["modelreg-event-type"] for r in receiver.received] == ["model.created", "webhook.ping"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://169.254.169.254/latest",
                                 "http://10.1.2.3/hook", "http://[::1]:9/x", "http://192.168.0.1/hook"])
async def test_private_and_loopback_targets_are_refused(url):
    sender = HttpWebhookSender(1.0, allow_private=False)
    try:
        result = await sender.send(url, b"{}", {})
    finally:
        await sender.close()
    assert not result.ok and result.error.startswith("refused:") and result.status_code is None


async def test_events_are_written_with_the_change_only(api: Api, app):
    async def events():
        async with app.state.uow(write=False) as uow:
            return await uow.events.after(0, 1000)

    before = len(await events())
    await api.error('mutation { createModelVersion(input: {name: "nope"}) { modelVersion { uri } } }')
    await api.error('mutation { createRegisteredModel(input: {name: "x"}) { registeredModel { name } } }',
                    None, "auditor")
    assert len(await events()) == before
    await api.ok(CREATE_VERSION, {"in": {"name": "ev/a", "createModelIfMissing": True}})
    await api.ok('mutation { requestStageTransition(input: {name: "ev/a", version: 1, toStage: STAGING}) '
                 "{ transitionRequest { status } } }")
    await api.ok('mutation { setModelAlias(input: {name: "ev/a", alias: "stable", version: 1}) '
                 "{ modelAlias { alias } } }")
    written = (await events())[before:]
    assert [e.type for e in written] == ["model.created", "version.created", "version.ready", "transition.requested",
                                         "transition.applied", "alias.moved"]
    assert written[-1].payload["aliases"] == ["stable"] and written[-1].payload["stage"] == "STAGING"
    assert all(e.model_name == "ev/a" and e.version == 1 for e in written)


async def test_two_dispatchers_share_the_outbox_without_sending_twice(api: Api, app, receiver: Receiver):
    from app.db.uow import SqlUnitOfWorkFactory

    hook = await webhook(api, receiver.url(), events=["MODEL_CREATED"])
    for i in range(40):
        await api.ok(f'mutation {{ createRegisteredModel(input: {{name: "shared/{i}"}}) {{ registeredModel {{ name }} }} }}')
    first = dispatcher_for(app, timeout=5, period_s=120)
    # A second replica: its own unit-of-work factory (and, on PostgreSQL, its own row locks and SKIP LOCKED).
    second = Dispatcher(SqlUnitOfWorkFactory(app.state.database), HttpWebhookSender(5, allow_private=True),
                        app.state.webhooks.secrets, RetryPolicy(first_delay=timedelta(milliseconds=50)), timeout=5)
    second._per_webhook = first._per_webhook = 40
    deadline = time.monotonic() + 60
    while len({got.headers["modelreg-delivery-id"] for got in receiver.received}) < 40:
        assert time.monotonic() < deadline, (f"only {len(receiver.received)} of 40 delivered", [(d["status"], d["attempts"], d["lastError"]) for d in await deliveries(api, hook) if d["status"] != "DELIVERED"])
        await asyncio.gather(first.dispatch_due(), second.dispatch_due())
        await asyncio.gather(first.idle(), second.idle())
    await rounds(first, 2)
    await rounds(second, 2)
    log = await deliveries(api, hook)
    assert len(log) == 40 and all(d["status"] == "DELIVERED" for d in log)
    # A delivery is sent again only after a failed attempt (never by both dispatchers at once): each arrived at
    # most as often as it was attempted.
    sent = [got.headers["modelreg-delivery-id"] for got in receiver.received]
    assert len(set(sent)) == 40 and len(sent) <= sum(d["attempts"] for d in log)


async def test_an_idle_dispatcher_takes_no_write_transaction(api, app):
    """With nothing due it only reads: polling must not take SQLite's write lock (BEGIN IMMEDIATE) or lock rows on
    PostgreSQL (FOR UPDATE) to claim nothing."""
    from sqlalchemy import event

    locking = []

    def statement(_connection, _cursor, sql, *_):
        if sql.startswith("BEGIN IMMEDIATE") or "FOR UPDATE" in sql:
            locking.append(sql)

    dispatcher = dispatcher_for(app)
    event.listen(app.state.database.writer.sync_engine, "before_cursor_execute", statement)
    try:
        for _ in range(10):
            assert await dispatcher.dispatch_due() == 0
            await asyncio.sleep(0.01)
    finally:
        event.remove(app.state.database.writer.sync_engine, "before_cursor_execute", statement)
    assert locking == []
