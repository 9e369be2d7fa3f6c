"""Webhook benchmark: events per second delivered to a local receiver, and API latency while 1,000 deliveries
are retrying.

Run from the project root::

    .venv/bin/python benchmarks/webhook_bench.py                          # SQLite, fresh temporary file
    .venv/bin/python benchmarks/webhook_bench.py --database postgresql    # throw-away database on 127.0.0.1:5432
    .venv/bin/python benchmarks/webhook_bench.py --quick                  # 10x fewer events and requests
    .venv/bin/python benchmarks/webhook_bench.py --events 2000 --retrying 1000 --requests 200 \\
        --receiver thread                       # the tests' ThreadingHTTPServer, in process, instead of uvicorn

Setup: a fresh, migrated database (a SQLite file in a temporary folder, or a new database on the PostgreSQL
server, dropped at the end), the app built in process with ``create_app(Settings(..., webhook_allow_private=True,
dispatcher=False))`` with its lifespan running, called through ``httpx.ASGITransport`` with an ``mlops`` token of
the development issuer. The receiver is by default a separate process (this file run with ``--serve-receiver``):
uvicorn (httptools, uvloop) on a loopback port with a bare ASGI app that checks every signature, answers 200 on
``/ok`` and 500 on ``/fail``, and reports its counts, the most requests it had in flight at once and its own CPU
time on ``GET /stats``. ``--receiver thread`` uses ``tests/support/webhook_receiver.py`` (a ThreadingHTTPServer
in the benchmark's own process, sharing its GIL) instead.

Scenario 1, ``delivery_throughput``: a webhook to ``/ok`` for ``tput/*``; ``--events`` createRegisteredModel
mutations through the API (8 at a time) queue one ``model.created`` delivery each, with no dispatcher running;
then a ``Dispatcher`` with its defaults (the production concurrency, per-webhook limit and poll interval) and
``HttpWebhookSender(10 s, allow_private=True)`` starts, and the script waits until every delivery is DELIVERED
(the sender is wrapped to count its successes in memory, so nothing polls the database meanwhile). Events/s =
deliveries / (last ``delivered_at`` - dispatcher start). Also: the receiver's count (every event exactly once,
every signature valid), attempts, the fraction of 100 ms slices between start and end in which nothing was
delivered (the dispatcher idling), the most sends in flight at once to the webhook (what the dispatcher's
``per_webhook`` limit should bound) and the most requests the receiver handled at once, and CPU seconds of this
process, of the receiver and of the whole machine over the run.

Scenario 2, ``api_latency_while_retrying``: a second webhook to ``/fail`` (always HTTP 500) for ``retry/*``;
``--retrying`` createRegisteredModel mutations queue as many deliveries. A dispatcher with the default
concurrency and a fast ``RetryPolicy`` (first delay 100 ms, at most 1 s, retry period 1 h: nothing goes DEAD
during the run) retries them, so every delivery is due again within a second of each failure and the dispatcher
works flat out. One client at a time asks ``registeredModels(first: 20)`` and ``createModelVersion`` (on one of
10 ``lat/*`` models, which no webhook wants) ``--requests`` times each with the dispatcher running, after
``--settle`` seconds of retrying; the baseline is the same requests with the dispatcher stopped, half before
and half after the loaded window, in the same run. Prints p50/p95/max of both and the loaded/baseline ratios,
plus the attempts per second during the window (from the delivery rows and from the receiver's count).

Prints JSON lines on stdout: a header with the setup, then one line per scenario. Progress goes to stderr.
Exits 1 on any GraphQL error, or when deliveries are lost, duplicated, badly signed or do not finish in time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import inspect
import json
import math
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# The application is imported inside the functions that use it, so that ``--serve-receiver`` (the receiver's
# process) starts with uvicorn alone.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.stats import ms, percentile  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "whsec-bench-0123456789abcdef"
SECRET_ENV = "WEBHOOK_BENCH_SECRET"
ACTOR = "webhook-bench"
SENDER_TIMEOUT = 10.0  # MODELREG_WEBHOOK_TIMEOUT's default
PRODUCERS = 8  # concurrent mutations while queueing events
LATENCY_MODELS = 10
FAST_RETRY = {"first_delay_ms": 100, "max_delay_ms": 1000, "period_s": 3600}


# ------------------------------------------------------------------------- the receiver (its own process)


def _signature_ok(secret: bytes, header: str, body: bytes) -> bool:
    """The receiver's check from docs/events.md (without the timestamp tolerance)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        expected = hmac.new(secret, f"{int(fields['t'])}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["v1"])
    except (KeyError, ValueError):
        return False


