"""Credentials of GraphQL WebSocket connections: the token of the ``connection_init`` payload or, from a page of this
server only, the browser session cookie of the handshake; the connection closed (4403) when its token or session
expires, so no subscription outlives the credentials it was opened with."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState
from strawberry.http.websocket_origin import is_same_origin

from app.auth.session import SESSION_COOKIE
from app.domain.identity import Principal

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


def session_principal(scope: Scope, session: Callable[[str | None], Principal | None] | None) -> Principal | None:
    """Who the browser session cookie of a WebSocket handshake signs in, when the handshake comes from a page of
    this server (``Origin`` names the ``Host`` it was sent to); None otherwise.

    A browser attaches cookies to a WebSocket handshake from any site and no CORS preflight guards it, so a page
    elsewhere could otherwise subscribe as the signed-in user (cross-site WebSocket hijacking). The view already
    refuses handshakes from origins that are neither this one nor in ``MODELREG_CORS_ORIGINS``; the cookie counts
    only for this one, as over HTTP (allowed cross-origin pages call with a bearer token, never with the cookie).
    A handshake without ``Origin`` is no browser's: it gets no cookie session either."""
    if session is None:
        return None
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if not origin or not is_same_origin(origin, headers.get("host")):
        return None
    cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    return session(cookie) if cookie else None


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
