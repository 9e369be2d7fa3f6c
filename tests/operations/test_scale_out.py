"""Two `modelreg serve` replicas and a `modelreg worker` behind HAProxy on loopback, on PostgreSQL and a shared
artifact store (Azurite in CI's second leg, else one local folder). A bounded mixed load runs for 60 s (reads,
registrations, uploads, PRODUCTION requests and approvals, two subscribers following the event stream); replica 0 is
killed with SIGKILL at 20 s and restarted at 40 s. Afterwards:

- every acknowledged write is stored exactly once (a registration by the marker in its description, an approval by
  its one decision), and a write that got no answer at most once;
- version numbers are gapless per model; no version is left waiting for verification; every acknowledged upload is
  in the store;
- the audit chain verifies (`modelreg audit verify`);
- the webhook receiver got every event once, and each subscriber, reconnecting with `after`, every event once in
  order;
- the only failed requests are those in flight on the killed replica when it died.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import bindparam, text

from app.graphql.relay import from_global_id
from app.services.event_feed import HIDDEN_TYPES
from tests.support.cluster import Cluster, HaproxyMissing
from tests.support.databases import backend, fresh_database, sync_engine
from tests.support.scale_load import POLICY, Load
from tests.support.subscriptions import gql
from tests.support.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql_only, pytest.mark.timeout(240)]

LOAD_S, KILL_AT, RESTART_AT = 60, 20, 40
LOOPS, SUBSCRIBERS = 6, 2
CREATE_WEBHOOK = """
mutation($url: String!) { createWebhook(input: {url: $url, secret: "scale-secret-0123456789"}) { webhook { id } } }
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]):
    if backend() != "postgresql":
        pytest.skip("replicas share a PostgreSQL database: set MODELREG_TEST_DATABASE_URL (CI's second leg)")
    folder = tmp_path_factory.mktemp("scale")
    policy = folder / "promotion.yaml"
    policy.write_text(POLICY)
    with fresh_database(folder, "scale") as url:
        try:
            with Cluster(
                folder, url, artifact_store_env, replicas=2, extra_env={"MODELREG_PROMOTION_POLICY": str(policy)}
            ) as running:
                running.database_url = url  # type: ignore[attr-defined]
                yield running
        except HaproxyMissing as error:
            pytest.fail(str(error), pytrace=False)


