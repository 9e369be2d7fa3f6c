"""Audit completeness: every mutation, run once, writes exactly one event (in its transaction), and so does every
denied attempt and every failure a use case raises; each event carries who, from where and what changed."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.audit import KEY_OWNERS
from app.graphql.relay import from_global_id
from tests.graphql.test_schema_coverage import OPERATIONS, ROLES, gql, holds, ok, root_fields, seed, token
from tests.support.client import Api

ACTIONS = {
    "createRegisteredModel": "model.create",
    "updateRegisteredModel": "model.update",
    "deleteRegisteredModel": "model.delete",
    "setRegisteredModelTag": "model.tag.set",
    "deleteRegisteredModelTag": "model.tag.delete",
    "createModelVersion": "version.create",
    "updateModelVersion": "version.update",
    "deleteModelVersion": "version.delete",
    "setModelVersionTag": "version.tag.set",
    "deleteModelVersionTag": "version.tag.delete",
    "setModelAlias": "alias.set",
    "deleteModelAlias": "alias.delete",
    "createArtifactUpload": "artifact.upload.create",
    "requestStageTransition": "transition.request",
    "requestAliasTransition": "transition.request",
    "approveTransitionRequest": "transition.approve",
    "rejectTransitionRequest": "transition.reject",
    "cancelTransitionRequest": "transition.cancel",
    "rollbackProduction": "production.rollback",
    "attachDocument": "document.attach",
    "registerDataset": "dataset.register",
    "registerRun": "run.register",
    "registerCodeCommit": "code_commit.register",
    "registerExternalNode": "external_node.register",
    "addLineageEdge": "lineage.edge.add",
    "createWebhook": "webhook.create",
    "updateWebhook": "webhook.update",
    "deleteWebhook": "webhook.delete",
    "pingWebhook": "webhook.ping",
    "redeliverWebhookEvent": "webhook.redeliver",
    "deploy": "deployment.deploy",
    "undeploy": "deployment.undeploy",
    "startCanary": "deployment.start_canary",
    "setCanaryTraffic": "deployment.set_canary_traffic",
    "abortCanary": "deployment.abort_canary",
    "promoteCanary": "deployment.promote_canary",
    "addShadow": "deployment.add_shadow",
    "removeShadow": "deployment.remove_shadow",
    "rollbackDeployment": "deployment.rollback",
}
MUTATIONS = sorted(name for name, kind in root_fields().items() if kind == "Mutation")
EVENTS = """
query Events($first: Int!) {
  auditEvents(first: $first) {
    nodes {
      sequence occurredAt action outcome detail before after requestId clientAddress userAgent prevHash hash
      actor { subject kind } actorRoles target { type id name version }
    }
  }
}
"""


async def head(api: Api) -> int:
    nodes = (await ok(api, EVENTS, {"first": 1}, "auditor", sub="audit-reader"))["auditEvents"]["nodes"]
    return int(nodes[0]["sequence"]) if nodes else 0


async def events_after(api: Api, seq: int) -> list[dict[str, Any]]:
    nodes = (await ok(api, EVENTS, {"first": 100}, "auditor", sub="audit-reader"))["auditEvents"]["nodes"]
    return sorted((n for n in nodes if n["sequence"] > seq), key=lambda n: n["sequence"])


NODE_TYPE = "query($id: ID!) { node(id: $id) { __typename } }"


async def check_target_id(api: Api, mutation: str, target: dict[str, Any]) -> None:
    """A target's id is the global id of what the stored key names (an upload id for uploads), and node(id:) finds
    it unless the mutation deleted it."""
    if target["id"] is None or target["type"] == "ArtifactUpload":
        return
    owner = KEY_OWNERS[target["type"]]
    assert from_global_id(target["id"])[0] == owner, (mutation, target)
    if not mutation.startswith("delete"):
        found = (await ok(api, NODE_TYPE, {"id": target["id"]}, "mlops"))["node"]
        assert found == {"__typename": owner}, (mutation, target)


def test_every_mutation_has_an_expected_action():
    assert set(MUTATIONS) == set(ACTIONS)


@pytest.mark.parametrize("name", MUTATIONS)
async def test_one_event_per_mutation_allowed_or_denied(api, name):
    op = OPERATIONS[name]
    allowed = next(role for role in ROLES if holds(role, op.permission))
    denied = next(role for role in ROLES if not holds(role, op.permission))
    seeded = await seed(api)

    before = await head(api)
    response = await api.post(op.document, op.variables(seeded), token=token(api, allowed),
                              headers={"x-request-id": f"req-{name}", "user-agent": "audit-test/1.0"})
    assert not response.json().get("errors"), response.json()
    (event,) = await events_after(api, before)
    assert (event["action"], event["outcome"], event["detail"]) == (ACTIONS[name], "OK", None)
    assert (event["actor"], event["actorRoles"]) == ({"subject": "tester", "kind": "USER"}, [allowed])
    assert (event["requestId"], event["userAgent"], event["clientAddress"]) == (f"req-{name}", "audit-test/1.0",
                                                                               "127.0.0.1")
    assert event["after"] is not None or event["before"] is not None, event
    assert event["target"]["type"]
    await check_target_id(api, name, event["target"])

    before = await head(api)
    refused = await gql(api, op.document, op.variables(seeded), denied)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    (event,) = await events_after(api, before)
    assert (event["action"], event["outcome"]) == (ACTIONS[name], "FORBIDDEN")
    assert op.permission.value in event["detail"]
    assert event["actorRoles"] == ([] if denied == "nobody" else [denied])
    assert (event["before"], event["after"]) == (None, None)


UPDATE_MISSING = 'mutation { updateRegisteredModel(input: {name: "ghost", description: "x"}) { registeredModel { name } } }'
BAD_TAG = 'mutation { setRegisteredModelTag(input: {name: "m", key: "a=b", value: "v"}) { registeredModel { name } } }'
READ_AUDIT = "query { auditEvents(first: 1) { totalCount } }"
READ_MODELS = "query { registeredModels(first: 1) { totalCount } }"


async def test_failures_are_recorded_with_their_code_and_denied_reads_too(api):
    await seed(api)
    cases = [(UPDATE_MISSING, "mlops", "model.update", "NOT_FOUND"),
             (BAD_TAG, "mlops", "model.tag.set", "BAD_USER_INPUT"),
             (READ_AUDIT, "mlops", "audit.read", "FORBIDDEN"),
             (READ_MODELS, "nobody", "registry.read", "FORBIDDEN")]
    for document, role, action, code in cases:
        before = await head(api)
        assert (await gql(api, document, None, role))["errors"][0]["extensions"]["code"] == code
        (event,) = await events_after(api, before)
        assert (event["action"], event["outcome"]) == (action, code), event
    # Allowed reads are not recorded.
    before = await head(api)
    await ok(api, READ_MODELS, None, "approver")
    assert await events_after(api, before) == []


async def test_what_changed_is_recorded_before_and_after(api):
    await seed(api)
    before = await head(api)
    await ok(api, 'mutation { updateRegisteredModel(input: {name: "m", owner: "risk-team", riskTier: HIGH}) '
                  "{ registeredModel { name } } }")
    (event,) = await events_after(api, before)
    assert event["before"]["owner"] == "seeder" and event["before"]["riskTier"] is None
    assert event["after"]["owner"] == "risk-team" and event["after"]["riskTier"] == "HIGH"
    model_id = (await ok(api, '{ registeredModel(name: "m") { id } }'))["registeredModel"]["id"]
    assert event["target"] == {"type": "RegisteredModel", "id": model_id, "name": "m", "version": None}


DATA = b"audited bytes"


async def test_http_uploads_are_recorded(api):
    before = await head(api)
    stored = await api.client.put("/api/artifacts/blobs", content=DATA,
                                  headers={"authorization": f"Bearer {token(api, 'data-scientist')}"})
    assert stored.status_code == 201
    refused = await api.client.put("/api/artifacts/blobs", content=DATA,
                                   headers={"authorization": f"Bearer {token(api, 'auditor')}"})
    assert refused.status_code == 403
    upload = (await ok(api, "mutation { createArtifactUpload(input: {}) { uploadId uploadUrl direct } }"))[
        "createArtifactUpload"]
    expired = await api.client.put("/api/artifacts/uploads/nope", content=DATA,
                                   headers={"authorization": f"Bearer {token(api, 'mlops')}"})
    assert expired.status_code == 409
    download = await api.client.get("/api/artifacts/files", params={"uri": "models:/m/1", "path": "x"},
                                    headers={"authorization": f"Bearer {token(api, 'nobody')}"})
    assert download.status_code == 403
    events = await events_after(api, before)
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("artifact.upload", "OK"), ("artifact.upload", "FORBIDDEN"), ("artifact.upload.create", "OK"),
        ("artifact.upload.receive", "FAILED_PRECONDITION"), ("artifact.download", "FORBIDDEN")]
    assert events[0]["after"] == {"digest": stored.json()["digest"], "size": len(DATA)}
    assert events[2]["target"] == {"type": "ArtifactUpload", "id": upload["uploadId"], "name": None, "version": None}
    if not upload["direct"]:
        before = await head(api)
        sent = await api.client.put(upload["uploadUrl"], content=DATA,
                                    headers={"authorization": f"Bearer {token(api, 'mlops')}"})
        assert sent.status_code == 201
        (event,) = await events_after(api, before)
        assert (event["action"], event["outcome"], event["after"]) == ("artifact.upload.receive", "OK",
                                                                      {"size": len(DATA)})
