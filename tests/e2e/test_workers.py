"""`modelreg serve --workers 2`: two server processes on one port, each like a replica (the parent applied the
migrations before starting them). Both answer, and a change made through either reaches a subscriber of either at
once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.subscriptions import CREATE_VERSION, Subscriber, gql

pytestmark = pytest.mark.e2e

WORKERS = 2
PROMPT_S = 3  # the safety-net poll is set to 30 s


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def _workers(server: LiveServer) -> list[int]:
    """The worker processes: children of the supervisor that run Python (not the resource tracker)."""
    return [pid for pid in _children(server.process.pid)
            if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
            and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("workers")
    with fresh_database(data_dir, "workers") as url:
        live = LiveServer(data_dir, url, {**artifact_store_env, "MODELREG_WORKERS": str(WORKERS),
                                          "MODELREG_EVENTS_POLL_INTERVAL": "30"})
        try:
            deadline = time.monotonic() + 20
            while len(_workers(live)) < WORKERS:
                assert time.monotonic() < deadline, live.log()[-3000:]
                time.sleep(0.1)
            yield live
        finally:
            live.stop()


def test_two_worker_processes_share_the_port(server):
    assert len(_workers(server)) == WORKERS
    token = dev_issuer.mint_token(server.data_dir, subject="ci", roles=["mlops"], audience="modelreg")
    for _ in range(20):  # a new connection each time: the kernel hands them to either worker
        response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { subject } }"},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"data": {"viewer": {"subject": "ci"}}}
    log = server.log()
    assert log.count("starting worker processes") == 1
    assert '"path": "/graphql"' in log and "uvicorn.access" not in log  # one request line, ours, as with one process


async def test_a_change_through_any_worker_reaches_subscribers_of_every_worker_at_once(server):
    writer = dev_issuer.mint_token(server.data_dir, subject="ci", roles=["mlops"], audience="modelreg")
    reader = dev_issuer.mint_token(server.data_dir, subject="watcher", roles=["data-scientist"], audience="modelreg")
    # Six connections: spread over both workers by the kernel (all six on one worker: about 3% of runs, and the
    # writes below arrive over new connections as well).
    subscribers = [await Subscriber.connect(server.url, reader) for _ in range(6)]
    try:
        for subscriber in subscribers:
            await subscriber.events({"modelName": "workers/*"})
        await asyncio.sleep(0.5)
        for n in range(4):
            started = time.monotonic()
            await gql(server.url, writer, CREATE_VERSION, {"name": f"workers/m{n}"})
            for subscriber in subscribers:
                got = [await subscriber.event(timeout=PROMPT_S) for _ in range(3)]
                assert [event["modelName"] for event in got] == [f"workers/m{n}"] * 3
            assert time.monotonic() - started < PROMPT_S, "not by wake-up: the poll is 30 s"
    finally:
        for subscriber in subscribers:
            await subscriber.ws.close()
