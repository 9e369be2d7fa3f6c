"""ASGI middleware: a request id on every request and log line (with the caller's subject and kind), and
authentication by bearer token or browser session cookie, with the cross-site request forgery check."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import overload
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import ErrorCode, Unauthenticated
from app.domain.identity import Principal, RequestInfo
from app.logs import current_request_id, reset_request_id, set_request_id
from app.observability.tracing import current_trace_id, note_request_id

from .errors import is_rest, refusal_body

log = logging.getLogger("modelreg.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` or makes one, echoes it, and writes one access log line naming the
    authenticated caller (subject and kind USER/SERVICE), so the log is an audit trail of who called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        # A sane id the caller sent is kept; otherwise the trace id when traces are on, else 16 random hex digits.
        request_id = given if _SAFE_REQUEST_ID.match(given) else (current_trace_id() or secrets.token_hex(8))
        note_request_id(request_id)  # on the request's span, when traced
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
                principal = scope.get("state", {}).get("principal")
                caller = {"subject": principal.subject, "kind": principal.kind.value} if principal else {}
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        **caller,
                    },
                )
            reset_request_id(token)


Authenticate = Callable[[str], Awaitable[Principal]]
SessionPrincipal = Callable[[str | None], "Principal | None"]

# /metrics: Prometheus scrapes without a token (or it is on MODELREG_METRICS_PORT only, and 404 here).
PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/favicon.ico", "/lineage", "/metrics"})
SESSION_COOKIE = "modelreg_session"
# Content types a cross-site form or no-cors fetch can send without a CORS preflight (Fetch standard).
SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 6750 section 2.3 names access_token; tokens in URLs end up in proxies' and browsers' logs.
QUERY_TOKEN_PARAMS = ("access_token", "id_token")


def _is_public(scope: Scope) -> bool:
    """Health checks, static files, the root redirect, /auth/*, the GraphiQL page and the lineage explorer page
    (static HTML whose queries carry the token) need no token."""
    path: str = scope["path"]
    if path in PUBLIC_PATHS or path.startswith(("/static/", "/auth/")):
        return True
    if path == "/graphql" and scope["method"] == "GET":
        accept = Headers(scope=scope).get("accept", "")
        has_query = "query" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return "text/html" in accept and not has_query
    return False


def csrf_safe(method: str, headers: Headers) -> bool:
    """Whether a cookie-authenticated request cannot have been forged by another site: a safe method, or a
    custom header (X-Requested-With) or a non-simple content type, either of which needs a CORS preflight
    this server never grants; and never a browser-declared cross-site request."""
    if method in SAFE_METHODS:
        return True
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return False
    if headers.get("x-requested-with"):
        return True
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return bool(content_type) and content_type not in SIMPLE_CONTENT_TYPES


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


@overload
def with_request_info(scope: Scope, principal: Principal) -> Principal: ...
@overload
def with_request_info(scope: Scope, principal: Principal | None) -> Principal | None: ...
def with_request_info(scope: Scope, principal: Principal | None) -> Principal | None:
    """The principal carrying where the call came from (request id, client address, user agent), so services can
    write them into the audit log without knowing about HTTP."""
    if principal is None:
        return None
    client = scope.get("client") or (None, 0)
    info = RequestInfo(
        request_id=current_request_id(), client_address=client[0], user_agent=Headers(scope=scope).get("user-agent")
    )
    return replace(principal, request=info)


def _error(
    path: str, status: int, code: ErrorCode, message: str, *, challenge: str | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A refusal in the shape of the endpoint: REST's ``{"error": {...}}`` under /api/, else GraphQL's."""
    shape = (
        refusal_body(path, code, message)
        if is_rest(path)
        else {"errors": [{"message": message, "extensions": {"code": code.value}}]}
    )
    body = json.dumps(shape).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    return status, headers, body


def _unauthenticated(path: str, message: str, *, token_given: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    challenge = 'Bearer realm="modelreg"'
    if token_given:
        challenge += ', error="invalid_token"'
    return _error(path, 401, ErrorCode.UNAUTHENTICATED, message, challenge=challenge)


class AuthMiddleware:
    """Every request but the public ones needs a caller: ``Authorization: Bearer <JWT>`` (API clients) or
    the ``modelreg_session`` cookie from browser sign-in; else HTTP 401 with ``WWW-Authenticate: Bearer``.

    A bearer header wins over the cookie. Cookie-authenticated requests with an unsafe method must pass
    ``csrf_safe`` (else 403). A token in the query string is refused everywhere. Failed attempts are logged
    with the reason and the client address, never the token. The principal is left in
    ``scope["state"]["principal"]`` (None on public paths without credentials).

    WebSockets (GraphQL subscriptions) pass through: their token comes in the graphql-transport-ws
    ``connection_init`` message, checked by the GraphQL view. Only a token in their URL is refused here.
    """

    def __init__(self, app: ASGIApp, authenticate: Authenticate, session: SessionPrincipal | None = None) -> None:
        self.app = app
        self.authenticate = authenticate
        self.session = session

    async def _refuse(self, send: Send, response: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
        status, headers, body = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _log_failure(self, scope: Scope, reason: str, issuer: str = "-") -> None:
        client = scope.get("client") or ("-", 0)
        log.warning(
            "authentication failed",
            extra={
                "reason": reason,
                "issuer": issuer,
                "path": scope["path"],
                "method": scope.get("method", "WEBSOCKET"),
                "client": client[0],
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if any(name in query for name in QUERY_TOKEN_PARAMS):
                self._log_failure(scope, "token_in_query_string")
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})  # before accepting: the handshake gets 403
                return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        headers = Headers(scope=scope)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if any(name in query for name in QUERY_TOKEN_PARAMS):
            self._log_failure(scope, "token_in_query_string")
            await self._refuse(
                send,
                _unauthenticated(
                    scope["path"], "do not put tokens in the URL: send Authorization: Bearer <JWT>", token_given=True
                ),
            )
            return
        authorization = headers.get("authorization", "")
        public = _is_public(scope)
        if not authorization:
            principal = self.session(_cookie(headers, SESSION_COOKIE)) if self.session else None
            if principal is not None and not public and not csrf_safe(scope["method"], headers):
                self._log_failure(scope, "csrf_check_failed")
                await self._refuse(
                    send,
                    _error(
                        scope["path"],
                        403,
                        ErrorCode.FORBIDDEN,
                        (
                            "a request signed in by cookie must send the header X-Requested-With (or a JSON body with "
                            "Content-Type: application/json); cross-site requests are refused"
                        ),
                    ),
                )
                return
            if principal is not None or public:
                scope["state"]["principal"] = with_request_info(scope, principal)
                await self.app(scope, receive, send)
                return
        scheme, _, token = authorization.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>, or sign in at /auth/login")
            scope["state"]["principal"] = with_request_info(scope, await self.authenticate(token.strip()))
        except Unauthenticated as error:
            self._log_failure(
                scope,
                getattr(error, "reason", "no_credentials" if not token else "invalid"),
                getattr(error, "issuer", "-"),
            )
            await self._refuse(send, _unauthenticated(scope["path"], error.message, token_given=bool(token)))
            return
        await self.app(scope, receive, send)