def _wait(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _outbox(engine) -> tuple[int, int]:
    """Webhook deliveries not yet DELIVERED, and the sequence of the newest event subscribers see."""
    with engine.connect() as db:
        pending = db.execute(text("SELECT count(*) FROM webhook_deliveries WHERE status <> 'DELIVERED'")).scalar()
        hidden = sorted(HIDDEN_TYPES)
        last = db.execute(
            text("SELECT max(seq) FROM events WHERE type NOT IN :hidden").bindparams(
                bindparam("hidden", expanding=True)
            ),
            {"hidden": hidden},
        ).scalar()
    return int(pending or 0), int(last or 0)


def test_replicas_survive_a_killed_replica_under_load(cluster):
    receiver = Receiver()
    engine = sync_engine(cluster.database_url)
    load = Load(cluster.url, cluster.data_dir, loops=LOOPS)
    victim = cluster.replicas[0]
    killed_at: list[float] = []
    died_at: list[float] = []  # a loaded machine may take a tenth of a second from the signal to the death
    drained: list[float] = []

    async def kill() -> None:
        killed_at.append(time.monotonic())
        await asyncio.to_thread(victim.kill)  # SIGKILL, then the wait for the process to be gone
        died_at.append(time.monotonic())

    async def restart() -> None:
        await asyncio.to_thread(victim.start)

    async def scenario():
        await gql(cluster.url, load._token("ops", "mlops"), CREATE_WEBHOOK, {"url": receiver.url()})
        started = time.monotonic()
        results = await load.run(LOAD_S, [(KILL_AT, kill), (RESTART_AT, restart)], subscribers=SUBSCRIBERS)
        elapsed = time.monotonic() - started
        drain_started = time.monotonic()
        # Drain: the worker delivers what is pending, the subscribers catch up with the outbox.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending, last = _outbox(engine)
            if not pending and all(seen[-1:] == [last] for seen in results.events_seen.values()):
                break
            await asyncio.sleep(0.2)
        await load.stop_following()
        drained.append(time.monotonic() - drain_started)
        return results, elapsed

    try:
        results, elapsed = asyncio.run(scenario())
        received = list(receiver.received)
    finally:
        receiver.stop()
    summary = results.summary(elapsed)
    summary.update(
        kill_at_s=KILL_AT,
        restart_at_s=RESTART_AT,
        reconnects=results.reconnects,
        drain_s=round(drained[0], 1),
        failed_calls=[
            (c.op, round(c.started - killed_at[0], 3), round(c.ended - killed_at[0], 3), c.detail)
            for c in results.failed()
        ],
    )
    print("scale-out:", json.dumps(summary))
    Path(cluster.folder, "summary.json").write_text(json.dumps(summary, indent=2))

    with engine.connect() as db:
        # Every acknowledged registration exactly once, with the acknowledged number; others at most once.
        rows = db.execute(
            text(
                "SELECT v.description, m.name, v.version, v.status FROM model_versions v "
                "JOIN registered_models m ON m.id = v.model_id"
            )
        ).all()
        by_marker = Counter(row.description for row in rows)
        stored = {row.description: (row.name, row.version) for row in rows}
        assert results.registered, "no registration was acknowledged"
        for marker, (model, version) in results.registered.items():
            assert by_marker[marker] == 1 and stored[marker] == (model, version), (marker, model, version)
        assert all(by_marker[marker] <= 1 for marker in results.unacknowledged)
        assert not [row for row in rows if row.status == "PENDING_REGISTRATION"]
        # Gapless version numbers per model.
        numbers: dict[str, list[int]] = {}
        for row in rows:
            numbers.setdefault(row.name, []).append(row.version)
        for model, found in numbers.items():
            assert sorted(found) == list(range(1, len(found) + 1)), (model, sorted(found))
        # Every acknowledged approval applied, decided once.
        assert results.approved, "no approval was acknowledged"
        for request in results.approved:
            key = from_global_id(request)[1]
            status = db.execute(text("SELECT status FROM transition_requests WHERE id = :id"), {"id": key}).scalar()
            decisions = db.execute(
                text("SELECT count(*) FROM transition_decisions WHERE request_id = :id"), {"id": key}
            ).scalar()
            assert (status, decisions) == ("APPLIED", 1), (request, status, decisions)
        # At most one PRODUCTION version per model, whatever the interleaving.
        assert not db.execute(
            text("SELECT model_id FROM model_versions WHERE stage = 'PRODUCTION' GROUP BY model_id HAVING count(*) > 1")
        ).all()
        # Webhook: every delivery DELIVERED, each event received once, no event after the webhook's without one.
        deliveries = db.execute(
            text("SELECT e.id, e.seq, d.status FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq")
        ).all()
        events = db.execute(text("SELECT seq, id, type FROM events ORDER BY seq")).all()
    assert deliveries and all(row.status == "DELIVERED" for row in deliveries)
    got = Counter(item.headers.get("modelreg-event-id") for item in received)
    assert set(got) == {row.id for row in deliveries} and set(got.values()) == {1}, got.most_common(3)
    first = min(row.seq for row in deliveries)
    assert {row.seq for row in events if row.seq >= first} == {row.seq for row in deliveries}
    # Subscribers: every event, once, in order, across their reconnections.
    visible = [row.seq for row in events if row.type not in HIDDEN_TYPES]
    for index, seen in results.events_seen.items():
        assert seen == visible, (index, len(seen), len(visible), sorted(set(visible) - set(seen))[:10])
    assert sum(results.reconnects.values()) >= 1, "no subscriber was connected to the killed replica"
    # Uploads: each acknowledged one is in the shared store, whichever replica took it.
    assert results.uploads
    with httpx.Client(
        base_url=cluster.url, headers={"Authorization": f"Bearer {load._token('ops', 'mlops')}"}, timeout=10
    ) as client:
        for digest in results.uploads:
            stat = client.head(f"/api/artifacts/blobs/{digest}")
            assert stat.status_code == 200, (digest, stat.status_code)
    # The audit chain verifies.
    audit = subprocess.run(
        [sys.executable, "-m", "app", "audit", "verify"], env=cluster.env, capture_output=True, text=True, timeout=60
    )
    assert audit.returncode == 0 and json.loads(audit.stdout)["ok"], audit.stdout + audit.stderr
    # Failures: only requests in flight on the killed replica between the signal and its death (one per caller at most).
    failed = results.failed()
    assert len(failed) <= LOOPS, summary["failed_calls"]
    for call in failed:
        assert call.started <= died_at[0] + 0.05 and call.ended >= killed_at[0] - 0.05, summary["failed_calls"]
    assert summary["ok"] > 500, summary
