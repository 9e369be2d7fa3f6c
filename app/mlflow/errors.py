"""MLflow's error format for the MLflow-compatible endpoints: ``{"error_code", "message"}`` with the HTTP status
MLflow's client expects, plus the registry's own code and the request id.

Only genuine internal errors answer 5xx: MLflow's client retries 5xx answers for minutes, so a refusal that retrying
cannot change (a pending approval, a version in the wrong state) answers 400 even where MLflow's table says 500.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.errors import ErrorCode, RegistryError
from app.http.errors import Endpoint
from app.logs import current_request_id, describe_exception

log = logging.getLogger("modelreg.mlflow")

PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow/")

# registry code -> (MLflow error_code, HTTP status)
MLFLOW_CODES: dict[ErrorCode, tuple[str, int]] = {
    ErrorCode.UNAUTHENTICATED: ("UNAUTHENTICATED", 401),
    ErrorCode.FORBIDDEN: ("PERMISSION_DENIED", 403),
    ErrorCode.BAD_USER_INPUT: ("INVALID_PARAMETER_VALUE", 400),
    ErrorCode.NOT_FOUND: ("RESOURCE_DOES_NOT_EXIST", 404),
    ErrorCode.CONFLICT: ("RESOURCE_CONFLICT", 409),
    ErrorCode.FAILED_PRECONDITION: ("INVALID_STATE", 400),
    ErrorCode.INTERNAL: ("INTERNAL_ERROR", 500),
}


def is_mlflow(path: str) -> bool:
    """Whether a path belongs to the MLflow-compatible API (and so answers errors in MLflow's format)."""
    return path.startswith(PREFIXES)


def mlflow_error_body(code: ErrorCode, message: str, *, mlflow_code: str | None = None) -> dict[str, Any]:
    return {
        "error_code": mlflow_code or MLFLOW_CODES[code][0],
        "message": message,
        "modelreg_code": code.value,
        "request_id": current_request_id(),
    }


def mlflow_error_response(
    error: RegistryError, *, mlflow_code: str | None = None, status: int | None = None
) -> Response:
    body = mlflow_error_body(error.code, error.message, mlflow_code=mlflow_code)
    return JSONResponse(body, status_code=status or MLFLOW_CODES[error.code][1])


class MlflowRefusal(RegistryError):
    """A refusal with an MLflow error code of its own (``RESOURCE_ALREADY_EXISTS`` for a name that is taken, which
    ``mlflow.register_model`` relies on)."""

    def __init__(self, error: RegistryError, mlflow_code: str, status: int) -> None:
        super().__init__(error.message, field=error.field)
        self.code = error.code
        self.mlflow_code = mlflow_code
        self.status = status


def mlflow_endpoint(endpoint: Endpoint) -> Endpoint:
    """Runs an MLflow endpoint with one read unit of work for the request; every failure in MLflow's format: a
    registry error by its code, anything unexpected as INTERNAL_ERROR with the request id (logged with it, no
    stack trace to the client)."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            # The request's reads share one unit of work (a write commits its own and makes it re-read).
            async with request.app.state.uow.request_scope():
                return await endpoint(request)
        except MlflowRefusal as error:
            return mlflow_error_response(error, mlflow_code=error.mlflow_code, status=error.status)
        except RegistryError as error:
            return mlflow_error_response(error)
        except Exception as error:  # noqa: BLE001 - the last resort: the client gets INTERNAL_ERROR, the log the rest
            log.error(
                "unexpected error in an MLflow endpoint", extra={"path": request.url.path, **describe_exception(error)}
            )
            message = f"internal error; quote request id {current_request_id()} to the operators"
            return JSONResponse(mlflow_error_body(ErrorCode.INTERNAL, message), status_code=500)

    return wrapped