def receiver_app(secret: bytes) -> Any:
    """A bare ASGI app: POST /ok -> 200, POST anything else -> 500, GET /stats -> counts as JSON."""
    state = {"ok": 0, "fail": 0, "bad_signatures": 0, "inflight": 0, "max_inflight": 0,
             "first_ok": None, "last_ok": None}
    ok_ids: set[str] = set()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            body = json.dumps({**state, "ok_distinct": len(ok_ids), "cpu_seconds": time.process_time()}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        state["inflight"] += 1
        state["max_inflight"] = max(state["max_inflight"], state["inflight"])
        try:
            chunks = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            headers = dict(scope["headers"])
            if not _signature_ok(secret, headers.get(b"modelreg-signature", b"").decode(), body):
                state["bad_signatures"] += 1
            if scope["path"] == "/ok":
                state["ok"] += 1
                ok_ids.add(headers.get(b"modelreg-event-id", b"").decode())
                now = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process on Linux
                state["first_ok"] = state["first_ok"] or now
                state["last_ok"] = now
                status = 200
            else:
                state["fail"] += 1
                status = 500
        finally:
            state["inflight"] -= 1
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def serve_receiver() -> None:
    """``--serve-receiver``: bind a loopback port, print it on stdout, serve until SIGTERM."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(receiver_app(os.environ[SECRET_ENV].encode()), lifespan="off", log_level="warning",
                            access_log=False, http="httptools", loop="uvloop", backlog=4096,
                            timeout_keep_alive=60)
    uvicorn.Server(config).run(sockets=[sock])


class ProcessReceiver:
    kind = "uvicorn-process"

    def __init__(self) -> None:
        import httpx

        self._process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-receiver"],
                                         stdout=subprocess.PIPE, env={**os.environ, SECRET_ENV: SECRET}, text=True)
        line = self._process.stdout.readline() if self._process.stdout else ""
        if not line.strip().isdigit():
            self._process.kill()
            raise RuntimeError(f"the receiver did not start (got {line!r})")
        self.port = int(line)
        self.pid = self._process.pid
        self._client = httpx.AsyncClient(timeout=10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def stats(self) -> dict[str, Any]:
        return (await self._client.get(self.url("/stats"))).json()

    async def stop(self) -> None:
        await self._client.aclose()
        self._process.terminate()  # the process this object started, by its PID
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class ThreadReceiver:
    """tests/support/webhook_receiver.py: a ThreadingHTTPServer in this process."""

    kind = "threading-http-server-in-process"
    pid = None

    def __init__(self) -> None:
        from tests.support.webhook_receiver import Receiver

        self._receiver = Receiver(answer=lambda got: 200 if got.path == "/ok" else 500)
        self._checked = 0
        self._bad = 0

    def url(self, path: str) -> str:
        return self._receiver.url(path)

    async def stats(self) -> dict[str, Any]:
        received = list(self._receiver.received)
        for got in received[self._checked:]:
            if not _signature_ok(SECRET.encode(), got.headers.get("modelreg-signature", ""), got.body):
                self._bad += 1
        self._checked = len(received)
        ok = [got for got in received if got.path == "/ok"]
        return {"ok": len(ok), "fail": len(received) - len(ok), "bad_signatures": self._bad,
                "ok_distinct": len({got.headers.get("modelreg-event-id") for got in ok}),
                "max_inflight": None, "first_ok": None, "last_ok": None, "cpu_seconds": None}

    async def stop(self) -> None:
        self._receiver.stop()


# ------------------------------------------------------------------------------------------------ helpers


class GraphQLFailure(Exception):
    pass


@dataclass
class Bench:
    client: Any  # httpx.AsyncClient on the ASGI app
    app: Any
    database: str
    errors: int = 0

    async def gql(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": document, "variables": variables or {}})
        try:
            body = response.json()
        except ValueError:
            body = {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:300]}"}]}
        if response.status_code != 200 or body.get("errors") or not body.get("data"):
            self.errors += 1
            message = json.dumps(body.get("errors"))[:500]
            print(f"  GraphQL ERROR (HTTP {response.status_code}): {message}", file=sys.stderr, flush=True)
            raise GraphQLFailure(message)
        return body["data"]


CREATE_WEBHOOK = """
mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id url } } }
"""
CREATE_MODEL = """
mutation($in: CreateRegisteredModelInput!) { createRegisteredModel(input: $in) { registeredModel { name } } }
"""
LIST_MODELS = """
query { registeredModels(first: 20) { nodes { name owner updatedAt } pageInfo { hasNextPage endCursor } } }
"""
CREATE_VERSION = """
mutation($in: CreateModelVersionInput!) { createModelVersion(input: $in) { modelVersion { id version uri } } }
"""


def summary(seconds: list[float]) -> dict[str, Any]:
    return {"requests": len(seconds), "p50_ms": ms(percentile(seconds, 0.5)),
            "p95_ms": ms(percentile(seconds, 0.95)), "max_ms": ms(max(seconds, default=None))}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    """CPU seconds of this process, of the receiver process and the machine's busy fraction over a span."""

    def __init__(self, receiver: Any) -> None:
        self._receiver = receiver

    async def __aenter__(self) -> "CpuMeter":
        self._wall = time.perf_counter()
        self._own = time.process_time()
        self._machine = machine_cpu()
        self._recv = (await self._receiver.stats()).get("cpu_seconds")
        return self

    async def __aexit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._own
        busy, total = machine_cpu()
        recv = (await self._receiver.stats()).get("cpu_seconds")
        self.result = {
            "wall_seconds": round(wall, 2), "bench_process_cpu_seconds": round(own, 2),
            "bench_process_cpu_percent": round(100 * own / wall, 1) if wall else None,
            "receiver_cpu_seconds": round(recv - self._recv, 2) if recv is not None else None,
            "machine_busy_percent_all_cores": round(100 * (busy - self._machine[0]) / max(1, total - self._machine[1]),
                                                    1),
            "cores": os.cpu_count(),
        }


