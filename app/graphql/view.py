"""The GraphQL HTTP view: per-request context, GraphQL-over-HTTP media types, and the offline GraphiQL page.

What this adds to Strawberry's ASGI view (docs/http-api.md describes it for clients):

- Content negotiation on ``Accept``: ``application/graphql-response+json`` when the client ranks it at
  least as high as ``application/json``; ``application/json`` otherwise (no header, ``*/*``, anything else).
- With ``application/graphql-response+json``, a request error (syntax, validation, variable coercion: no
  ``data`` was produced and no error has a ``path``) answers HTTP 400 without a ``data`` entry. With
  ``application/json`` it stays HTTP 200 with ``"data": null``, as the spec asks of that media type.
- Requests the view refuses before execution (unparseable JSON, no query, wrong parameter types, ...)
  answer a GraphQL-shaped body ``{"errors": [{"message", "extensions": {"code"}}]}`` in the negotiated
  media type instead of Strawberry's plain text. Mutations over GET are refused with 405 and ``Allow: POST``.

Subscriptions run over WebSocket at the same path with the graphql-transport-ws protocol only. The HTTP
middleware leaves WebSockets alone; the token comes in the ``connection_init`` payload and ``on_ws_connect``
checks it with the same authenticator as bearer headers (refused: close code 4403). The connection is closed
(4403) when that token expires, so no operation on it outlives its token. Subscription documents over HTTP are
answered 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import json_codec
from app.domain.errors import ErrorCode, Unauthenticated
from app.domain.identity import Principal
from app.http.middleware import with_request_info
from app.logs import current_request_id
from app.observability import requests as observed

from . import budget
from .budget import REQUEST_ERROR, Limits, Refused, parse_for_budget
from .context import Context, Loaders, Services
from .cost import longest_literal_list, operation_cost
from .errors import map_error
from .media_types import GRAPHQL_RESPONSE_JSON, JSON, is_request_error, negotiate
from .persisted import PersistedQueries
from .websocket_tokens import EXPIRY_TIMER, close_when_expired, connection_token, session_principal

GRAPHIQL_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
GRAPHIQL_PAGE = Path(__file__).resolve().parent.parent / "web" / "graphiql.html"

log = logging.getLogger("modelreg.http")

# Strawberry's terse refusals, said with how to fix them; other reasons are passed on unchanged.
_HINTS = {
    "Unsupported content type": (
        "unsupported Content-Type: POST a JSON body with Content-Type: application/json, "
        "or use GET with query parameters"
    ),
    "Unable to parse request body as JSON": (
        'the request is not valid JSON: send {"query": "...", "variables": {...}} '
        "(or, on GET, a JSON object in the variables parameter)"
    ),
    "No GraphQL query found in the request": (
        'no GraphQL query found: put the document in the "query" field (POST) or the query parameter (GET)'
    ),
}


def _code_for_status(status: int) -> ErrorCode:
    return {401: ErrorCode.UNAUTHENTICATED, 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND}.get(
        status, ErrorCode.INTERNAL if status >= 500 else ErrorCode.BAD_USER_INPUT
    )


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation to run is a subscription (cheap unless the document says "subscription")."""
    if not isinstance(query, str) or "subscription" not in query:
        return False
    try:
        document = parse(query, no_location=True, max_tokens=20_000)  # the real limit is checked later
    except GraphQLError:
        return False  # Strawberry reports it
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def _private(response: Response) -> None:
    """GET answers depend on the caller (token or session cookie) and on Accept: no shared cache may keep them,
    and a browser's cache must not mix the GraphiQL page with JSON."""
    response.headers["Cache-Control"] = "private, no-store"
    vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    for name in ("Accept", "Authorization", "Cookie"):
        if name.lower() not in (v.lower() for v in vary):
            vary.append(name)
    response.headers["Vary"] = ", ".join(vary)


