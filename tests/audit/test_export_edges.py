"""The audit export's edges (issue 20): formula-safe CSV cells (point 6), parameters checked before the stream
starts, and a stream that fails midway visible as a failure (point 4)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.http.csv_safety import safe_cell, unescape_cell
from tests.audit.test_export import export

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
