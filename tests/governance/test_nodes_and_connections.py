"""Governance objects in the 1.0 shape: approvals and stage changes are Nodes that `node(id:)` refetches, the lists
that grow (a request's approvals, a version's stage history and documents, a model's stageAt) are connections paged
both ways, newest first, and who did what is an Actor."""

from __future__ import annotations

from tests.governance.conftest import api_with_promotion, error, ok
from tests.governance.test_transitions import APPROVE, ATTACH_CARD, register, request

TWO_APPROVALS = "version: 1\nstages:\n  PRODUCTION:\n    required_approvals: 2\n"
APPROVALS = """
query Approvals($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $id) {
    ... on TransitionRequest {
      requestedBy { subject kind }
      approvals(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges { cursor node { id decidedBy { subject } decision } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
}
"""
HISTORY = """
query History($first: Int, $after: String, $last: Int, $before: String) {
  modelVersion(name: "m", version: 1) {
    stageHistory(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      nodes { id name version toStage changedBy { subject } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
DOCUMENTS = """
query Documents($kind: DocumentKind, $after: String) {
  modelVersion(name: "m", version: 1) {
    documents(kind: $kind, first: 1, after: $after) { totalCount nodes { revision } pageInfo { endCursor } }
  }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on Approval { decidedBy { subject } decision decidedAt }
    ... on StageChange { name version toStage changedBy { subject } modelVersion { version } }
  }
}
"""


async def test_approvals_are_nodes_in_a_connection_newest_first(api, settings, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, TWO_APPROVALS) as governed:
        await register(governed)
        await request(governed, 1, "STAGING")
        pending = await request(governed, 1, "PRODUCTION")
        for approver in ("alice", "bob"):
            await ok(governed, APPROVE, {"id": pending["id"]}, "approver", approver)
        everything = (await ok(governed, APPROVALS, {"id": pending["id"]}, "auditor", "ann"))["node"]
        assert everything["requestedBy"] == {"subject": "dana", "kind": None}
        approvals = everything["approvals"]
        assert approvals["totalCount"] == 2
        assert [e["node"]["decidedBy"]["subject"] for e in approvals["edges"]] == ["bob", "alice"]
        first = (await ok(governed, APPROVALS, {"id": pending["id"], "first": 1}, "auditor", "ann"))["node"]
        assert first["approvals"]["pageInfo"]["hasNextPage"] is True
        rest = (await ok(governed, APPROVALS, {"id": pending["id"], "after": first["approvals"]["pageInfo"][
            "endCursor"]}, "auditor", "ann"))["node"]["approvals"]
        assert [e["node"]["decidedBy"]["subject"] for e in rest["edges"]] == ["alice"]
        back = (await ok(governed, APPROVALS, {"id": pending["id"], "last": 1}, "auditor", "ann"))["node"]
        assert [e["node"]["decidedBy"]["subject"] for e in back["approvals"]["edges"]] == ["alice"]

        approval = approvals["edges"][1]["node"]
        found = (await ok(governed, NODE, {"id": approval["id"]}, "data-scientist", "x"))["node"]
        assert found["id"] == approval["id"]
        assert (found["decidedBy"], found["decision"]) == ({"subject": "alice"}, "APPROVE")


async def test_stage_history_is_a_connection_of_nodes_newest_first(api):
    await register(api)
    await request(api, 1, "STAGING")
    await request(api, 1, "ARCHIVED")
    await request(api, 1, "STAGING")
    history = (await ok(api, HISTORY, {}, "auditor", "ann"))["modelVersion"]["stageHistory"]
    assert history["totalCount"] == 3
    assert [c["toStage"] for c in history["nodes"]] == ["STAGING", "ARCHIVED", "STAGING"]
    assert {(c["name"], c["version"], c["changedBy"]["subject"]) for c in history["nodes"]} == {("m", 1, "dana")}
    page = (await ok(api, HISTORY, {"last": 2}, "auditor", "ann"))["modelVersion"]["stageHistory"]
    assert [c["toStage"] for c in page["nodes"]] == ["ARCHIVED", "STAGING"]
    assert (page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]) == (True, False)
    before = (await ok(api, HISTORY, {"before": page["pageInfo"]["startCursor"]}, "auditor", "ann"))[
        "modelVersion"]["stageHistory"]
    assert [c["id"] for c in before["nodes"]] == [history["nodes"][0]["id"]]

    change = (await ok(api, NODE, {"id": history["nodes"][1]["id"]}, "approver", "x"))["node"]
    assert change == {"id": history["nodes"][1]["id"], "name": "m", "version": 1, "toStage": "ARCHIVED",
                      "changedBy": {"subject": "dana"}, "modelVersion": {"version": 1}}


async def test_documents_page_newest_first_and_a_filtered_list_has_its_own_cursors(api):
    await register(api)  # attaches revision 1 of the model card
    await ok(api, ATTACH_CARD, {"name": "m", "version": 1}, "data-scientist", "dana")
    page = (await ok(api, DOCUMENTS, {}, "auditor", "ann"))["modelVersion"]["documents"]
    assert (page["totalCount"], page["nodes"]) == (2, [{"revision": 2}])
    rest = (await ok(api, DOCUMENTS, {"after": page["pageInfo"]["endCursor"]}, "auditor", "ann"))["modelVersion"]
    assert rest["documents"]["nodes"] == [{"revision": 1}]
    refused = await error(api, DOCUMENTS, {"kind": "MODEL_CARD", "after": page["pageInfo"]["endCursor"]},
                          "auditor", "ann")
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_an_unknown_approval_or_stage_change_is_null(api):
    from app.domain.public_ids import global_id

    await register(api)
    for type_name in ("Approval", "StageChange", "TransitionRequest"):
        assert (await ok(api, NODE, {"id": global_id(type_name, 999_999)}, "auditor", "ann"))["node"] is None
    refused = await error(api, NODE, {"id": global_id("StageChange", 1)}, "nobody", "x")
    assert refused["extensions"]["code"] == "FORBIDDEN"
