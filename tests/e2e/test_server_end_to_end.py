"""A real `modelreg serve` process: tokens from the CLI, GraphQL over HTTP, logs, graceful shutdown."""

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

REGISTER = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { uri createdBy { subject } model { owner } } }
}
"""


def cli_token(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    env["MODELREG_DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, "-m", "app", "token", *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_ci_registers_a_version_with_a_cli_token(live_server):
    token = cli_token(live_server.data_dir, "--sub", "ci-fraud", "--role", "mlops", "--service", "--ttl", "10m")
    response = httpx.post(f"{live_server.url}/graphql", headers={"Authorization": f"Bearer {token}",
                                                                  "X-Request-ID": "e2e-req-1"},
                          json={"query": REGISTER, "variables": {"input": {"name": "e2e/fraud",
                                                                           "createModelIfMissing": True}}})
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "e2e-req-1"
    version = response.json()["data"]["createModelVersion"]["modelVersion"]
    assert version == {"uri": "models:/e2e/fraud/1", "createdBy": {"subject": "ci-fraud"}, "model": {"owner": "ci-fraud"}}

    log = live_server.wait_for_log('"request_id": "e2e-req-1", "method"')
    log_lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    request_lines = [line for line in log_lines if line.get("request_id") == "e2e-req-1"]
    assert request_lines and request_lines[-1]["status"] == 200
    assert token not in live_server.log()


def test_requests_without_valid_token_get_401(live_server):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        response = httpx.post(f"{live_server.url}/graphql", json={"query": "{ viewer { subject } }"}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert httpx.get(f"{live_server.url}/healthz").json() == {"status": "ok"}


def test_sigterm_shuts_down_cleanly(tmp_path):
    with fresh_database(tmp_path, "shutdown") as url:
        server = LiveServer(tmp_path, url)
        # uvicorn finishes the shutdown, then re-raises the signal it caught, as process managers expect.
        assert server.stop() in (0, -15)
        assert "Application shutdown complete." in server.log()
