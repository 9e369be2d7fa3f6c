"""Tokens of GraphQL WebSocket connections: read from the ``connection_init`` payload, and the connection closed
(4403) when its token expires, so no subscription outlives the token it was opened with."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger("modelreg.http")


def connection_token(params: dict[str, Any]) -> str | None:
    """The token of a connection_init payload: ``{"Authorization": "Bearer <JWT>"}`` (any case) or
    ``{"token": "<JWT>"}``; None when there is none."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
        if key == "token":
            return value.strip() or None
    return None


EXPIRY_TIMER = "modelreg.token_expiry"  # the scope state key of a connection's expiry timer
_closing: set[asyncio.Task] = set()  # strong references: the loop keeps only weak ones


def close_when_expired(websocket: WebSocket) -> None:
    """Close ``websocket`` (its token expired) from a loop callback, keeping the closing task referenced."""
    task = asyncio.get_running_loop().create_task(_close_expired(websocket))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _close_expired(websocket: WebSocket) -> None:
    """Close a connection whose token has expired (4403, as for a refused token); the client reconnects with a
    fresh one (subscriptions resume with ``after:``)."""
    if websocket.client_state == WebSocketState.CONNECTED and websocket.application_state == WebSocketState.CONNECTED:
        log.info("closing a WebSocket: its token expired")
        with contextlib.suppress(Exception):  # it may be closing already
            await websocket.close(code=4403, reason="the token has expired")
