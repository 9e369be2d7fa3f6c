"""ASGI middleware: a request id on every request and log line, and bearer authentication."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import Unauthenticated
from app.domain.identity import Principal
from app.logs import reset_request_id, set_request_id

log = logging.getLogger("modelreg.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` or makes one, echoes it, and writes one access log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else secrets.token_hex(8)
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                log.info("request", extra={"method": scope["method"], "path": scope["path"], "status": status,
                                           "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
            reset_request_id(token)


Authenticate = Callable[[str], Awaitable[Principal]]


PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/favicon.ico"})


def _is_public(scope: Scope) -> bool:
    """Health checks, static files, the root redirect and the GraphiQL page itself need no token."""
    path: str = scope["path"]
    if path in PUBLIC_PATHS or path.startswith("/static/"):
        return True
    if path == "/graphql" and scope["method"] == "GET":
        accept = Headers(scope=scope).get("accept", "")
        has_query = "query" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return "text/html" in accept and not has_query
    return False


def _unauthenticated(message: str, *, token_given: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    challenge = 'Bearer realm="modelreg"'
    if token_given:
        challenge += ', error="invalid_token"'
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", challenge.encode()),
               (b"content-length", str(len(body)).encode())]
    return 401, headers, body


class BearerAuthMiddleware:
    """Every request but the public ones needs ``Authorization: Bearer <JWT>``; else HTTP 401.

    The principal is left in ``scope["state"]["principal"]`` for the routes below.
    """

    def __init__(self, app: ASGIApp, authenticate: Authenticate) -> None:
        self.app = app
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        authorization = Headers(scope=scope).get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if _is_public(scope) and not authorization:
            scope["state"]["principal"] = None
            await self.app(scope, receive, send)
            return
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
            scope["state"]["principal"] = await self.authenticate(token.strip())
        except Unauthenticated as error:
            status, headers, body = _unauthenticated(error.message, token_given=bool(token))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