class MethodNotAllowed(HTTPException):
    """A 405 that names the method to use instead (the ``Allow`` header)."""

    def __init__(self, reason: str, allow: str) -> None:
        super().__init__(405, reason)
        self.allow = allow


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, GraphiQL page and GraphQL-over-HTTP media types."""

    def __init__(
        self,
        schema: Any,
        services: Services,
        *,
        authenticate: Callable[[str], Awaitable[Principal]] | None = None,
        limits: Limits | None = None,
        max_tokens: int = 5000,
        read_scope: Callable[[], contextlib.AbstractAsyncContextManager[None]] = contextlib.nullcontext,
        session: Callable[[str | None], Principal | None] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("connection_init_wait_timeout", timedelta(seconds=10))  # unauthenticated sockets: briefly
        super().__init__(schema, **kwargs)
        self.services = services
        self.authenticate = authenticate  # WebSocket connections: the token of connection_init
        self.session = session  # ...or, from a page of this server, the browser session cookie of the handshake
        self.limits = limits or Limits()
        self.persisted = PersistedQueries()  # Apollo's automatic persisted queries
        self.max_tokens = max_tokens
        self.read_scope = read_scope  # one read session per operation, shared by its resolvers and loaders

    def _loaders(self, principal: Principal | None) -> Loaders:
        return Loaders(
            self.services.reads,
            self.services.artifacts,
            principal,
            self.services.governance,
            self.services.lineage_reads,
        )

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None = None) -> Context:
        principal = request.scope.get("state", {}).get("principal")
        return Context(
            services=self.services,
            principal_or_none=principal,
            request_id=current_request_id(),
            loaders=self._loaders(principal),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws ``connection_init``: authenticate its token like a bearer header or, without one, the
        browser session cookie of a same-origin handshake (websocket_tokens.session_principal); the caller becomes
        the context's principal for every operation of the connection. No or a refused token closes the connection
        with 4403 (Forbidden), logged like a refused HTTP request (never the token)."""
        scope = context.request.scope
        token = connection_token(context.connection_params or {})
        cookie_principal = None if token else session_principal(scope, self.session)
        try:
            if cookie_principal is not None:
                principal = cookie_principal
            elif not token or self.authenticate is None:
                raise Unauthenticated(
                    'send the token in the connection_init payload: {"Authorization": "Bearer <JWT>"}'
                    + (" (or sign in: a page of this server subscribes with the session)" if self.session else "")
                )
            else:
                principal = await self.authenticate(token)
        except Unauthenticated as error:
            client = scope.get("client") or ("-", 0)
            log.warning(
                "authentication failed",
                extra={
                    "reason": getattr(error, "reason", "invalid" if token else "no_credentials"),
                    "issuer": getattr(error, "issuer", "-"),
                    "path": scope.get("path"),
                    "method": "WEBSOCKET",
                    "client": client[0],
                },
            )
            raise ConnectionRejectionError({"message": error.message}) from None
        principal = with_request_info(scope, principal)
        context.principal_or_none = principal
        context.connection_params = {}  # the token has done its job; keep it out of the long-lived context
        context.loaders = self._loaders(principal)
        expires = principal.claims.get("exp")
        if isinstance(expires, (int, float)) and not isinstance(expires, bool):
            timer = asyncio.get_running_loop().call_later(
                max(0.0, expires - time.time()), close_when_expired, context.request
            )
            scope.setdefault("state", {})[EXPIRY_TIMER] = timer  # cancelled when the connection ends (run)
        return UNSET

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL for a browser: a GET without a query or persisted-query extensions whose ``Accept`` names
        text/html. Anything else (``*/*``, no header) is an API call and answers JSON."""
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in (request.headers.get("accept") or "").lower()
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """The offline GraphiQL page; its scripts all come from /static, so a strict CSP holds."""
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"), headers=GRAPHIQL_HEADERS)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry's run, with its refusals (HTTPException) answered as GraphQL errors, not plain text. A POST
        body is read first, up to the size limit (the rest is never read)."""
        try:
            if isinstance(request, Request) and request.method == "POST":
                request._body = await budget.read_limited(  # Starlette's Request.body() answers it from here on
                    request.stream(), request.headers.get("content-length"), self.limits.max_request_bytes
                )
            response = await super().run(request, context, root_value)
            if isinstance(request, Request) and request.method == "GET":
                _private(response)
            return response
        except HTTPException as error:
            reason = _HINTS.get(error.reason, error.reason)
            extensions = (
                error.extensions if isinstance(error, Refused) else {"code": _code_for_status(error.status_code).value}
            )
            observed.note_errors([extensions["code"]])
            observed.note_refusal_in(reason)
            body = {"errors": [{"message": reason, "extensions": extensions}]}
            allow = error.allow if isinstance(error, MethodNotAllowed) else "GET, POST"
            headers = {"Allow": allow} if error.status_code == 405 else None
            media_type = negotiate(request.headers.get("accept"))
            status = error.status_code
            if status == REQUEST_ERROR:
                status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
            response = Response(self.encode_json(body), status_code=status, headers=headers, media_type=media_type)
            if request.method == "GET":
                _private(response)
            return response
        finally:
            timer = request.scope.get("state", {}).pop(EXPIRY_TIMER, None)  # a WebSocket connection is over
            if timer is not None:
                timer.cancel()

    def encode_json(self, data: object) -> str:
        """orjson; text, since Strawberry sends bytes over a WebSocket as binary frames, which clients refuse."""
        return json_codec.dumps_text(data)

    def parse_json(self, data: str | bytes) -> Any:
        """JSON of a body or GET parameter; anything that is not JSON in UTF-8 is a GraphQL-shaped 400."""
        return budget.decode(data)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The operation (an object) or the batch (an array of objects) of a request, with the budget's JSON
        checks: list lengths in variables, batch size. Large bodies are decoded off the event loop."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        elif "application/json" in content_type:
            data = await budget.decode_off_loop(await request.get_body())
        else:
            raise HTTPException(400, "Unsupported content type")
        if isinstance(data, list):
            budget.check_batch(len(data), self.limits.max_batch)
            return [self._operation(item, f"operation {index} of the batch") for index, item in enumerate(data)]
        return self._operation(data, "request")

    def _operation(self, data: Any, what: str) -> GraphQLRequestData:
        if not isinstance(data, dict):
            raise Refused(400, f'the {what} is not a JSON object: send {{"query": "...", "variables": {{...}}}}')
        query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
        operation_name = data.get("operationName")
        for name, value, kind in (
            ("query", query, str),
            ("variables", variables, dict),
            ("extensions", extensions, dict),
            ("operationName", operation_name, str),
        ):
            if not isinstance(value, (kind, type(None))):
                raise Refused(
                    400, f"the {what}'s `{name}` must be {'a string' if kind is str else 'an object'} or null"
                )
        budget.check_lists(variables, self.limits.max_input_items)
        return GraphQLRequestData(
            query=query, variables=variables, operation_name=operation_name, extensions=extensions, protocol="http"
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        """Check the budget of every operation (the static cost of a batch is the sum), then run them: one by one
        for a batch, so a batch holds one database connection at a time."""
        if not isinstance(request_data, list):
            request_data.query = self.persisted.resolve(request_data.query, request_data.extensions)
            observed.note_operation(await self._operation_name(request_data))
            budget.check_cost(await self._cost(request_data), self.limits.max_query_cost)
            return await self.execute_single(request, request_adapter, sub_response, context, root_value, request_data)
        observed.note_operation("batch")
        refusals: dict[int, Refused] = {}  # per operation of a batch: PERSISTED_QUERY_NOT_FOUND and the like
        cost = 0
        for index, operation in enumerate(request_data):
            try:
                operation.query = self.persisted.resolve(operation.query, operation.extensions)
            except Refused as refusal:
                refusals[index] = refusal
                continue
            cost += await self._cost(operation)
        budget.check_cost(cost, self.limits.max_query_cost, batch=True)
        results = []
        for index, operation in enumerate(request_data):
            if index in refusals:
                refused = refusals[index]
                results.append(
                    ExecutionResult(data=None, errors=[GraphQLError(refused.reason, extensions=refused.extensions)])
                )
            else:
                results.append(
                    await self.execute_single(request, request_adapter, sub_response, context, root_value, operation)
                )
        return results

    async def _operation_name(self, operation: GraphQLRequestData) -> str | None:
        """The name the client gave, else the name of the document's one operation (for metrics and traces)."""
        if operation.operation_name or not isinstance(operation.query, str):
            return operation.operation_name
        document = await parse_for_budget(operation.query, self.max_tokens)  # cached: the cost check parses it too
        found = get_operation_ast(document) if document is not None else None
        return found.name.value if found is not None and found.name is not None else None

    async def _cost(self, operation: GraphQLRequestData) -> int:
        """The static cost of one operation; list literals in its document are held to the input limit too.
        A document that does not parse costs 0 here: execution reports its syntax error without running it."""
        if not isinstance(operation.query, str):
            return 0
        document = await parse_for_budget(operation.query, self.max_tokens)
        if document is None:
            return 0
        longest = longest_literal_list(document)
        if longest > self.limits.max_input_items:
            raise Refused(
                REQUEST_ERROR,
                f"a list in the document has {longest} items, more than the {self.limits.max_input_items} allowed "
                "(MODELREG_MAX_INPUT_ITEMS): split the request",
                limit=self.limits.max_input_items,
                actual=longest,
            )
        return operation_cost(
            cast(Any, self.schema)._schema,
            document,
            operation.variables,
            operation.operation_name,
            remember=budget.parse_is_remembered(operation.query),
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        """Refuse mutations over GET with 405 (the spec's status) rather than Strawberry's 400, and subscriptions
        over HTTP with 400 (they need a WebSocket; Strawberry would run them as queries and fail)."""
        if is_subscription(request_data.query, request_data.operation_name):
            raise HTTPException(
                400,
                "subscriptions run over WebSocket at /graphql with the graphql-transport-ws protocol, not over HTTP",
            )
        try:
            async with self.read_scope():
                return await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(error.__cause__, InvalidOperationTypeError):
                raise MethodNotAllowed(f"{error.reason}; send them with POST", allow="POST") from error
            raise

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """The sub-response carries the negotiated media type to ``create_response``."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Backstop: an error that escaped the ErrorMapping extension (Strawberry skips extensions for some
        # early failures) still leaves through the same mapping, so every error has an extensions.code.
        if result.errors:
            result.errors = [
                error if (error.extensions or {}).get("code") else map_error(error) for error in result.errors
            ]
            observed.note_errors([str((error.extensions or {}).get("code")) for error in result.errors])
            for error in result.errors:
                observed.note_refusal_in(error.message)
        return await super().process_result(request, result)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """JSON in the negotiated media type; with graphql-response+json a request error is a 400 without data."""
        media_type = sub_response.media_type or JSON
        request_error = False
        if media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict) and is_request_error(response_data):
            request_error = True
            response_data = cast(
                GraphQLHTTPResponse, {key: value for key, value in response_data.items() if key != "data"}
            )
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type
        if request_error:
            response.status_code = 400
        return response


__all__ = ["GraphQLView", "MethodNotAllowed"]