def dispatcher_defaults() -> dict[str, Any]:
    from app.services.dispatch import Dispatcher

    parameters = inspect.signature(Dispatcher.__init__).parameters
    return {name: parameters[name].default for name in ("concurrency", "per_webhook", "poll_interval")}


async def delivery_counts(app: Any, webhook_id: int) -> dict[str, Any]:
    """Deliveries of a webhook by status, and attempts made in all."""
    from sqlalchemy import func, select

    from app.db.event_tables import WebhookDeliveryRow as Row

    async with app.state.database.read_sessions() as session:
        rows = (await session.execute(select(Row.status, func.count(), func.coalesce(func.sum(Row.attempts), 0))
                                      .where(Row.webhook_id == webhook_id).group_by(Row.status))).all()
    counts = {status: count for status, count, _ in rows}
    return {"PENDING": counts.get("PENDING", 0), "DELIVERED": counts.get("DELIVERED", 0),
            "DEAD": counts.get("DEAD", 0), "attempts": int(sum(attempts for _, _, attempts in rows))}


async def delivered_times(app: Any, webhook_id: int) -> list[tuple[datetime, int, int | None]]:
    from sqlalchemy import select

    from app.db.event_tables import WebhookDeliveryRow as Row

    async with app.state.database.read_sessions() as session:
        rows = (await session.execute(select(Row.delivered_at, Row.attempts, Row.last_latency_ms)
                                      .where(Row.webhook_id == webhook_id, Row.status == "DELIVERED"))).all()
    return [(row[0], row[1], row[2]) for row in rows]


async def create_webhook(bench: Bench, url: str, pattern: str) -> int:
    from app.graphql.relay import from_global_id

    data = await bench.gql(CREATE_WEBHOOK, {"in": {"url": url, "secret": SECRET, "modelNamePattern": pattern,
                                                   "description": "webhook benchmark"}})
    return int(from_global_id(data["createWebhook"]["webhook"]["id"])[1])


