"""Registry errors as JSON HTTP responses for the plain HTTP endpoints (GraphQL has its own mapping), and the
caller of a request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.domain.errors import ErrorCode, RegistryError, TooLarge, Unauthenticated
from app.domain.identity import Principal
from app.logs import current_request_id

STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.FAILED_PRECONDITION: 409,
    ErrorCode.INTERNAL: 500,
}


def error_response(error: RegistryError) -> JSONResponse:
    status = 413 if isinstance(error, TooLarge) else STATUS[error.code]
    body = {"error": {"code": error.code.value, "message": error.message, "requestId": current_request_id()}}
    if error.field:
        body["error"]["field"] = error.field
    return JSONResponse(body, status_code=status)


def principal_of(request: Request) -> Principal:
    """The caller the authentication middleware found; UNAUTHENTICATED (401) when there is none."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
    return principal
