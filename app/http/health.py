"""Liveness and readiness endpoints."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("modelreg.http")


async def healthz(request: Request) -> JSONResponse:
    """The process is alive."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers; 503 otherwise."""
    try:
        await request.app.state.database.ping()
    except Exception as error:  # noqa: BLE001 - any failure means not ready; the reason goes to the log
        log.warning("readiness check failed", extra={"error_type": type(error).__name__})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def favicon(request: Request) -> Response:
    """No icon; answering 204 keeps browsers from logging failed requests."""
    return Response(status_code=204)
