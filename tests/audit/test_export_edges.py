"""The audit export's edges (issue 20): formula-safe CSV cells (point 6), parameters checked before the stream
starts, and a stream that fails midway visible as a failure (point 4)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from app.domain.audit import AuditDraft, AuditEvent, AuditTarget
from app.http.audit import audit_routes
from app.http.csv_safety import safe_cell, unescape_cell
from tests.audit.test_export import export
from tests.support.live_server import free_port

HOSTILE = '=HYPERLINK("http://evil.example/x","click")'
DELETE = 'mutation { deleteRegisteredModel(input: {name: "a"}) { name } }'


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "text",
    [HOSTILE, "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "'quoted", "''", "plain", "", "a=b", "{\"json\": 1}"],
)
def test_escaping_is_formula_safe_and_exactly_undone(text):
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_cell(cell) == text
    assert safe_cell(42) == 42


async def test_a_hostile_user_agent_is_text_in_the_csv_and_as_given_in_json_lines(api):
    headers = {"authorization": f"Bearer {api.token('data-scientist')}", "user-agent": HOSTILE}
    await api.client.post("/graphql", json={"query": DELETE}, headers=headers)
    rows = list(csv.DictReader(io.StringIO((await export(api, format="csv")).text)))
    denied = [row for row in rows if row["userAgent"] and row["action"] == "model.delete"]
    assert len(denied) == 1
    assert denied[0]["userAgent"] == "'" + HOSTILE
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    lines = [json.loads(line) for line in (await export(api)).text.splitlines()]
    assert [line["userAgent"] for line in lines if line["action"] == "model.delete"] == [HOSTILE]


@pytest.mark.parametrize(
    ("name", "moment"), [("from", "9999-12-31T23:59:59-14:00"), ("to", "0001-01-01T00:00:00+14:00")]
)
async def test_a_time_without_a_utc_equivalent_is_refused_before_the_stream_starts(api, name, moment):
    for fmt in ("jsonl", "csv"):
        response = await export(api, format=fmt, **{name: moment})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", name) and "UTC" in error["message"]


# A stream that fails midway, served by a real uvicorn: the client must see a failed transfer.

def _event(seq: int) -> AuditEvent:
    draft = AuditDraft(occurred_at=datetime(2026, 1, 1, tzinfo=UTC), actor_subject="s", actor_kind="USER",
                       actor_roles=("auditor",), action="model.create", target=AuditTarget("RegisteredModel"))
    return AuditEvent(seq=seq, draft=draft, prev_hash="0" * 64, hash=f"{seq:064x}")


class FailingLog:
    """An audit log whose export breaks after ``good`` events (a database gone away, a connection reset)."""

    def __init__(self, good: int) -> None:
        self.good = good

    async def export(self, principal, occurred_from, occurred_to):
        async def events():
            for seq in range(1, self.good + 1):
                yield _event(seq)
            raise RuntimeError("the database went away")

        return events()


@contextmanager
def serving(audit_log) -> Iterator[str]:
    app = Starlette(routes=audit_routes())
    app.state.services = SimpleNamespace(audit_log=audit_log)

    async def with_principal(scope, receive, send):
        scope["state"] = {"principal": object()}
        await app(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(with_principal, host="127.0.0.1", port=port, log_config=None,
                                          lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/api/audit/export"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.backend_independent
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_stream_that_fails_midway_is_an_incomplete_transfer_not_a_complete_export(fmt):
    received = bytearray()
    with serving(FailingLog(good=2500)) as url, httpx.stream("GET", url, params={"format": fmt}) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_bytes():
                received += chunk
    assert received  # some events did arrive: without the error the client would take them for the export


@pytest.mark.backend_independent
def test_a_stream_that_fails_before_its_first_event_is_an_error_status():
    with serving(FailingLog(good=0)) as url:
        response = httpx.get(url)
    assert response.status_code == 500 and not response.text.startswith("{\"seq\"")


@pytest.mark.backend_independent
def test_an_export_that_ends_normally_is_a_complete_transfer():
    class Short(FailingLog):
        async def export(self, principal, occurred_from, occurred_to):
            async def events():
                for seq in range(1, 4):
                    yield _event(seq)

            return events()

    with serving(Short(0)) as url:
        response = httpx.get(url)
    assert response.status_code == 200 and [json.loads(line)["seq"] for line in response.text.splitlines()] == [1, 2, 3]
