"""Where Prometheus scrapes: ``GET /metrics`` on the public port, or, with MODELREG_METRICS_PORT, on a small listener
of its own (the public port then answers 404 for /metrics). Neither asks for a token: keep the metrics port off
the public network (docs/operations.md)."""

from __future__ import annotations

import asyncio
import logging
import socket

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.db.engine import Database

from .metrics import CONTENT_TYPE, exposition
from .state import RegistryState, StateCollector, read_state

log = logging.getLogger("modelreg.metrics")

STATE_TIMEOUT = 5.0  # seconds: a scrape answers without the database's gauges rather than hanging


async def scrape(database: Database) -> bytes:
    """The exposition text, with the database's gauges read now (``modelreg_database_up`` 0 when it fails)."""
    state: RegistryState | None
    try:
        state = await asyncio.wait_for(read_state(database), STATE_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - a scrape must answer whatever the database does
        log.warning("metrics: could not read the registry's state", extra={"error_type": type(error).__name__})
        state = None
    return exposition(StateCollector(state))


def metrics_route(database: Database) -> Route:
    async def metrics_endpoint(_request: Request) -> Response:
        return Response(await scrape(database), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return Route("/metrics", metrics_endpoint, methods=["GET"])


class MetricsListener:
    """A minimal HTTP/1.1 server for ``GET /metrics`` only, one request per connection, in the app's event loop.
    Under several workers each binds the port with SO_REUSEPORT and any of them answers for all."""

    def __init__(self, database: Database, host: str, port: int) -> None:
        self.database, self.host, self.port = database, host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, family=family, reuse_port=True, reuse_address=True
        )
        log.info("metrics listening", extra={"address": f"{self.host}:{self.port}"})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method in ("GET", "HEAD") and path == "/metrics":
                body = await scrape(self.database)
                status, content_type = "200 OK", CONTENT_TYPE
            else:
                body, status, content_type = b"not found: scrape GET /metrics\n", "404 Not Found", "text/plain"
            headers = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
            )
            writer.write(headers.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
