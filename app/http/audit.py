"""The audit log export for compliance: JSON Lines or CSV, streamed, auditors only."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.domain.audit import AuditEvent, canonical_json
from app.domain.errors import BadUserInput, RegistryError, Unauthenticated

from .content_disposition import attachment
from .csv_safety import safe_cell
from .errors import error_response

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
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadUserInput(f"{name} must be an ISO 8601 time such as 2026-01-31T00:00:00Z", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


async def export_audit(request: Request) -> Response:
    """GET /api/audit/export?from=&to=&format=jsonl|csv: the events in sequence order, streamed."""
    try:
        principal = request.scope.get("state", {}).get("principal")
        if principal is None:
            raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
        fmt = request.query_params.get("format", "jsonl").lower()
        if fmt not in FORMATS:
            raise BadUserInput("format must be jsonl or csv", field="format")
        occurred_from, occurred_to = _time(request, "from"), _time(request, "to")
        events = await request.app.state.services.audit_log.export(principal, occurred_from, occurred_to)
    except RegistryError as error:
        return error_response(error)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = _csv(events) if fmt == "csv" else _jsonl(events)
    return StreamingResponse(
        body,
        media_type=FORMATS[fmt],
        headers={
            "Content-Disposition": attachment(f"modelreg-audit-{stamp}.{fmt}"),
            "Cache-Control": "no-store",
        },
    )


def audit_routes() -> list[Route]:
    return [Route("/api/audit/export", export_audit, methods=["GET"])]
