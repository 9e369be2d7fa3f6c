"""`viewer.can(action, resource, id)`: without `id` the policy's answer, with `id` the answer of the checks the
mutation runs on that object (separation of duties, open requests, who may cancel, the deletion rules); unknown
actions, resources and pairs are BAD_USER_INPUT instead of a silent false.

The seed data (tests/graphql/test_schema_coverage.py): model "m", versions 1-4 registered by "seeder"; version 1
carries @stable and a shadow deployment, version 3 is in PRODUCTION, version 4 a canary, version 2 is in STAGING
with nothing on it. Requests: `approve_id` (version 2 to PRODUCTION, by "seeder", PENDING), `applied_id` (APPLIED),
`cancel_id` (by "tester", PENDING).
"""

from __future__ import annotations

import pytest

from app.domain.public_ids import global_id
from tests.graphql.test_schema_coverage import error, gql, ok, seed

CAN = """
query Can($action: String!, $resource: String!, $id: ID) {
  viewer { can(action: $action, resource: $resource, id: $id) }
}
"""
APPROVE = """
mutation Approve($id: ID!) { approveTransitionRequest(input: {id: $id}) { transitionRequest { status } } }
"""
CANCEL = "mutation Cancel($id: ID!) { cancelTransitionRequest(input: {id: $id}) { transitionRequest { status } } }"
DELETE_VERSION = """
mutation DeleteVersion($version: Int!) { deleteModelVersion(input: {name: "m", version: $version}) { version } }
"""
IDS = """
query Ids {
  m: registeredModel(name: "m") { id versions(first: 10) { nodes { id version } } }
  doomed: registeredModel(name: "doomed") { id }
}
"""


async def can(api, action: str, resource: str, id: str | None, role: str, sub: str = "tester") -> bool:
    return (await ok(api, CAN, {"action": action, "resource": resource, "id": id}, role, sub=sub))["viewer"]["can"]


async def ids(api) -> dict[str, str]:
    data = await ok(api, IDS)
    found = {f"v{v['version']}": v["id"] for v in data["m"]["versions"]["nodes"]}
    return {**found, "m": data["m"]["id"], "doomed": data["doomed"]["id"]}


async def test_an_approver_barred_from_a_request_gets_false_with_its_id_and_true_without(api):
    seeded = await seed(api)
    request = seeded["approve_id"]
    # "seeder" made the request (and registered the version): the approve mutation refuses them.
    assert await can(api, "approve", "transition", None, "approver", sub="seeder") is True
    assert await can(api, "approve", "transition", request, "approver", sub="seeder") is False
    refused = await error(api, APPROVE, {"id": request}, "approver", sub="seeder")
    assert refused["extensions"]["code"] == "FORBIDDEN" and "separation of duties" in refused["message"]
    # Another approver may, and the mutation agrees.
    assert await can(api, "approve", "transition", request, "approver", sub="alice") is True
    # The request was made before the seed put version 3 in PRODUCTION: it waits at APPROVED for a fresh approval.
    assert (await ok(api, APPROVE, {"id": request}, "approver", sub="alice"))["approveTransitionRequest"][
        "transitionRequest"]["status"] == "APPROVED"
    assert await can(api, "approve", "transition", request, "approver", sub="bob") is True
    assert (await ok(api, APPROVE, {"id": request}, "approver", sub="bob"))["approveTransitionRequest"][
        "transitionRequest"]["status"] == "APPLIED"
    assert await can(api, "approve", "transition", request, "approver", sub="carl") is False  # closed now


