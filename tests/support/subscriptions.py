"""A graphql-transport-ws client for tests (on the `websockets` library), and GraphQL over HTTP to a live server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"

EVENTS = """
subscription Events($filter: RegistryEventFilter, $after: Long) {
  events(filter: $filter, after: $after) {
    id type sequence occurredAt modelName version actor { subject kind } data
  }
}
"""


class Refused(Exception):
    """The server closed the connection (or refused the handshake) instead of acknowledging it."""

    def __init__(self, code: int | None, reason: str = "", status: int | None = None) -> None:
        super().__init__(f"closed with {code} {reason!r} (HTTP {status})")
        self.code, self.reason, self.status = code, reason, status


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql" + (f"?{query}" if query else "")


class Subscriber:
    """One WebSocket connection speaking graphql-transport-ws: connection_init, subscribe, next, complete."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, base_url: str, token: str | None = None, *, payload: dict[str, Any] | None = None,
                      query: str = "", init: bool = True) -> Subscriber:
        """Open a connection and, with ``init``, acknowledge it: the token goes in the connection_init payload
        as ``{"Authorization": "Bearer <token>"}`` unless ``payload`` is given. Raises Refused."""
        try:
            ws = await websockets.connect(ws_url(base_url, query), subprotocols=[PROTOCOL], open_timeout=10)
        except websockets.InvalidStatus as error:
            raise Refused(None, status=error.response.status_code) from None
        subscriber = cls(ws)
        if init:
            if payload is None:
                payload = {"Authorization": f"Bearer {token}"} if token else {}
            await subscriber.send({"type": "connection_init", "payload": payload})
            message = await subscriber.receive()
            if message.get("type") != "connection_ack":
                await ws.close()
                raise AssertionError(f"expected connection_ack, got {message}")
        return subscriber

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next message other than a ping (answered with a pong). Raises Refused when the server closes."""
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout)
            except websockets.ConnectionClosed as closed:
                frame = closed.rcvd
                raise Refused(frame.code if frame else None, frame.reason if frame else "") from None
            message = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def subscribe(self, query: str = EVENTS, variables: dict[str, Any] | None = None, id: str = "1") -> None:
        await self.send({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})

    async def events(self, filter: dict[str, Any] | None = None, after: int | None = None, id: str = "1") -> None:
        await self.subscribe(EVENTS, {"filter": filter, "after": after}, id)

    async def event(self, timeout: float = 10, id: str = "1") -> dict[str, Any]:
        """The next event of subscription ``id``; anything else (error, complete, another id) fails."""
        message = await self.receive(timeout)
        assert message.get("id") == id and message.get("type") == "next", message
        assert not message["payload"].get("errors"), message
        return message["payload"]["data"]["events"]

    async def silent(self, seconds: float) -> None:
        """Nothing arrives for ``seconds``."""
        try:
            message = await self.receive(seconds)
        except (asyncio.TimeoutError, TimeoutError):
            return
        raise AssertionError(f"expected nothing, got {message}")

    async def close(self) -> None:
        await self.ws.close()

    async def __aenter__(self) -> Subscriber:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def gql(base_url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """``data`` of a GraphQL call over HTTP that must succeed."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{base_url}/graphql", headers={"Authorization": f"Bearer {token}"},
                                     json={"query": query, "variables": variables or {}})
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


CREATE_MODEL = "mutation($name: String!) { createRegisteredModel(input: {name: $name}) { registeredModel { name } } }"
CREATE_VERSION = """
mutation($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { version } }
}
"""
SET_MODEL_TAG = """
mutation($name: String!) { setRegisteredModelTag(input: {name: $name, key: "k", value: "v"}) { registeredModel { name } } }
"""
UPDATE_MODEL = """
mutation($name: String!) {
  updateRegisteredModel(input: {name: $name, description: "changed"}) { registeredModel { name } }
}
"""