async def produce(bench: Bench, prefix: str, count: int) -> dict[str, Any]:
    """``count`` createRegisteredModel mutations, PRODUCERS at a time: one event (and delivery) each."""
    started = time.perf_counter()
    cursor = iter(range(count))

    async def worker() -> None:
        for index in cursor:
            await bench.gql(CREATE_MODEL, {"in": {"name": f"{prefix}/m-{index:05d}"}})
            done = index + 1
            if done % 500 == 0:
                print(f"  {prefix}: {done}/{count} events", file=sys.stderr, flush=True)

    await asyncio.gather(*(worker() for _ in range(PRODUCERS)))
    seconds = time.perf_counter() - started
    return {"mutations": count, "seconds": round(seconds, 2), "mutations_per_s": round(count / seconds, 1)}


class CountingSender:
    """Wraps the real ``HttpWebhookSender``: counts sends and their outcomes, and the most sends in flight at
    once per URL (what the dispatcher's per-webhook limit should bound), without touching the database."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent = 0
        self.ok = 0
        self.inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self._goal: tuple[int, asyncio.Event] | None = None

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Any:
        self.inflight[url] += 1
        self.max_inflight[url] = max(self.max_inflight[url], self.inflight[url])
        try:
            result = await self.inner.send(url, body, headers)
        finally:
            self.inflight[url] -= 1
        self.sent += 1
        self.ok += 1 if result.ok else 0
        if self._goal and self.ok >= self._goal[0]:
            self._goal[1].set()
        return result

    async def wait_ok(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` sends succeeded (False on timeout), printing progress every 5 s."""
        reached = asyncio.Event()
        self._goal = (count, reached)
        if self.ok >= count:
            return True
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                await asyncio.wait_for(reached.wait(), min(5.0, deadline - time.perf_counter()))
                return True
            except TimeoutError:
                print(f"  {self.ok}/{count} sent", file=sys.stderr, flush=True)
        return False

    async def close(self) -> None:
        await self.inner.close()


def new_dispatcher(app: Any, policy: Any, sender: Any) -> Any:
    from app.services.dispatch import Dispatcher

    return Dispatcher(app.state.uow, sender, app.state.webhooks.secrets, policy, timeout=SENDER_TIMEOUT)


