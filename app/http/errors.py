"""Registry errors as JSON HTTP responses for the plain HTTP endpoints (GraphQL has its own mapping)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from app.domain.errors import ErrorCode, RegistryError, TooLarge
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
