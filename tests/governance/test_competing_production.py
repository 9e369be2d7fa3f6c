"""Two PRODUCTION requests on one model (issue 14, point 4): approving the second archived the version approved a
second earlier, and nobody was told. A request remembers what was in PRODUCTION when it was made; when that has
changed by the time it would apply, it stops at APPROVED with a gate result saying so, and applies only when an
approver approves it again, having seen it."""

from __future__ import annotations

from tests.governance.conftest import ok
from tests.governance.test_transitions import approve, register, request

STAGES = 'query { modelVersions(filter: {name: {equals: "m"}}, orderBy: {field: VERSION, direction: ASC}) { nodes { version stage } } }'
GATES = """
query($id: ID!) { node(id: $id) { ... on TransitionRequest { status gateResults { gate passed detail } } } }
"""


async def stages(api) -> dict[int, str]:
    nodes = (await ok(api, STAGES, None, "auditor", "x"))["modelVersions"]["nodes"]
    return {node["version"]: node["stage"] for node in nodes}


async def test_a_request_made_before_production_changed_needs_a_fresh_approval(api):
    await register(api, count=3)
    for number in (1, 2, 3):
        staging = await request(api, number, "STAGING")
        if staging["status"] != "APPLIED":
            await approve(api, staging["id"])
    first = await request(api, 1, "PRODUCTION")
    assert (await approve(api, first["id"]))["status"] == "APPLIED"
    second, third = await request(api, 2, "PRODUCTION"), await request(api, 3, "PRODUCTION")

    assert (await approve(api, second["id"], sub="alice"))["status"] == "APPLIED"  # PRODUCTION was 1, as asked
    assert await stages(api) == {1: "ARCHIVED", 2: "PRODUCTION", 3: "STAGING"}

    held = await approve(api, third["id"], sub="alice")  # asked to replace version 1, now it would replace 2
    assert held["status"] == "APPROVED"
    assert await stages(api) == {1: "ARCHIVED", 2: "PRODUCTION", 3: "STAGING"}
    gates = (await ok(api, GATES, {"id": third["id"]}, "auditor", "x"))["node"]["gateResults"]
    changed = [gate for gate in gates if not gate["passed"]]
    assert changed == [{"gate": "PRODUCTION unchanged since the request", "passed": False,
                        "detail": "PRODUCTION holds version 2 now, version 1 when requested: approve again to "
                                  "replace it"}]

    assert (await approve(api, third["id"], sub="bob"))["status"] == "APPLIED"  # seen and approved again
    assert await stages(api) == {1: "ARCHIVED", 2: "ARCHIVED", 3: "PRODUCTION"}