@pytest.mark.parametrize("action,request_key,role,sub,allowed", [
    ("approve", "approve_id", "approver", "alice", True),
    ("approve", "approve_id", "approver", "seeder", False),  # own request, own versions
    ("approve", "approve_id", "mlops", "alice", False),  # no transition:approve
    ("approve", "applied_id", "approver", "alice", False),  # no longer open
    ("cancel", "cancel_id", "data-scientist", "tester", True),  # one's own
    ("cancel", "cancel_id", "data-scientist", "frank", False),  # someone else's, without cancel-any
    ("cancel", "cancel_id", "mlops", "olga", True),  # transition:cancel-any
    ("cancel", "cancel_id", "approver", "tester", False),  # no transition:cancel
    ("cancel", "applied_id", "mlops", "olga", False),  # no longer open
])
async def test_can_with_a_request_id_answers_as_the_mutation_does(api, action, request_key, role, sub, allowed):
    seeded = await seed(api)
    request = seeded[request_key]
    assert await can(api, action, "transition", request, role, sub=sub) is allowed
    body = await gql(api, APPROVE if action == "approve" else CANCEL, {"id": request}, role, sub=sub)
    assert ("errors" not in body) is allowed, body


@pytest.mark.parametrize("target,allowed", [
    ("v1", False),  # carries @stable and a shadow deployment
    ("v2", True),
    ("v3", False),  # in PRODUCTION
    ("v4", False),  # a canary
])
async def test_can_delete_a_version_follows_the_deletion_rules(api, target, allowed):
    await seed(api)
    found = await ids(api)
    assert await can(api, "delete", "version", found[target], "mlops") is allowed
    assert await can(api, "delete", "version", found[target], "data-scientist") is False  # no version:delete
    assert await can(api, "write", "version", found[target], "data-scientist") is True
    body = await gql(api, DELETE_VERSION, {"version": int(target[1:])}, "mlops")
    assert ("errors" not in body) is allowed, body


async def test_can_delete_a_model_follows_the_deletion_rules(api):
    await seed(api)
    found = await ids(api)
    assert await can(api, "delete", "model", found["m"], "mlops") is False  # a version in PRODUCTION
    assert await can(api, "delete", "model", found["doomed"], "mlops") is True
    assert await can(api, "delete", "model", found["doomed"], "data-scientist") is False
    assert await can(api, "write", "model", found["doomed"], "auditor") is False
    assert await can(api, "write", "model", found["m"], "data-scientist") is True


@pytest.mark.parametrize("action,resource,field", [
    ("fly", "model", "action"),
    ("write", "spaceship", "resource"),
    ("fly", "spaceship", "resource"),
    ("approve", "model", "action"),  # both exist, the pair does not
    ("read", "transition", "action"),
])
async def test_unknown_actions_resources_and_pairs_are_bad_input(api, action, resource, field):
    """A misspelt action answered false, as if the policy had denied it."""
    refused = await error(api, CAN, {"action": action, "resource": resource}, "mlops")
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, refused


async def test_ids_that_do_not_fit_are_bad_input_and_missing_objects_not_found(api):
    seeded = await seed(api)
    model = seeded["model_id"]
    wrong_type = await error(api, CAN, {"action": "approve", "resource": "transition", "id": model}, "approver")
    assert wrong_type["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert "not the id of a transition request" in wrong_type["message"]
    no_object_rules = await error(api, CAN, {"action": "read", "resource": "registry", "id": model}, "approver")
    assert no_object_rules["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    garbage = await error(api, CAN, {"action": "approve", "resource": "transition", "id": "garbage"}, "approver")
    assert garbage["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    unknown = global_id("TransitionRequest", 999_999)
    missing = await error(api, CAN, {"action": "approve", "resource": "transition", "id": unknown}, "approver")
    assert missing["extensions"] == {"code": "NOT_FOUND", "field": "id"}
    assert missing["message"] == f"transition request {unknown} does not exist"


async def test_asking_about_an_object_needs_registry_read(api):
    seeded = await seed(api)
    assert await can(api, "approve", "transition", None, "nobody") is False
    refused = await error(api, CAN, {"action": "approve", "resource": "transition", "id": seeded["approve_id"]},
                          "nobody")
    assert refused["extensions"]["code"] == "FORBIDDEN" and "registry:read" in refused["message"]
