"""A bounded mixed load against a registry address (the scale-out test and benchmark): reads, registrations,
uploads with registration, PRODUCTION requests with their approval; subscribers that follow the event stream and
reconnect with ``after`` when their connection drops. Every call is recorded with its timing and outcome, every
acknowledged write with what should now be stored."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from app.auth import dev_issuer
from tests.support.subscriptions import PROTOCOL, ws_url

READ = """
query ReadModel($name: String!) {
  registeredModel(name: $name) {
    name latestVersion { version stage } versions(first: 5) { edges { node { version } } }
  }
}
"""
LIST = "query ListModels { registeredModels(first: 10) { edges { node { name } } } }"
REGISTER = """
mutation Register($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
REQUEST = """
mutation RequestStage($name: String!, $version: Int!, $stage: Stage!) {
  requestStageTransition(input: {name: $name, version: $version, toStage: $stage}) { transitionRequest { id status } }
}
"""
APPROVE = """
mutation Approve($id: ID!) { approveTransitionRequest(input: {id: $id}) { transitionRequest { id status } } }
"""
EVENTS = "subscription Follow($after: Long) { events(after: $after) { id sequence type } }"
WEIGHTS = {"read": 45, "register": 25, "upload": 15, "approve": 15}
# A promotion policy where PRODUCTION takes one approval and a READY version (no model card), for the load.
POLICY = """version: 1
stages:
  STAGING: {required_approvals: 0}
  PRODUCTION: {required_approvals: 1, gates: {version_ready: true, documents: []}}
  ARCHIVED: {required_approvals: 0}
"""


@dataclass
class Call:
    op: str
    started: float
    ended: float
    outcome: str  # ok, refused (a GraphQL or REST error the caller can act on), failed (no answer, 5xx, INTERNAL)
    detail: str = ""


@dataclass
class Results:
    calls: list[Call] = field(default_factory=list)
    registered: dict[str, tuple[str, int]] = field(default_factory=dict)  # marker -> (model, version), acknowledged
    unacknowledged: set[str] = field(default_factory=set)  # markers of registrations that got no answer
    approved: set[str] = field(default_factory=set)  # transition request ids whose approval was acknowledged
    uploads: dict[str, int] = field(default_factory=dict)  # digest -> size, acknowledged
    events_seen: dict[int, list[int]] = field(default_factory=dict)  # subscriber -> sequences received, in order
    reconnects: dict[int, int] = field(default_factory=dict)

    def failed(self) -> list[Call]:
        return [call for call in self.calls if call.outcome == "failed"]

    def summary(self, seconds: float) -> dict[str, Any]:
        ops: dict[str, Any] = {}
        for op in sorted({call.op for call in self.calls}):
            times = sorted(call.ended - call.started for call in self.calls if call.op == op and call.outcome == "ok")
            ops[op] = {
                "ok": len(times),
                "failed": sum(1 for c in self.calls if c.op == op and c.outcome == "failed"),
                "refused": sum(1 for c in self.calls if c.op == op and c.outcome == "refused"),
                "p50_ms": _percentile(times, 0.50),
                "p99_ms": _percentile(times, 0.99),
            }
        done = sum(1 for call in self.calls if call.outcome == "ok")
        return {
            "seconds": round(seconds, 1),
            "requests": len(self.calls),
            "ok": done,
            "failed": len(self.failed()),
            "throughput_per_s": round(done / seconds, 1),
            "operations": ops,
        }


def _percentile(sorted_times: list[float], share: float) -> float | None:
    if not sorted_times:
        return None
    index = min(len(sorted_times) - 1, max(0, round(share * len(sorted_times)) - 1))
    return round(sorted_times[index] * 1000, 1)


class Load:
    """``loops`` concurrent callers, each on a model of its own (``scale/m<i>``) for its writes."""

    def __init__(
        self,
        url: str,
        data_dir: Path,
        loops: int = 6,
        think: float = 0.02,
        seed: int = 19,
        upload_bytes: int = 16 * 1024,
        weights: dict[str, int] | None = None,
    ) -> None:
        self.url, self.data_dir, self.loops, self.think = url, data_dir, loops, think
        self.weights = weights or WEIGHTS
        self.seed, self.upload_bytes = seed, upload_bytes
        self.results = Results()
        self._stop = asyncio.Event()
        self._approver = self._token("approver", "approver")

    def _token(self, subject: str, *roles: str) -> str:
        return dev_issuer.mint_token(
            self.data_dir, subject=subject, roles=list(roles), audience="modelreg", ttl_seconds=3600
        )

    async def run(
        self, seconds: float, schedule: list[tuple[float, Callable[[], Awaitable[None]]]] = (), subscribers: int = 0
    ) -> Results:
        """Load for ``seconds``; each ``(at, action)`` of ``schedule`` runs ``at`` seconds in (kill, restart...)."""
        self._stop.clear()
        started = time.monotonic()
        followers = [asyncio.create_task(self._follow(index)) for index in range(subscribers)]
        await asyncio.sleep(0.5 if subscribers else 0)  # subscribed before the first write
        async with httpx.AsyncClient(
            base_url=self.url, timeout=httpx.Timeout(30, connect=5), limits=httpx.Limits(max_connections=self.loops * 2)
        ) as client:
            callers = [asyncio.create_task(self._caller(client, index)) for index in range(self.loops)]
            actions = [asyncio.create_task(self._at(started + at, action)) for at, action in schedule]
            await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
            self._stop.set()
            await asyncio.gather(*callers, *actions)
        self.followers = followers
        return self.results

    async def stop_following(self) -> None:
        for task in getattr(self, "followers", []):
            task.cancel()
        await asyncio.gather(*getattr(self, "followers", []), return_exceptions=True)

    @staticmethod
    async def _at(when: float, action: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        await action()

    # Callers.

    async def _caller(self, client: httpx.AsyncClient, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        model = f"scale/m{index}"
        scientist = self._token(f"scientist-{index}", "data-scientist")
        versions: list[int] = []  # this caller's acknowledged versions, READY (no files, or verified files)
        ops, weights = list(self.weights), list(self.weights.values())
        while not self._stop.is_set():
            op = rng.choices(ops, weights)[0]
            if op == "approve" and not versions:
                op = "register"
            if op == "read":
                query, variables = (READ, {"name": model}) if rng.random() < 0.7 else (LIST, {})
                await self._graphql(client, "read", scientist, query, variables)
            elif op in ("register", "upload"):
                version = await self._register(client, scientist, model, upload=op == "upload", rng=rng)
                if version is not None:
                    versions.append(version)
            else:
                await self._promote(client, scientist, model, versions.pop(rng.randrange(len(versions))))
            await asyncio.sleep(self.think)

    async def _call(self, op: str, send: Callable[[], Awaitable[httpx.Response]]) -> dict[str, Any] | None:
        """One request: its JSON answer when it succeeded, None otherwise (recorded as refused or failed)."""
        started = time.monotonic()
        try:
            response = await send()
        except httpx.HTTPError as error:
            self.results.calls.append(Call(op, started, time.monotonic(), "failed", type(error).__name__))
            return None
        ended = time.monotonic()
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            self.results.calls.append(Call(op, started, ended, "failed", f"HTTP {response.status_code}"))
            return None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors or response.status_code >= 400:
            codes = [str((error.get("extensions") or {}).get("code")) for error in errors or []]
            outcome = "failed" if "INTERNAL" in codes else "refused"
            self.results.calls.append(Call(op, started, ended, outcome, f"HTTP {response.status_code} {codes}"))
            return None
        self.results.calls.append(Call(op, started, ended, "ok"))
        return body

    async def _graphql(
        self, client: httpx.AsyncClient, op: str, token: str, query: str, variables: dict[str, Any]
    ) -> dict[str, Any] | None:
        body = await self._call(
            op,
            lambda: client.post(
                "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
            ),
        )
        return body["data"] if body else None

    async def _register(
        self, client: httpx.AsyncClient, token: str, model: str, *, upload: bool, rng: random.Random
    ) -> int | None:
        marker = secrets.token_hex(8)
        files = None
        if upload:
            data = rng.randbytes(self.upload_bytes)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            stored = await self._call(
                "upload",
                lambda: client.put("/api/artifacts/blobs", content=data, headers={"Authorization": f"Bearer {token}"}),
            )
            if stored is None:
                return None
            self.results.uploads[digest] = len(data)
            files = [{"path": "model.bin", "digest": digest}]
        self.results.unacknowledged.add(marker)  # until the answer says it is stored
        data = await self._graphql(
            client,
            "register",
            token,
            REGISTER,
            {"input": {"name": model, "createModelIfMissing": True, "description": marker, "files": files}},
        )
        if data is None:
            if self.results.calls[-1].outcome == "refused":
                self.results.unacknowledged.discard(marker)  # a refusal writes nothing
            return None
        self.results.unacknowledged.discard(marker)
        version = data["createModelVersion"]["modelVersion"]["version"]
        self.results.registered[marker] = (model, version)
        return int(version)

    async def _promote(self, client: httpx.AsyncClient, token: str, model: str, version: int) -> None:
        """STAGING (no approval needed: applied at once), then PRODUCTION, approved by another identity."""
        for stage in ("STAGING", "PRODUCTION"):
            data = await self._graphql(
                client, "request", token, REQUEST, {"name": model, "version": version, "stage": stage}
            )
            if data is None:
                return
        request_id = data["requestStageTransition"]["transitionRequest"]["id"]
        approved = await self._graphql(client, "approve", self._approver, APPROVE, {"id": request_id})
        if approved is not None:
            self.results.approved.add(request_id)

    # Subscribers.

    async def _follow(self, index: int) -> None:
        """Follow the event stream from the start; on a dropped connection, reconnect with ``after`` = the last
        sequence received, so nothing is missed and nothing repeated."""
        token = self._token(f"follower-{index}", "data-scientist")
        seen = self.results.events_seen.setdefault(index, [])
        self.results.reconnects[index] = -1
        while True:
            self.results.reconnects[index] += 1
            try:
                async with websockets.connect(ws_url(self.url), subprotocols=[PROTOCOL], open_timeout=5) as ws:
                    await ws.send(
                        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
                    )
                    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if ack.get("type") != "connection_ack":
                        raise ConnectionError(f"no ack: {ack}")
                    after = seen[-1] if seen else 0
                    await ws.send(
                        json.dumps(
                            {
                                "id": "1",
                                "type": "subscribe",
                                "payload": {"query": EVENTS, "variables": {"after": after}},
                            }
                        )
                    )
                    async for raw in ws:
                        message = json.loads(raw)
                        if message.get("type") == "ping":
                            await ws.send(json.dumps({"type": "pong"}))
                        elif message.get("type") == "next":
                            seen.append(int(message["payload"]["data"]["events"]["sequence"]))
                        elif message.get("type") in ("error", "complete"):
                            raise ConnectionError(f"subscription ended: {message}")
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, ConnectionError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
