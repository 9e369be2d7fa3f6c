"""Crash safety of webhooks with real server processes: an event committed just before the server dies (SIGKILL)
is delivered by the restarted server, once; a delivery cut off mid-flight is sent again (at least once)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

SECRET = "crash-test-secret-0123"


def call(server: LiveServer, token: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(f"{server.url}/graphql", headers={"Authorization": f"Bearer {token}"},
                          json={"query": query, "variables": variables or {}}, timeout=30)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def register(server: LiveServer, token: str, url: str, model: str) -> None:
    call(server, token, "mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id } } }",
         {"in": {"url": url, "secret": SECRET, "events": ["VERSION_CREATED"]}})
    call(server, token, "mutation($in: CreateModelVersionInput!) { createModelVersion(input: $in) "
                        "{ modelVersion { uri } } }", {"in": {"name": model, "createModelIfMissing": True}})


# Loopback receivers allowed; a short timeout so a dead process's lease (2 x timeout + 5 s) runs out soon.
SERVER_ENV = {"MODELREG_WEBHOOK_ALLOW_PRIVATE": "true", "MODELREG_WEBHOOK_TIMEOUT": "2"}


def kill(server: LiveServer) -> None:
    server.process.kill()
    server.process.wait(10)
    server.stop()


def test_an_event_committed_before_a_crash_is_delivered_once_after_restart(tmp_path_factory):
    receiver = Receiver()
    server_dir = tmp_path_factory.mktemp("crash")
    try:
        with fresh_database(server_dir, "crash") as url:
            # No dispatcher in the first process: the event is committed, nothing is sent, then the process dies.
            first = LiveServer(server_dir, url, {**SERVER_ENV, "MODELREG_DISPATCHER": "false"})
            token = dev_issuer.mint_token(server_dir, subject="ci", roles=["mlops"], audience="modelreg")
            try:
                register(first, token, receiver.url(), "crash/a")
            finally:
                kill(first)
            assert receiver.received == []
            second = LiveServer(server_dir, url, SERVER_ENV)
            try:
                receiver.wait_for(1, timeout=15)
                time.sleep(1.5)  # time for a duplicate to show up, were there one
                ids = [got.headers["modelreg-event-id"] for got in receiver.received]
                assert len(ids) == 1, ids
                assert json.loads(receiver.received[0].body)["modelName"] == "crash/a"
            finally:
                second.stop()
    finally:
        receiver.stop()


def test_a_delivery_cut_off_by_a_crash_is_sent_again(tmp_path_factory):
    calls = []

    def slow_first(got):
        calls.append(got)
        if len(calls) == 1:
            time.sleep(1.5)  # the server dies while this request is in flight
        return 200

    receiver = Receiver(answer=slow_first)
    server_dir = tmp_path_factory.mktemp("crash-mid")
    try:
        with fresh_database(server_dir, "crashmid") as url:
            first = LiveServer(server_dir, url, SERVER_ENV)
            token = dev_issuer.mint_token(server_dir, subject="ci", roles=["mlops"], audience="modelreg")
            try:
                register(first, token, receiver.url(), "crash/b")
                receiver.wait_for(1, timeout=15)
            finally:
                kill(first)
            second = LiveServer(server_dir, url, SERVER_ENV)
            try:
                receiver.wait_for(2, timeout=30)  # after the dead process's lease (2 x timeout + 5 s) ran out
                assert len({got.headers["modelreg-event-id"] for got in receiver.received}) == 1
            finally:
                second.stop()
    finally:
        receiver.stop()


def test_modelreg_worker_delivers_for_replicas_without_a_dispatcher(tmp_path_factory):
    import os
    import signal
    import subprocess
    import sys

    receiver = Receiver()
    server_dir = tmp_path_factory.mktemp("worker")
    try:
        with fresh_database(server_dir, "worker") as url:
            api = LiveServer(server_dir, url, {**SERVER_ENV, "MODELREG_DISPATCHER": "false"})
            worker = None
            try:
                token = dev_issuer.mint_token(server_dir, subject="ci", roles=["mlops"], audience="modelreg")
                register(api, token, receiver.url(), "worker/a")
                time.sleep(1.0)
                assert receiver.received == []  # the API replica does not deliver
                worker_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
                worker_env.update({"MODELREG_DATA_DIR": str(server_dir), "MODELREG_DATABASE_URL": url, **SERVER_ENV})
                worker = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=worker_env,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
                receiver.wait_for(1, timeout=20)
                assert json.loads(receiver.received[0].body)["modelName"] == "worker/a"
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(15) == 0  # stops cleanly on SIGTERM
            finally:
                if worker is not None and worker.poll() is None:
                    worker.kill()
                api.stop()
    finally:
        receiver.stop()
