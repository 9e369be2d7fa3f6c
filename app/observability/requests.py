"""Request metrics from outside the application: an ASGI middleware that times every request and counts it by route
template, GraphQL operation and status, and SQLAlchemy event hooks that count each request's statements and watch
the connection pool. The GraphQL view adds what only it knows (operation name, error codes, refusals) to the
request's ``Observation``; nothing below the doors knows about metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.engine import Database

from . import metrics

# Uploads through the registry, and downloads it streams itself (a redirect to a signed URL carries no bytes).
UPLOAD_ROUTES = frozenset({"/api/artifacts/blobs", "/api/artifacts/uploads/{upload_id}"})
DOWNLOAD_ROUTES = frozenset({"/api/artifacts/blobs/{digest}", "/api/artifacts/files", "/api/artifacts/archive"})

# For answers that are not GraphQL's: the error code an HTTP status stands for (docs/http-api.md).
STATUS_CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "BAD_USER_INPUT",
    409: "CONFLICT",
    412: "FAILED_PRECONDITION",
    413: "BAD_USER_INPUT",
    416: "BAD_USER_INPUT",
    422: "BAD_USER_INPUT",
}


@dataclass
class Observation:
    """What the request's handlers tell the metrics middleware about it."""

    operation: str = ""
    codes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    statements: int = 0


_observation: ContextVar[Observation | None] = ContextVar("observation", default=None)


def current() -> Observation | None:
    """The running request's observation (None outside a request, e.g. in the event feed's task)."""
    return _observation.get()


def note_operation(name: str | None) -> None:
    observation = _observation.get()
    if observation is not None:
        observation.operation = metrics.operation_label(name)


def note_errors(codes: list[str]) -> None:
    observation = _observation.get()
    if observation is not None:
        observation.codes.extend(codes)


def note_refusal(limit: str) -> None:
    observation = _observation.get()
    if observation is not None:
        observation.refusals.append(limit)


# How a refusal by a request limit names the limit in its message (app/graphql/budget.py, Strawberry's limiters,
# graphql-core's token limit).
_LIMIT_MESSAGES = (
    (re.compile(r"\(MODELREG_MAX_([A-Z_]+)\)"), None),
    (re.compile(r"exceeds maximum operation depth"), "query_depth"),
    (re.compile(r"aliases found\. Allowed"), "aliases"),
    (re.compile(r"^Syntax Error: Document contains more than \d+ tokens"), "tokens"),
)


def note_refusal_in(message: str) -> None:
    """Count a refusal when ``message`` is one of a request limit's."""
    if _observation.get() is None:
        return
    for pattern, limit in _LIMIT_MESSAGES:
        found = pattern.search(message)
        if found:
            note_refusal(limit or found.group(1).lower())
            return


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class MetricsMiddleware:
    """Outermost middleware: every request is counted, refusals by authentication included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            metrics.SUBSCRIPTION_CLIENTS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                metrics.SUBSCRIPTION_CLIENTS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observation = Observation()
        token = _observation.set(observation)
        started = time.perf_counter()
        status = 500
        received = sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            _observation.reset(token)
            self._record(scope, observation, status, time.perf_counter() - started, received, sent)

    @staticmethod
    def _record(scope: Scope, observation: Observation, status: int, seconds: float, received: int, sent: int) -> None:
        route, method = _route(scope), scope["method"]
        metrics.REQUESTS.labels(method, route, observation.operation, str(status)).inc()
        metrics.REQUEST_DURATION.labels(method, route, observation.operation).observe(seconds)
        metrics.STATEMENTS.labels(route).observe(observation.statements)
        codes = observation.codes
        if not codes and status >= 400:
            codes = ["INTERNAL" if status >= 500 else STATUS_CODES.get(status, "BAD_USER_INPUT")]
        for code in codes:
            metrics.ERRORS.labels(code).inc()
        for limit in observation.refusals:
            metrics.REFUSALS.labels(limit).inc()
        if route in UPLOAD_ROUTES and received:
            metrics.ARTIFACT_BYTES.labels("in").inc(received)
        elif route in DOWNLOAD_ROUTES and sent and status in (200, 206):
            metrics.ARTIFACT_BYTES.labels("out").inc(sent)


def _count_statement(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
    observation = _observation.get()
    if observation is not None and not statement.startswith("BEGIN"):
        observation.statements += 1


def _timed(get: Callable[[], Any], pool: str) -> Callable[[], Any]:
    histogram = metrics.POOL_WAIT.labels(pool)

    def timed_get() -> Any:
        started = time.perf_counter()
        try:
            return get()
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed_get


def instrument_database(database: Database) -> None:
    """Statement counts per request, connections in use and the wait for one, on each engine of ``database``."""
    engines = (
        {"main": database.writer}
        if database.reader is database.writer
        else {"reader": database.reader, "writer": database.writer}
    )
    for name, engine in engines.items():
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", _count_statement)
        in_use = metrics.POOL_IN_USE.labels(name)
        event.listen(sync_engine.pool, "checkout", lambda *_, gauge=in_use: gauge.inc())
        event.listen(sync_engine.pool, "checkin", lambda *_, gauge=in_use: gauge.dec())
        # The pool has no event before a checkout starts: time its (internal) getter, which waits for a free
        # connection or opens a new one.
        pool: Any = sync_engine.pool
        pool._do_get = _timed(pool._do_get, name)
