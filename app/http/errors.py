"""The one JSON error shape of the REST endpoints (everything under ``/api/``), and the caller of a request.

Every refusal of a REST endpoint, whoever answers it (an endpoint, the authentication middleware, the router for
an unknown path or method, ``rest_endpoint`` for an unexpected exception), is
``{"error": {"code", "message", "requestId"[, "field"]}}`` with the codes of the GraphQL API
(``extensions.code``). GraphQL at ``/graphql`` keeps GraphQL's own shape (``errors[].extensions.code``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app.domain.errors import ErrorCode, RegistryError, TooLarge, Unauthenticated
from app.domain.identity import Principal
from app.logs import current_request_id, describe_exception

log = logging.getLogger("modelreg.http")
Endpoint = Callable[[Request], Awaitable[Response]]

STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.FAILED_PRECONDITION: 409,
    ErrorCode.INTERNAL: 500,
}
REST_PREFIX = "/api/"


def is_rest(path: str) -> bool:
    """Whether a path belongs to the REST endpoints (and so answers errors in their shape)."""
    return path.startswith(REST_PREFIX)


def refusal_body(path: str, code: ErrorCode, message: str) -> dict[str, Any]:
    """A refusal before any endpoint ran (authentication, routing), in the format of the endpoint asked for: MLflow's
    ``{"error_code", "message"}`` on the MLflow-compatible API, the REST shape elsewhere."""
    from app.mlflow.errors import is_mlflow, mlflow_error_body  # the MLflow door's own format

    return mlflow_error_body(code, message) if is_mlflow(path) else error_body(code, message)


def error_body(code: ErrorCode, message: str, *, field: str | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "requestId"[, "field"]}}``."""
    error: dict[str, Any] = {"code": code.value, "message": message, "requestId": current_request_id()}
    if field:
        error["field"] = field
    return {"error": error}


def error_response(
    error: RegistryError, *, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A registry error as its REST answer (413 for a body over the limit, else by code)."""
    default = 413 if isinstance(error, TooLarge) else STATUS[error.code]
    return JSONResponse(
        error_body(error.code, error.message, field=error.field), status_code=status or default, headers=headers
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    """The router's refusals (404 no such path, 405 method not allowed): the REST shape under /api/, Starlette's
    plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if not is_rest(request.url.path):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        code, message = ErrorCode.BAD_USER_INPUT, f"{request.method} is not allowed here; use {allowed}"
    elif exc.status_code == 404:
        code, message = ErrorCode.NOT_FOUND, f"no endpoint {request.url.path}; see docs/http-api.md"
    else:
        code, message = ErrorCode.BAD_USER_INPUT, exc.detail
    return JSONResponse(refusal_body(request.url.path, code, message), status_code=exc.status_code, headers=exc.headers)


def rest_endpoint(endpoint: Endpoint) -> Endpoint:
    """Wraps a REST endpoint so that every failure answers the REST shape: a registry error by its code, anything
    unexpected as INTERNAL with the request id (logged with it, no stack trace to the client)."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RegistryError as error:
            return error_response(error)
        except Exception as error:  # noqa: BLE001 - the last resort: the client gets INTERNAL, the log the details
            log.error(
                "unexpected error in a REST endpoint", extra={"path": request.url.path, **describe_exception(error)}
            )
            message = f"internal error; quote request id {current_request_id()} to the operators"
            return JSONResponse(error_body(ErrorCode.INTERNAL, message), status_code=500)

    return wrapped


def principal_of(request: Request) -> Principal:
    """The caller the authentication middleware found; UNAUTHENTICATED (401) when there is none."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
    return principal
