"""The audit log export for compliance: JSON Lines or CSV, streamed, auditors only."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.domain.audit import AuditEvent, canonical_json
from app.domain.errors import BadUserInput

from .content_disposition import attachment
from .csv_safety import safe_cell
from .errors import principal_of, rest_endpoint

CSV_COLUMNS = [
    "seq",
    "occurredAt",
    "actorSubject",
    "actorKind",
    "actorRoles",
    "action",
    "targetType",
    "targetId",
    "targetName",
    "targetVersion",
    "outcome",
    "detail",
    "before",
    "after",
    "requestId",
    "clientAddress",
    "userAgent",
    "prevHash",
    "hash",
]
log = logging.getLogger("modelreg.audit")
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadUserInput(f"{name} must be an ISO 8601 time such as 2026-01-31T00:00:00Z", field=name) from None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise BadUserInput(
            f"{name}: {raw[:64]} has no UTC equivalent between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
            field=name,
        ) from None


def json_line(event: AuditEvent) -> str:
    """The event's hashed document plus its hash: a line can be checked on its own (docs/audit.md)."""
    return canonical_json({**event.document(), "hash": event.hash}) + "\n"


def csv_row(event: AuditEvent) -> list[object]:
    document = event.document()

    def json_or_empty(value: Any) -> str:
        return "" if value is None else canonical_json(value)

    return [
        event.seq,
        document["occurredAt"],
        document["actor"]["subject"],
        document["actor"]["kind"],
        ";".join(document["actor"]["roles"]),
        document["action"],
        document["target"]["type"],
        document["target"]["id"] or "",
        document["target"]["name"] or "",
        document["target"]["version"] or "",
        document["outcome"],
        document["detail"] or "",
        json_or_empty(document["before"]),
        json_or_empty(document["after"]),
        document["requestId"] or "",
        document["clientAddress"] or "",
        document["userAgent"] or "",
        event.prev_hash,
        event.hash,
    ]


async def _csv(events: AsyncIterator[AuditEvent]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async for event in events:
        writer.writerow([safe_cell(cell) for cell in csv_row(event)])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def _jsonl(events: AsyncIterator[AuditEvent]) -> AsyncIterator[str]:
    async for event in events:
        yield json_line(event)


async def _started(events: AsyncIterator[AuditEvent]) -> AsyncIterator[AuditEvent]:
    """``events`` with its first chunk already read: a failure to read at all is an error response, not a
    200 whose body breaks off before it begins."""
    try:
        first = await anext(events)
    except StopAsyncIteration:
        return _replay([], events)
    return _replay([first], events)


async def _replay(read: list[AuditEvent], rest: AsyncIterator[AuditEvent]) -> AsyncIterator[AuditEvent]:
    for event in read:
        yield event
    async for event in rest:
        yield event


async def _aborting_on_failure(chunks: AsyncIterator[str]) -> AsyncIterator[str]:
    """The body; when reading fails midway, the error goes up to the server, which closes the connection without
    the last chunk of the chunked encoding: clients report an incomplete transfer (curl exit 18, httpx
    RemoteProtocolError, requests ChunkedEncodingError), never a complete export (docs/audit.md)."""
    sent = 0
    try:
        async for chunk in chunks:
            yield chunk
            sent += len(chunk)
    except Exception:
        log.error("audit export failed midway; aborting the response", extra={"sent_characters": sent})
        raise


@rest_endpoint
async def export_audit(request: Request) -> Response:
    """GET /api/audit/export?from=&to=&format=jsonl|csv: the events in sequence order, streamed. Every parameter
    is checked and the first events are read before the 200 starts."""
    principal = principal_of(request)
    fmt = request.query_params.get("format", "jsonl").lower()
    if fmt not in FORMATS:
        raise BadUserInput("format must be jsonl or csv", field="format")
    occurred_from, occurred_to = _time(request, "from"), _time(request, "to")
    events = await request.app.state.services.audit_log.export(principal, occurred_from, occurred_to)
    events = await _started(events)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = _csv(events) if fmt == "csv" else _jsonl(events)
    return StreamingResponse(
        _aborting_on_failure(body),
        media_type=FORMATS[fmt],
        headers={
            "Content-Disposition": attachment(f"modelreg-audit-{stamp}.{fmt}"),
            "Cache-Control": "no-store",
        },
    )


def audit_routes() -> list[Route]:
    return [Route("/api/audit/export", export_audit, methods=["GET"])]
