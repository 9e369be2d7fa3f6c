"""The audit log in the 1.0 API: an AuditEvent is a Node (`node(id:)` finds it, for auditors only), sequence numbers
are Longs (JSON integers), `orderBy` orders by sequence both ways and pages backwards too, targets show global ids
computed when read (the log keeps the database keys its hashes cover), and outcomes are an enum."""

from __future__ import annotations

import pytest

from app.domain.audit import OUTCOMES
from app.domain.public_ids import global_id
from app.graphql.types.audit import AuditOutcome
from tests.audit.test_chain import MAKE_EVENTS
from tests.graphql.test_schema_coverage import error, ok

EVENTS = """
query Events($filter: AuditEventFilter, $orderBy: AuditEventOrder, $first: Int, $after: String, $last: Int,
             $before: String) {
  auditEvents(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    nodes { id sequence action outcome actor { subject kind } actorRoles target { type id name version } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on AuditEvent { sequence action actor { subject } target { name } } }
}
"""
INTEGRITY = "query { auditIntegrity { ok headSequence } }"
ASC = {"field": "SEQUENCE", "direction": "ASC"}
DESC = {"field": "SEQUENCE", "direction": "DESC"}


async def events(api, **variables) -> dict:
    return (await ok(api, EVENTS, variables, "auditor", sub="audit-reader"))["auditEvents"]


def sequences(page: dict) -> list[int]:
    return [node["sequence"] for node in page["nodes"]]


async def test_an_audit_event_is_a_node_that_only_auditors_fetch(api):
    await ok(api, MAKE_EVENTS, None, "mlops", sub="olga")
    (newest,) = (await events(api, first=1))["nodes"]
    assert newest["id"] == global_id("AuditEvent", 5)

    found = (await ok(api, NODE, {"id": newest["id"]}, "auditor"))["node"]
    assert found == {"__typename": "AuditEvent", "id": newest["id"], "sequence": 5, "action": "model.tag.delete",
                     "actor": {"subject": "olga"}, "target": {"name": "a"}}
    assert (await ok(api, NODE, {"id": global_id("AuditEvent", 999)}, "auditor"))["node"] is None

    refused = await error(api, NODE, {"id": newest["id"]}, "data-scientist", sub="dana")
    assert refused["extensions"]["code"] == "FORBIDDEN" and "audit:read" in refused["message"], refused
    assert refused["path"] == ["node"]
    denial = (await events(api, filter={"actor": "dana"}))["nodes"]
    assert [(n["action"], n["outcome"], n["actorRoles"]) for n in denial] == [
        ("audit.read", "FORBIDDEN", ["data-scientist"])]


async def test_sequences_are_json_integers(api):
    await ok(api, MAKE_EVENTS)
    page = await events(api)
    assert sequences(page) == [5, 4, 3, 2, 1]
    assert {type(number) for number in sequences(page)} == {int}  # a Long; they were Floats (5.0 in Python)
    report = (await ok(api, INTEGRITY, None, "auditor"))["auditIntegrity"]
    assert report == {"ok": True, "headSequence": 5} and type(report["headSequence"]) is int


async def test_order_by_sequence_both_ways_and_page_backwards(api):
    await ok(api, MAKE_EVENTS)
    assert sequences(await events(api)) == [5, 4, 3, 2, 1]  # newest first by default
    assert sequences(await events(api, orderBy=DESC)) == [5, 4, 3, 2, 1]
    assert sequences(await events(api, orderBy={"direction": "DESC"})) == [5, 4, 3, 2, 1]  # field defaults too
    assert sequences(await events(api, orderBy=ASC)) == [1, 2, 3, 4, 5]

    # Oldest first, paged from the end backwards: the last two, then the two before them, then the first.
    tail = await events(api, orderBy=ASC, last=2)
    assert sequences(tail) == [4, 5]
    assert (tail["pageInfo"]["hasPreviousPage"], tail["pageInfo"]["hasNextPage"]) == (True, False)
    middle = await events(api, orderBy=ASC, last=2, before=tail["pageInfo"]["startCursor"])
    assert sequences(middle) == [2, 3] and middle["pageInfo"]["hasPreviousPage"]
    head = await events(api, orderBy=ASC, last=2, before=middle["pageInfo"]["startCursor"])
    assert sequences(head) == [1] and not head["pageInfo"]["hasPreviousPage"]

    # Newest first, forwards then back again.
    first = await events(api, first=2)
    assert sequences(first) == [5, 4] and first["pageInfo"]["hasNextPage"]
    second = await events(api, first=2, after=first["pageInfo"]["endCursor"])
    assert sequences(second) == [3, 2]
    back = await events(api, last=2, before=second["pageInfo"]["startCursor"])
    assert sequences(back) == [5, 4] and not back["pageInfo"]["hasPreviousPage"]