class Running:
    """A dispatcher loop that can be paused without cutting deliveries short: the loop is cancelled, then
    the sends in flight finish and record their attempt (``Dispatcher.stop()`` would cancel them too and leave
    their claims leased for 25 s)."""

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.dispatcher.run(), name="bench-dispatcher")

    async def pause(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.dispatcher.idle()


# ----------------------------------------------------------------------------------------------- scenarios


async def throughput(bench: Bench, receiver: Any, events: int, deadline_s: float) -> tuple[dict[str, Any], int]:
    from app.domain.webhooks import RetryPolicy
    from app.webhooks.sender import HttpWebhookSender

    app = bench.app
    hook = await create_webhook(bench, receiver.url("/ok"), "tput/*")
    print(f"scenario 1: queueing {events} events through the API...", file=sys.stderr, flush=True)
    produced = await produce(bench, "tput", events)
    before = await delivery_counts(app, hook)
    assert before["PENDING"] == events, before
    received_before = await receiver.stats()

    sender = CountingSender(HttpWebhookSender(SENDER_TIMEOUT, allow_private=True))
    running = Running(new_dispatcher(app, RetryPolicy(), sender))
    failures = 0
    print(f"scenario 1: delivering {events} events...", file=sys.stderr, flush=True)
    gc.collect()
    async with CpuMeter(receiver) as cpu:
        started_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        started_mono = time.monotonic()
        running.start()
        if not await sender.wait_ok(events, deadline_s):
            print(f"  TIMEOUT: {sender.ok} of {events} sent after {deadline_s} s", file=sys.stderr, flush=True)
            failures += 1
        await running.pause()  # the sends in flight finish and record their attempts
        observed = time.perf_counter() - started
    await sender.close()

    times = await delivered_times(app, hook)
    counts = await delivery_counts(app, hook)
    received = await receiver.stats()
    last = max(t for t, _, _ in times)
    seconds = (last - started_at).total_seconds()
    # The dispatcher's rhythm: 100 ms slices from its start to the last delivery in which nothing was delivered.
    slices = max(1, math.ceil(seconds / 0.1))
    busy_slices = {min(slices - 1, int((t - started_at).total_seconds() / 0.1)) for t, _, _ in times}
    per_second = [0] * max(1, math.ceil(seconds))
    for t, _, _ in times:
        per_second[min(len(per_second) - 1, int((t - started_at).total_seconds()))] += 1
    got = received["ok"] - received_before["ok"]
    distinct = received["ok_distinct"] - received_before["ok_distinct"]
    problems = []
    if counts["DELIVERED"] != events:
        problems.append(f"{counts['DELIVERED']} of {events} DELIVERED")
    if distinct != events:
        problems.append(f"the receiver got {distinct} distinct events of {events}")
    if got != distinct:
        problems.append(f"the receiver got {got - distinct} duplicate deliveries")
    if received["bad_signatures"]:
        problems.append(f"{received['bad_signatures']} bad signatures")
    for problem in problems:
        print(f"  PROBLEM: {problem}", file=sys.stderr, flush=True)
    latencies = [latency / 1000 for _, _, latency in times if latency is not None]
    result = {
        "scenario": "delivery_throughput", "database": bench.database, "receiver": receiver.kind,
        "events": events, "queued_via_api": produced,
        "delivered": counts["DELIVERED"], "attempts": counts["attempts"],
        "seconds": round(seconds, 3), "events_per_s": round(counts["DELIVERED"] / seconds, 1),
        "observed_seconds": round(observed, 2),
        "receiver_requests": got, "receiver_distinct_events": distinct, "receiver_duplicates": got - distinct,
        "bad_signatures": received["bad_signatures"],
        "receiver_span_s": (round(received["last_ok"] - max(received["first_ok"], started_mono), 3)
                            if received.get("last_ok") else None),
        "max_inflight_to_the_webhook": sender.max_inflight[receiver.url("/ok")],
        "receiver_max_inflight": received.get("max_inflight"),
        "idle_100ms_slices_percent": round(100 * (1 - len(busy_slices) / slices), 1),
        "deliveries_per_second_min_median_max": [min(per_second), sorted(per_second)[len(per_second) // 2],
                                                 max(per_second)],
        "send_latency_ms_p50_p95": [ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.95))],
        "cpu": cpu.result,
        "problems": problems,
    }
    return result, failures + len(problems)


