"""Prometheus metrics of a real `modelreg serve --workers 2` with MODELREG_METRICS_PORT: a scripted workload, then
every series the issue names has moved by what the workload did, summed over both workers (multiprocess mode).
The public port answers 404 for /metrics; a single process without the setting serves it there, without a token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.auth import dev_issuer
from tests.support.databases import fresh_database, sync_engine
from tests.support.live_server import LiveServer, free_port
from tests.support.subscriptions import Subscriber
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CREATE_WEBHOOK = """
mutation CreateWebhook($url: String!) {
  createWebhook(input: {url: $url, secret: "metrics-secret-0123456789"}) { webhook { id } }
}
"""
CREATE_VERSION = """
mutation CreateVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { id version } }
}
"""
REQUEST_STAGING = """
mutation RequestStaging($name: String!, $version: Int!) {
  requestStageTransition(input: {name: $name, version: $version, toStage: STAGING}) { transitionRequest { id } }
}
"""
VERIFY_AUDIT = "query VerifyAudit { auditIntegrity { ok checkedEvents } }"
TOO_DEEP = "query TooDeep { registeredModels { edges { node { versions { edges { node { model { name } } } } } } } }"
MODEL = b"metrics-model-bytes" * 5000


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


def present(samples: Samples, name: str) -> bool:
    return any(n == name for n, _ in samples)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("metrics")
    with fresh_database(data_dir, "metrics") as url:
        live = LiveServer(
            data_dir,
            url,
            {
                **artifact_store_env,
                "MODELREG_WORKERS": "2",
                "MODELREG_METRICS_PORT": str(free_port()),
                "MODELREG_WEBHOOK_ALLOW_PRIVATE": "true",
                "MODELREG_DOWNLOAD_REDIRECT": "false",
                "MODELREG_MAX_QUERY_DEPTH": "6",
            },
        )
        try:
            live.database_url = url  # type: ignore[attr-defined]
            yield live
        finally:
            live.stop()


def _metrics_url(server: LiveServer) -> str:
    log = server.wait_for_log('"metrics listening"')
    port = int(log.split('"metrics listening"', 1)[1].split('"address": "', 1)[1].split('"', 1)[0].rsplit(":", 1)[1])
    return f"http://127.0.0.1:{port}/metrics"


def _token(server: LiveServer, *roles: str, sub: str = "ops") -> str:
    return dev_issuer.mint_token(server.data_dir, subject=sub, roles=list(roles), audience="modelreg")


def _gql(client: httpx.Client, token: str, query: str, variables: dict | None = None) -> dict:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.json()


def _wait(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_public_port_hides_metrics_when_a_metrics_port_is_set(server):
    assert httpx.get(f"{server.url}/metrics").status_code == 404  # no token asked, and not served here
    metrics_url = _metrics_url(server)
    assert httpx.get(metrics_url.replace("/metrics", "/graphql")).status_code == 404  # the listener serves one path


def test_every_named_series_moves_with_the_workload(server):
    metrics_url = _metrics_url(server)
    ok_hook, failing_hook = Receiver(), Receiver(answer=lambda received: 500)
    mlops, scientist = _token(server, "mlops"), _token(server, "data-scientist", sub="scientist")
    auditor = _token(server, "auditor", sub="auditor")
    before = scrape(metrics_url)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for receiver in (ok_hook, failing_hook):
                assert "errors" not in _gql(client, mlops, CREATE_WEBHOOK, {"url": receiver.url()})
            upload = client.put("/api/artifacts/blobs", content=MODEL, headers={"Authorization": f"Bearer {scientist}"})
            assert upload.status_code == 201, upload.text
            versions = []
            for _ in range(3):
                created = _gql(
                    client,
                    scientist,
                    CREATE_VERSION,
                    {
                        "input": {
                            "name": "metrics/model",
                            "createModelIfMissing": True,
                            "files": [{"path": "model.bin", "digest": _sha(MODEL)}],
                        }
                    },
                )
                assert "errors" not in created, created
                versions.append(created["data"]["createModelVersion"]["modelVersion"])
            requested = _gql(client, scientist, REQUEST_STAGING, {"name": "metrics/model", "version": 1})
            assert "errors" not in requested, requested
            download = client.get(
                "/api/artifacts/files",
                params={"uri": "models:/metrics/model/1", "path": "model.bin"},
                headers={"Authorization": f"Bearer {auditor}"},
            )
            assert download.status_code == 200 and download.content == MODEL
            assert _gql(client, auditor, VERIFY_AUDIT)["data"]["auditIntegrity"]["ok"] is True
            assert client.post("/graphql", json={"query": "{ viewer { subject } }"}).status_code == 401  # no token
            syntax = _gql(client, scientist, "query Broken { viewer { ")
            assert syntax["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            deep = _gql(client, scientist, TOO_DEEP)
            assert "exceeds maximum operation depth" in deep["errors"][0]["message"], deep
            batch = client.post(
                "/graphql",
                json=[{"query": "{ viewer { subject } }"}] * 50,
                headers={"Authorization": f"Bearer {scientist}"},
            )
            assert "MODELREG_MAX_BATCH" in batch.text
        # 4 versions' events x 2 hooks (the model's creation and the request too): wait for the first attempts.
        _wait(lambda: len(ok_hook.received) >= 5 and len(failing_hook.received) >= 5, "webhook deliveries")
        during = asyncio.run(_scrape_while_subscribed(server.url, scientist, 3, metrics_url))
        _wait(lambda: value(scrape(metrics_url), "modelreg_subscription_clients") == 0, "closed subscriptions")
    finally:
        ok_hook.stop()
        failing_hook.stop()

    def moved(name: str, **labels: str) -> float:
        return value(during, name, **labels) - value(before, name, **labels)

    # Requests by route and operation, with their durations; statements per request.
    assert moved("modelreg_http_requests_total", route="/graphql", operation="CreateVersion", status="200") == 3
    assert moved("modelreg_http_request_duration_seconds_count", route="/graphql", operation="CreateVersion") == 3
    assert moved("modelreg_http_request_duration_seconds_sum", route="/graphql", operation="CreateVersion") > 0
    assert moved("modelreg_http_requests_total", route="/api/artifacts/files", status="200") == 1
    assert moved("modelreg_db_statements_per_request_count", route="/graphql") >= 10
    assert moved("modelreg_db_statements_per_request_sum", route="/graphql") >= 3 * 5
    # Errors by code, refusals by limit.
    assert moved("modelreg_errors_total", code="UNAUTHENTICATED") == 1
    assert moved("modelreg_errors_total", code="BAD_USER_INPUT") >= 3  # syntax, depth, batch
    assert moved("modelreg_refusals_total", limit="query_depth") == 1
    assert moved("modelreg_refusals_total", limit="batch") == 1
    # The database pool: waits timed, connections in use reported per pool.
    assert moved("modelreg_db_pool_wait_seconds_count") >= 10
    assert present(during, "modelreg_db_pool_connections_in_use")
    # Webhooks: first attempts delivered to one receiver, retried for the other; the retried ones are the backlog.
    assert moved("modelreg_webhook_deliveries_total", outcome="delivered", attempt="1") >= 5
    assert moved("modelreg_webhook_deliveries_total", outcome="retry", attempt="1") >= 5
    assert value(during, "modelreg_outbox_pending_deliveries") >= 5
    assert value(during, "modelreg_outbox_oldest_pending_age_seconds") > 0
    assert value(during, "modelreg_webhook_dead_letters") == 0
    # Subscriptions, artifacts, the audit chain, the process of each worker.
    assert value(during, "modelreg_subscription_clients") == 3
    assert moved("modelreg_artifact_bytes_total", direction="in") == len(MODEL)
    assert moved("modelreg_artifact_bytes_total", direction="out") == len(MODEL)
    assert moved("modelreg_audit_chain_length") >= 6  # webhooks, model, versions, request, verification...
    assert moved("modelreg_audit_verifications_total", result="ok") == 1
    assert value(during, "modelreg_database_up") == 1
    pids = {dict(labels)["pid"] for name, labels in during if name == "process_resident_memory_bytes"}
    assert len(pids) == 2 and value(during, "process_cpu_seconds_total") > 0


def test_database_gauges_read_the_shared_state(server):
    """Staged uploads pending verification and dead letters are read from the database at scrape time. The test
    makes its own version and webhook delivery (xdist may run it on a server of its own, before or without the
    workload test), then marks them and counts from what was there before."""
    metrics_url = _metrics_url(server)
    engine = sync_engine(server.database_url)

    def scalar(sql: str, **params: object) -> object:
        with engine.begin() as connection:
            return connection.execute(text(sql), params).scalar_one()

    receiver = Receiver()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            created = _gql(client, _token(server, "mlops"), CREATE_WEBHOOK, {"url": receiver.url("/state")})
            assert "errors" not in created, created
            made = _gql(client, _token(server, "data-scientist", sub="scientist"), CREATE_VERSION,
                        {"input": {"name": "metrics/state", "createModelIfMissing": True}})
            assert "errors" not in made, made
        hook_id = int(base64.b64decode(created["data"]["createWebhook"]["webhook"]["id"]).decode().rsplit(":", 1)[1])
        delivery_id = scalar("SELECT max(id) FROM webhook_deliveries WHERE webhook_id = :hook", hook=hook_id)
        # Delivered first: a dispatcher no longer touches the row, so marking it DEAD below is not overwritten.
        _wait(lambda: scalar("SELECT status FROM webhook_deliveries WHERE id = :id", id=delivery_id) == "DELIVERED",
              "the delivery")
    finally:
        receiver.stop()
    version_id = scalar(
        "SELECT v.id FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE m.name = 'metrics/state'"
    )
    delivery = "DELIVERED"
    before = scrape(metrics_url)
    pending = value(before, "modelreg_staged_uploads_pending_verification")
    dead = value(before, "modelreg_webhook_dead_letters")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE model_versions SET status = 'PENDING_REGISTRATION' WHERE id = :id"), {"id": version_id}
        )
        connection.execute(text("UPDATE webhook_deliveries SET status = 'DEAD' WHERE id = :id"), {"id": delivery_id})
    try:
        samples = scrape(metrics_url)
        assert value(samples, "modelreg_staged_uploads_pending_verification") == pending + 1
        assert value(samples, "modelreg_webhook_dead_letters") == dead + 1
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE model_versions SET status = 'READY' WHERE id = :id"), {"id": version_id})
            connection.execute(
                text("UPDATE webhook_deliveries SET status = :s WHERE id = :id"), {"s": delivery, "id": delivery_id}
            )
    assert value(scrape(metrics_url), "modelreg_staged_uploads_pending_verification") == pending


def test_one_process_serves_metrics_on_the_public_port_without_a_token(live_server):
    samples = scrape(f"{live_server.url}/metrics")
    assert present(samples, "modelreg_http_requests_total") or present(
        samples, "modelreg_http_request_duration_seconds_count"
    )
    assert value(samples, "process_resident_memory_bytes") > 0  # prometheus-client's own process collector
    assert value(samples, "modelreg_database_up") == 1


async def _scrape_while_subscribed(url: str, token: str, count: int, metrics_url: str) -> Samples:
    subscribers = [await Subscriber.connect(url, token) for _ in range(count)]
    try:
        return await asyncio.to_thread(scrape, metrics_url)
    finally:
        for subscriber in subscribers:
            await subscriber.close()


def test_the_worker_serves_its_own_metrics(server):
    """`modelreg worker` (webhook deliveries without HTTP) answers /metrics on MODELREG_METRICS_PORT."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELREG_", "PROMETHEUS_", "OTEL_"))}
    env.update(
        {
            "MODELREG_DATA_DIR": str(server.data_dir),
            "MODELREG_DATABASE_URL": server.database_url,
            "MODELREG_METRICS_PORT": str(port),
            "MODELREG_WEBHOOK_ALLOW_PRIVATE": "true",
        }
    )
    log = server.data_dir / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            _wait(lambda: _answers(url) or worker.poll() is not None, "the worker's metrics listener", timeout=60)
            assert worker.poll() is None, log.read_text()
            samples = scrape(url)
        finally:
            worker.terminate()
            worker.wait(15)
    assert value(samples, "modelreg_database_up") == 1
    assert present(samples, "modelreg_outbox_pending_deliveries")
    assert value(samples, "process_resident_memory_bytes") > 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
