"""Auditor queries and the compliance export: filters, JSON Lines and CSV streamed over HTTP, each line
verifiable on its own, for auditors only."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timezone

from app.domain.audit import GENESIS_HASH, canonical_json
from tests.audit.test_chain import MAKE_EVENTS
from tests.graphql.test_schema_coverage import gql, ok, token

FILTERED = """
query Filtered($filter: AuditEventFilter, $orderBy: AuditEventOrder, $first: Int, $after: String, $last: Int,
              $before: String) {
  auditEvents(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount nodes { sequence action outcome actor { subject } target { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def export(api, role="auditor", **params):
    return await api.client.get("/api/audit/export", params=params,
                                headers={"authorization": f"Bearer {token(api, role)}"})


async def test_filters_and_pages(api):
    started = datetime.now(timezone.utc).isoformat()
    await ok(api, MAKE_EVENTS, None, "mlops", sub="olga")
    await gql(api, 'mutation { deleteRegisteredModel(input: {name: "a"}) { name } }', None, "data-scientist",
              sub="dana")

    async def find(role="auditor", **variables):
        return (await ok(api, FILTERED, variables, role))["auditEvents"]

    everything = await find(orderBy={"field": "SEQUENCE", "direction": "ASC"})
    assert [n["action"] for n in everything["nodes"]] == [
        "model.create", "model.create", "model.tag.set", "model.update", "model.tag.delete", "model.delete"]
    assert (await find(filter={"actor": "dana"}))["nodes"] == [
        {"sequence": 6, "action": "model.delete", "outcome": "FORBIDDEN", "actor": {"subject": "dana"},
         "target": {"name": "a"}}]
    assert (await find(filter={"outcome": "FORBIDDEN"}))["totalCount"] == 1
    assert (await find(filter={"action": "model.tag.*"}))["totalCount"] == 2
    assert (await find(filter={"target": "b"}))["totalCount"] == 2
    assert (await find(filter={"targetType": "RegisteredModel", "from": started}))["totalCount"] == 6
    assert (await find(filter={"to": started}))["totalCount"] == 0
    first = await find(first=4)
    assert [n["sequence"] for n in first["nodes"]] == [6, 5, 4, 3] and first["pageInfo"]["hasNextPage"]
    rest = await find(first=4, after=first["pageInfo"]["endCursor"])
    assert [n["sequence"] for n in rest["nodes"]] == [2, 1] and not rest["pageInfo"]["hasNextPage"]


async def test_json_lines_export_verifies_line_by_line(api):
    await ok(api, MAKE_EVENTS)
    response = await export(api)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5]
    previous = GENESIS_HASH
    for line in lines:
        claimed = line.pop("hash")
        assert line["prevHash"] == previous
        assert hashlib.sha256(canonical_json(line).encode()).hexdigest() == claimed
        previous = claimed
    assert lines[0]["actor"] == {"subject": "tester", "kind": "USER", "roles": ["mlops"]}
    assert lines[0]["occurredAt"].endswith("Z")


async def test_csv_export_and_time_window(api):
    await ok(api, MAKE_EVENTS)
    middle = datetime.now(timezone.utc).isoformat()
    await ok(api, 'mutation { createRegisteredModel(input: {name: "late"}) { registeredModel { name } } }')
    response = await export(api, format="csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["seq"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[2]["action"] == "model.tag.set" and json.loads(rows[2]["after"]) == {"tags": {"k": "v"}}
    assert rows[0]["actorRoles"] == "mlops" and rows[0]["outcome"] == "ok" and len(rows[0]["hash"]) == 64
    late = [json.loads(line) for line in (await export(api, **{"from": middle})).text.splitlines()]
    assert [line["target"]["name"] for line in late] == ["late"]
    early = (await export(api, format="csv", to=middle)).text.splitlines()
    assert len(early) == 1 + 5


async def test_export_is_for_auditors_only_and_checks_its_parameters(api):
    for role in ("data-scientist", "mlops", "approver"):
        refused = await export(api, role)
        assert refused.status_code == 403 and "audit:read" in refused.json()["error"]["message"]
    assert (await export(api, format="xml")).status_code == 400
    assert (await export(api, **{"from": "yesterday"})).status_code == 400
    assert (await api.client.get("/api/audit/export")).status_code == 401
    lines = (await export(api)).text.splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["audit.export"] * 3  # the three denials