async def latency(bench: Bench, receiver: Any, retrying: int, requests: int, settle: float) -> tuple[dict, int]:
    from app.domain.webhooks import RetryPolicy
    from app.webhooks.sender import HttpWebhookSender

    app = bench.app
    hook = await create_webhook(bench, receiver.url("/fail"), "retry/*")
    print(f"scenario 2: queueing {retrying} deliveries to a receiver that answers 500...", file=sys.stderr,
          flush=True)
    produced = await produce(bench, "retry", retrying)
    policy = RetryPolicy(first_delay=timedelta(milliseconds=FAST_RETRY["first_delay_ms"]),
                         max_delay=timedelta(milliseconds=FAST_RETRY["max_delay_ms"]),
                         period=timedelta(seconds=FAST_RETRY["period_s"]))
    sender = CountingSender(HttpWebhookSender(SENDER_TIMEOUT, allow_private=True))
    running = Running(new_dispatcher(app, policy, sender))
    counter = iter(range(10**9))

    async def query() -> None:
        data = await bench.gql(LIST_MODELS)
        if len(data["registeredModels"]["nodes"]) != 20:
            raise GraphQLFailure("registeredModels(first: 20) did not return 20 models")

    async def mutation() -> None:
        n = next(counter)
        await bench.gql(CREATE_VERSION, {"in": {"name": f"lat/m-{n % LATENCY_MODELS}", "createModelIfMissing": True,
                                                "artifact": {"uri": f"s3://bench/lat/{n}/model.bin",
                                                             "digest": "sha256:" + hashlib.sha256(
                                                                 str(n).encode()).hexdigest()}}})

    operations = {"query_registeredModels_first_20": query, "mutation_createModelVersion": mutation}

    async def measure(operation: Any, count: int) -> list[float]:
        seconds = []
        for _ in range(count):
            started = time.perf_counter()
            try:
                await operation()
            except GraphQLFailure:
                pass
            seconds.append(time.perf_counter() - started)
        return seconds

    # Warm-up (documents parsed, connections pooled, the lat/* models created), unrecorded.
    for operation in operations.values():
        await measure(operation, 2 * LATENCY_MODELS)

    half = max(1, requests // 2)
    samples: dict[str, dict[str, list[float]]] = {name: {"before": [], "loaded": [], "after": []}
                                                  for name in operations}
    print(f"scenario 2: baseline (dispatcher stopped), {half} requests each...", file=sys.stderr, flush=True)
    for name, operation in operations.items():
        samples[name]["before"] = await measure(operation, half)

    print(f"scenario 2: dispatcher retrying, {settle} s to settle...", file=sys.stderr, flush=True)
    running.start()
    await asyncio.sleep(settle)
    window_start_counts = await delivery_counts(app, hook)
    window_start_received = await receiver.stats()
    window_start_sent = sender.sent
    print(f"scenario 2: measuring under retry load, {requests} requests each...", file=sys.stderr, flush=True)
    async with CpuMeter(receiver) as cpu:
        window_started = time.perf_counter()
        for name, operation in operations.items():
            samples[name]["loaded"] = await measure(operation, requests)
        window = time.perf_counter() - window_started
        window_end_counts = await delivery_counts(app, hook)
        window_end_received = await receiver.stats()
        window_sent = sender.sent - window_start_sent
    await running.pause()
    print(f"scenario 2: baseline again (dispatcher stopped), {half} requests each...", file=sys.stderr, flush=True)
    for name, operation in operations.items():
        samples[name]["after"] = await measure(operation, half)
    await sender.close()
    final = await delivery_counts(app, hook)

    attempts = window_end_counts["attempts"] - window_start_counts["attempts"]
    hits = window_end_received["fail"] - window_start_received["fail"]
    result: dict[str, Any] = {
        "scenario": "api_latency_while_retrying", "database": bench.database, "receiver": receiver.kind,
        "retrying": retrying, "queued_via_api": produced,
        "retry_policy": FAST_RETRY, "settle_s": settle, "window_seconds": round(window, 2),
        "attempts_in_window": attempts, "attempts_per_s": round(attempts / window, 1),
        "sends_per_s": round(window_sent / window, 1), "receiver_500s_per_s": round(hits / window, 1),
        "max_inflight_to_the_webhook": sender.max_inflight[receiver.url("/fail")],
        "deliveries_after": final,
    }
    for name in operations:
        baseline = samples[name]["before"] + samples[name]["after"]
        loaded = samples[name]["loaded"]
        base, load = summary(baseline), summary(loaded)
        result[name] = {
            "baseline": base, "retrying": load,
            "ratio_p50": _ratio(load["p50_ms"], base["p50_ms"]), "ratio_p95": _ratio(load["p95_ms"], base["p95_ms"]),
            "baseline_p50_ms_before_after": [ms(percentile(samples[name]["before"], 0.5)),
                                             ms(percentile(samples[name]["after"], 0.5))],
        }
    result["cpu_during_window"] = cpu.result
    problems = []
    if final["DEAD"]:
        problems.append(f"{final['DEAD']} deliveries went DEAD during the run")
    if final["DELIVERED"]:
        problems.append(f"{final['DELIVERED']} deliveries to the failing receiver were DELIVERED")
    if attempts <= 0:
        problems.append("no attempts during the window")
    for problem in problems:
        print(f"  PROBLEM: {problem}", file=sys.stderr, flush=True)
    result["problems"] = problems
    return result, len(problems)


# ------------------------------------------------------------------------------------------------------ main


def _server_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine, text

    from app.db.engine import driver_urls

    engine = create_engine(driver_urls(url)[1])
    try:
        with engine.connect() as connection:
            return "PostgreSQL " + connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _commit() -> dict[str, Any]:
    """The commit measured, and how many tracked files under app/ differ from it (uncommitted changes)."""
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", "app")
    return {"commit": _git("rev-parse", "--short", "HEAD"),
            "app_files_changed": None if changed is None else len(changed.splitlines())}


async def run(args: argparse.Namespace, url: str, data_dir: Path) -> int:
    import httpx

    from app.auth.dev_issuer import mint_token
    from app.config import Settings
    from app.main import create_app

    settings = Settings(data_dir=data_dir, database_url=url, webhook_allow_private=True, dispatcher=False)
    token = mint_token(data_dir, subject=ACTOR, roles=["mlops"], audience=settings.oidc_audience, ttl_seconds=4 * 3600)
    receiver = ThreadReceiver() if args.receiver == "thread" else ProcessReceiver()
    failures = 0
    try:
        print(json.dumps({
            "bench": "webhooks", "database": args.database, "server": _server_version(url),
            "quick": args.quick, "events": args.events, "retrying": args.retrying, "requests": args.requests,
            "receiver": receiver.kind, "dispatcher": {**dispatcher_defaults(), "timeout_s": SENDER_TIMEOUT},
            "producers": PRODUCERS, "python": platform.python_version(), "cores": os.cpu_count(),
            "loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()], **_commit(),
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }), flush=True)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120,
                                         headers={"Authorization": f"Bearer {token}"}) as client:
                bench = Bench(client, app, args.database)
                try:
                    if "throughput" in args.scenario:
                        result, failed = await throughput(bench, receiver, args.events, args.deadline)
                        failures += failed
                        print(json.dumps(result), flush=True)
                    if "latency" in args.scenario:
                        result, failed = await latency(bench, receiver, args.retrying, args.requests, args.settle)
                        failures += failed
                        print(json.dumps(result), flush=True)
                except GraphQLFailure:
                    failures += 1
                failures += bench.errors
    finally:
        await receiver.stop()
    return failures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="backend (default %(default)s)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to create the throw-away database on (default "
                             f"{DEFAULT_POSTGRES_URL}, or MODELREG_BENCH_POSTGRES_URL); dropped at the end")
    parser.add_argument("--events", type=int, default=None, help="events to deliver in scenario 1 (default 2000)")
    parser.add_argument("--retrying", type=int, default=None, help="deliveries retrying in scenario 2 (default 1000)")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per operation under load, and as many for the baseline (default 200)")
    parser.add_argument("--settle", type=float, default=None,
                        help="seconds the dispatcher retries before the loaded window (default 3)")
    parser.add_argument("--deadline", type=float, default=600, help="give up delivering after this many seconds")
    parser.add_argument("--receiver", choices=("process", "thread"), default="process",
                        help="uvicorn in its own process (default), or the tests' ThreadingHTTPServer in process")
    parser.add_argument("--scenario", action="append", choices=("throughput", "latency"),
                        help="run only this scenario (repeatable)")
    parser.add_argument("--quick", action="store_true", help="10x fewer events, deliveries and requests")
    parser.add_argument("--serve-receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    args.events = args.events if args.events is not None else 2000 // scale
    args.retrying = args.retrying if args.retrying is not None else 1000 // scale
    args.requests = args.requests if args.requests is not None else 200 // scale
    args.settle = args.settle if args.settle is not None else (1.0 if args.quick else 3.0)
    args.scenario = args.scenario or ["throughput", "latency"]
    if min(args.events, args.retrying, args.requests) < 1:
        parser.error("--events, --retrying and --requests must be at least 1")
    if args.database == "postgresql":
        args.database_url = args.database_url or os.environ.get("MODELREG_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        if not args.database_url.startswith("postgres"):
            parser.error("--database postgresql needs a postgresql:// --database-url")
    elif args.database_url:
        parser.error("--database-url is the PostgreSQL server to create the database on; SQLite uses a temporary file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_receiver:
        serve_receiver()
        return 0
    from tests.support.databases import fresh_database

    work_dir = Path(tempfile.mkdtemp(prefix="modelreg-webhook-bench-"))
    try:
        server_url = args.database_url if args.database == "postgresql" else ""
        with fresh_database(work_dir, "webhooks", server_url) as url:  # migrated (app.db.migrate.upgrade)
            (work_dir / "data").mkdir()
            failures = asyncio.run(run(args, url, work_dir / "data"))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failures:
        print(f"FAILED: {failures} error(s) or problem(s); see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