MODEL_VERSION_ALIAS = """
mutation {
  createRegisteredModel(input: {name: "t"}) { registeredModel { id } }
  createModelVersion(input: {name: "t"}) { modelVersion { id } }
  setModelAlias(input: {name: "t", alias: "stable", version: 1}) { modelAlias { alias } }
}
"""


async def test_targets_show_global_ids_and_the_filter_takes_them(api, app):
    made = await ok(api, MODEL_VERSION_ALIAS)
    model_id = made["createRegisteredModel"]["registeredModel"]["id"]
    version_id = made["createModelVersion"]["modelVersion"]["id"]
    targets = [(n["action"], n["target"]) for n in (await events(api, orderBy=ASC))["nodes"]]
    assert targets == [
        ("model.create", {"type": "RegisteredModel", "id": model_id, "name": "t", "version": None}),
        ("version.create", {"type": "ModelVersion", "id": version_id, "name": "t", "version": 1}),
        # An alias is stored with its model's key: its id is the model's.
        ("alias.set", {"type": "ModelAlias", "id": model_id, "name": "t@stable", "version": None}),
    ]
    # node(id:) finds what a target names.
    found = await ok(api, "query($id: ID!) { node(id: $id) { __typename } }", {"id": version_id}, "auditor")
    assert found["node"] == {"__typename": "ModelVersion"}

    async def actions(target: str) -> list[str]:
        return [n["action"] for n in (await events(api, orderBy=ASC, filter={"target": target}))["nodes"]]

    assert await actions(model_id) == ["model.create", "alias.set"]
    assert await actions(version_id) == ["version.create"]
    assert await actions("t@stable") == ["alias.set"]
    assert await actions("t") == ["model.create", "version.create"]  # by name
    assert await actions("1") == []  # database keys are not shown, so they are not matched either
    assert await actions(global_id("Webhook", 1)) == []

    # What the log stores (and hashes) is unchanged: the database keys; the chain verifies.
    async with app.state.uow(write=False) as uow:
        stored = [event.draft.target.id for event in await uow.audit.chunk(0, 10)]
    assert all(key is not None and key.isdigit() for key in stored), stored
    assert (await ok(api, INTEGRITY, None, "auditor"))["auditIntegrity"]["ok"]


async def test_outcome_is_an_enum_in_results_and_filters(api):
    await ok(api, MAKE_EVENTS)
    await error(api, 'mutation { updateRegisteredModel(input: {name: "ghost", description: "x"}) '
                     "{ registeredModel { name } } }")
    assert [n["outcome"] for n in (await events(api, first=2))["nodes"]] == ["NOT_FOUND", "OK"]
    assert (await events(api, filter={"outcome": "OK"}))["totalCount"] == 5
    assert (await events(api, filter={"outcome": "NOT_FOUND"}))["totalCount"] == 1
    refused = await error(api, EVENTS, {"filter": {"outcome": "ok"}}, "auditor")
    assert refused["extensions"]["code"] == "BAD_USER_INPUT", refused


@pytest.mark.backend_independent
def test_outcomes_are_ok_and_every_error_code():
    assert sorted(outcome.value for outcome in AuditOutcome) == sorted(OUTCOMES)
    assert all(outcome.name == outcome.value.upper() for outcome in AuditOutcome)
