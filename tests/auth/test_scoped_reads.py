"""Scoped reads (MODELREG_READ_SCOPE=scoped, issue 18): each read path shows a caller only the models of the
namespaces where they hold a role, filtered in SQL (pages without holes, totalCount the caller's own); an object
out of scope answers as a missing one does; lineage edges to versions out of scope are redacted stubs. Runs on the
suite's database (SQLite, or PostgreSQL in CI's second leg). The default mode (global) is covered by the rest of the
suite; the last test here shows the same caller reading everything in it."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.domain.identity import Principal
from app.main import create_app
from tests.auth.test_scopes import policy_dir_with
from tests.support.client import Api

FRAUD = ["fraud/a", "fraud/b", "fraud/cards/c"]
CHURN = ["churn/x", "churn/y"]
ROOT = ["plain"]
LOOKALIKE = ["fraudulent/z"]  # shares the prefix "fraud" but not the namespace "fraud/"

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { id version model { id name } } }
}
"""
CATALOGUE = """
query($first: Int, $after: String) {
  registeredModels(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
    totalCount nodes { name } pageInfo { hasNextPage endCursor }
  }
}
"""
VERSIONS = "query { modelVersions(first: 100) { totalCount nodes { name version } } }"
LOOKUPS = """
query($name: String!) {
  registeredModel(name: $name) { name }
  modelVersion(name: $name, version: 1) { version }
}
"""
RESOLVE = 'query($uri: String!) { resolveModelUri(uri: $uri) { modelVersion { name version } } }'
NODE = "query($id: ID!) { node(id: $id) { id } }"
SET_ALIAS = "mutation($in: SetModelAliasInput!) { setModelAlias(input: $in) { modelAlias { alias } } }"
ALIASES = "query($name: String!) { registeredModel(name: $name) { aliases { id } } }"


@contextlib.asynccontextmanager
async def scoped_server(settings: Settings, api: Api, **overrides: Any) -> AsyncIterator[tuple[Api, Any]]:
    """A scoped-reads server on the test's (empty) database, and the application (for its services)."""
    application = create_app(settings.with_overrides(read_scope="scoped", **overrides))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            yield Api(client, api.data_dir, database_url=api.database_url), application
    finally:
        await application.state.database.dispose()


@pytest.fixture
async def scoped(api: Api, settings: Settings) -> AsyncIterator[Api]:
    async with scoped_server(settings, api) as (scoped_api, _):
        yield scoped_api


async def seed(api: Api) -> dict[str, dict]:
    """One version of each model, registered by a global mlops."""
    created = {}
    for name in FRAUD + CHURN + ROOT + LOOKALIKE:
        data = await api.ok(CREATE_VERSION, {"input": {"name": name, "createModelIfMissing": True}})
        created[name] = data["createModelVersion"]["modelVersion"]
    return created


async def test_catalogue_counts_and_pages_are_the_callers(scoped: Api):
    await seed(scoped)
    fraud = await scoped.ok(CATALOGUE, {"first": 2}, "data-scientist@fraud/")
    page = fraud["registeredModels"]
    assert page["totalCount"] == 3
    assert [n["name"] for n in page["nodes"]] == ["fraud/a", "fraud/b"]  # no holes: two rows, both readable
    rest = await scoped.ok(CATALOGUE, {"first": 2, "after": page["pageInfo"]["endCursor"]}, "data-scientist@fraud/")
    assert [n["name"] for n in rest["registeredModels"]["nodes"]] == ["fraud/cards/c"]
    assert rest["registeredModels"]["pageInfo"]["hasNextPage"] is False

    nested = (await scoped.ok(CATALOGUE, {"first": 10}, "approver@fraud/cards/"))["registeredModels"]
    assert (nested["totalCount"], [n["name"] for n in nested["nodes"]]) == (1, ["fraud/cards/c"])
    two = (await scoped.ok(CATALOGUE, {"first": 10}, "approver@fraud/cards/", "auditor@churn/"))["registeredModels"]
    assert [n["name"] for n in two["nodes"]] == ["churn/x", "churn/y", "fraud/cards/c"]
    everything = (await scoped.ok(CATALOGUE, {"first": 10}, "auditor"))["registeredModels"]
    assert everything["totalCount"] == 7

    versions = (await scoped.ok(VERSIONS, None, "data-scientist@churn/"))["modelVersions"]
    assert versions["totalCount"] == 2
    assert sorted(n["name"] for n in versions["nodes"]) == CHURN


async def test_an_object_out_of_scope_answers_as_a_missing_one(scoped: Api):
    created = await seed(scoped)
    caller = "data-scientist@fraud/"
    inside = await scoped.ok(LOOKUPS, {"name": "fraud/a"}, caller)
    assert inside == {"registeredModel": {"name": "fraud/a"}, "modelVersion": {"version": 1}}
    for name in ("churn/x", "plain", "fraudulent/z"):
        assert await scoped.ok(LOOKUPS, {"name": name}, caller) == await scoped.ok(
            LOOKUPS, {"name": name + "-missing"}, caller) == {"registeredModel": None, "modelVersion": None}
        out = await scoped.error(RESOLVE, {"uri": f"models:/{name}/1"}, caller)
        missing = await scoped.error(RESOLVE, {"uri": f"models:/{name}-missing/1"}, caller)
        assert out["extensions"]["code"] == missing["extensions"]["code"] == "NOT_FOUND"
        assert out["message"] == missing["message"].replace("-missing", "")
        for node_id in (created[name]["id"], created[name]["model"]["id"]):
            assert await scoped.ok(NODE, {"id": node_id}, caller) == {"node": None}
    await scoped.ok(SET_ALIAS, {"in": {"name": "churn/x", "alias": "candidate", "version": 1}})
    alias_id = (await scoped.ok(ALIASES, {"name": "churn/x"}))["registeredModel"]["aliases"][0]["id"]
    assert (await scoped.ok(NODE, {"id": alias_id}))["node"] == {"id": alias_id}
    assert await scoped.ok(NODE, {"id": alias_id}, caller) == {"node": None}
    resolved = await scoped.ok(RESOLVE, {"uri": "models:/fraud/cards/c/1"}, caller)
    assert resolved["resolveModelUri"]["modelVersion"] == {"name": "fraud/cards/c", "version": 1}
    assert (await scoped.ok(NODE, {"id": created["fraud/a"]["id"]}, caller))["node"] == {"id": created["fraud/a"]["id"]}


async def test_the_root_namespace_takes_a_global_role(scoped: Api):
    await seed(scoped)
    page = await scoped.ok(CATALOGUE, {"first": 10}, "mlops@churn/")
    names = [n["name"] for n in page["registeredModels"]["nodes"]]
    assert "plain" not in names and "fraudulent/z" not in names


async def test_the_global_mode_reads_everything(api: Api):
    await seed(api)
    page = (await api.ok(CATALOGUE, {"first": 10}, "data-scientist@fraud/"))["registeredModels"]
    assert page["totalCount"] == 7


# Lineage: walks, impact analysis, node(id) of versions.

REGISTER_DATASET = """
mutation($in: RegisterDatasetInput!) { registerDataset(input: $in) { dataset { id } } }
"""
ADD_EDGE = "mutation($in: AddLineageEdgeInput!) { addLineageEdge(input: $in) { created } }"
WALK = """
query($id: ID!, $direction: LineageDirection!) {
  lineage(id: $id, direction: $direction, depth: 5) {
    mermaid dot
    nodes { id kind label depth redacted entity { __typename ... on RedactedLineageNode { id kind redacted }
      ... on ModelVersion { uri } ... on Dataset { name } } }
    edges { kind upstreamId downstreamId relation }
  }
}
"""
BOUNDED_WALK = """
query($id: ID!) { lineage(id: $id, direction: UPSTREAM, depth: 5, maxNodes: 2) { truncated nodes { id } } }
"""
MISSING_VERSION_ID = base64.b64encode(b"ModelVersion:999999").decode()
IMPACT = """
query($id: ID!) { impactedModelVersions(nodeId: $id, first: 10) { totalCount nodes { name version } } }
"""


async def test_lineage_shows_versions_out_of_scope_as_stubs(scoped: Api):
    """raw (a dataset) -> churn/x v1 -> (DERIVED_FROM) fraud/a v1: a fraud/ caller sees churn/x v1 as a stub and
    nothing beyond it; impact analysis from raw counts only fraud/ versions; churn/x v1 is not a root it may use."""
    raw = (await scoped.ok(REGISTER_DATASET, {"in": {"name": "raw", "version": "1"}}))["registerDataset"]["dataset"]
    churn = (await scoped.ok(CREATE_VERSION, {"input": {"name": "churn/x", "createModelIfMissing": True,
                                                        "datasets": [{"id": raw["id"]}]}}))
    churn = churn["createModelVersion"]["modelVersion"]
    fraud = (await scoped.ok(CREATE_VERSION, {"input": {"name": "fraud/a", "createModelIfMissing": True}}))
    fraud = fraud["createModelVersion"]["modelVersion"]
    await scoped.ok(ADD_EDGE, {"in": {"kind": "DERIVED_FROM", "upstreamId": churn["id"], "downstreamId": fraud["id"],
                                      "relation": "fine-tuned"}})
    caller = "data-scientist@fraud/"

    seen = (await scoped.ok(WALK, {"id": fraud["id"], "direction": "UPSTREAM"}, caller))["lineage"]
    stub = next(node for node in seen["nodes"] if node["redacted"])
    assert len(seen["nodes"]) == 2  # the root and the stub; the dataset behind the stub is not walked to
    assert stub["entity"] == {"__typename": "RedactedLineageNode", "id": stub["id"], "kind": "MODEL_VERSION",
                              "redacted": True}
    assert (stub["kind"], stub["label"], stub["depth"]) == ("MODEL_VERSION", "(redacted)", 1)
    assert stub["id"] != churn["id"]
    assert seen["edges"] == [{"kind": "DERIVED_FROM", "upstreamId": stub["id"], "downstreamId": fraud["id"],
                              "relation": "fine-tuned"}]
    assert "churn" not in str(seen) and "raw" not in str(seen)
    # The walk stops at the stub in SQL: the dataset behind it neither takes a place under maxNodes nor truncates.
    bounded = (await scoped.ok(BOUNDED_WALK, {"id": fraud["id"]}, caller))["lineage"]
    assert (len(bounded["nodes"]), bounded["truncated"]) == (2, False)
    assert (await scoped.ok(BOUNDED_WALK, {"id": fraud["id"]}, "auditor"))["lineage"]["truncated"] is True
    assert (await scoped.error(NODE, {"id": stub["id"]}, "mlops"))["extensions"]["code"] == "BAD_USER_INPUT"

    everything = (await scoped.ok(WALK, {"id": fraud["id"], "direction": "UPSTREAM"}, "auditor"))["lineage"]
    assert {node["label"] for node in everything["nodes"]} == {"models:/fraud/a/1", "models:/churn/x/1", "raw 1"}
    assert not any(node["redacted"] for node in everything["nodes"])

    impact = (await scoped.ok(IMPACT, {"id": raw["id"]}, caller))["impactedModelVersions"]
    assert impact == {"totalCount": 1, "nodes": [{"name": "fraud/a", "version": 1}]}
    assert (await scoped.ok(IMPACT, {"id": raw["id"]}, "auditor"))["impactedModelVersions"]["totalCount"] == 2
    from_raw = (await scoped.ok(WALK, {"id": raw["id"], "direction": "DOWNSTREAM"}, caller))["lineage"]
    assert [node["redacted"] for node in from_raw["nodes"]] == [False, True]  # raw, then the stub; fraud/a behind it

    for query, variables in ((WALK, {"id": churn["id"], "direction": "UPSTREAM"}), (IMPACT, {"id": churn["id"]})):
        hidden = await scoped.error(query, variables, caller)
        missing = await scoped.error(query, {**variables, "id": MISSING_VERSION_ID}, caller)
        assert hidden["extensions"]["code"] == "NOT_FOUND", hidden
        assert hidden["message"] == missing["message"]


# The audit log: an auditor within fraud/ reads fraud/'s events, in the query, node(id) and the export.

AUDIT = """
query { auditEvents(first: 100) { totalCount nodes { id action target { type name } } } }
"""
INTEGRITY = "query { auditIntegrity { ok } }"


async def test_an_auditor_within_a_namespace_reads_its_audit_events(scoped: Api):
    await seed(scoped)
    await scoped.gql(CREATE_VERSION, {"input": {"name": "churn/x"}}, "data-scientist@fraud/")  # refused, audited
    everything = (await scoped.ok(AUDIT, None, "auditor"))["auditEvents"]
    fraud = (await scoped.ok(AUDIT, None, "auditor@fraud/"))["auditEvents"]
    names = [node["target"]["name"] or "" for node in fraud["nodes"]]
    assert names and all(name.startswith("fraud/") for name in names), names
    assert fraud["totalCount"] == len(fraud["nodes"]) == sum(
        1 for node in everything["nodes"] if (node["target"]["name"] or "").startswith("fraud/"))
    assert fraud["totalCount"] < everything["totalCount"]
    hidden = next(node for node in everything["nodes"] if node["target"]["name"] == "churn/x")
    assert await scoped.ok(NODE, {"id": hidden["id"]}, "auditor@fraud/") == {"node": None}
    assert (await scoped.ok(NODE, {"id": fraud["nodes"][0]["id"]}, "auditor@fraud/"))["node"] is not None
    # The integrity check reads every event: global auditors only.
    assert (await scoped.error(INTEGRITY, None, "auditor@fraud/"))["extensions"]["code"] == "FORBIDDEN"
    assert (await scoped.ok(INTEGRITY, None, "auditor"))["auditIntegrity"]["ok"] is True
    # The export (HTTP) streams the same events.
    response = await scoped.client.get("/api/audit/export", params={"format": "jsonl"},
                                       headers={"authorization": f"Bearer {scoped.token('auditor@fraud/')}"})
    assert response.status_code == 200, response.text
    exported = [json.loads(line) for line in response.text.splitlines() if line]
    assert len(exported) == fraud["totalCount"]
    assert all(event["target"]["name"].startswith("fraud/") for event in exported)
    refused = await scoped.client.get("/api/audit/export",
                                      headers={"authorization": f"Bearer {scoped.token('data-scientist@fraud/')}"})
    assert refused.status_code == 403


# Events: subscriptions and webhook payloads carry only what the subscriber (the webhook's creator) may read.

CREATE_WEBHOOK = """
mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id } } }
"""
DELIVERIES = """
query($id: ID!) { webhook(id: $id) { deliveries(first: 50) { totalCount nodes { eventId eventType } } } }
"""


async def test_a_subscription_follows_only_readable_models(api: Api, settings: Settings):
    async with scoped_server(settings, api) as (scoped_api, application):
        events = application.state.services.events
        fraud_only = await events.subscribe(Principal("watcher", roles=frozenset({"data-scientist@fraud/"})), after=0)
        everything = await events.subscribe(Principal("watcher", roles=frozenset({"auditor"})), after=0)
        await seed(scoped_api)
        await scoped_api.ok(CREATE_VERSION, {"input": {"name": "fraud/a"}})  # the last event: fraud/a version 2
        seen: dict[str, list[str]] = {"fraud": [], "all": []}
        for key, stream in (("fraud", fraud_only), ("all", everything)):
            async for event in stream:
                seen[key].append(event.model_name)
                if (event.model_name, event.version) == ("fraud/a", 2):
                    break
            await stream.aclose()
        assert seen["fraud"] and all(name.startswith("fraud/") for name in seen["fraud"]), seen["fraud"]
        assert seen["fraud"] == [name for name in seen["all"] if name and name.startswith("fraud/")]
        assert any(name and name.startswith("churn/") for name in seen["all"])


async def test_a_webhook_delivers_only_what_its_creator_may_read(api: Api, settings: Settings, tmp_path):
    """A role that manages webhooks but reads nothing (hook-admin, a custom policy), held with data-scientist
    within fraud/: its webhook gets fraud/'s events only; a global mlops's webhook gets all of them."""
    policies = policy_dir_with(tmp_path, "p, hook-admin, webhook, manage")
    async with scoped_server(settings, api, policy_dir=policies) as (scoped_api, _):
        hook = {"url": "http://127.0.0.1:9/hook", "secret": "s" * 20, "events": ["VERSION_CREATED"]}
        scoped_hook = (await scoped_api.ok(CREATE_WEBHOOK, {"in": hook}, "hook-admin", "data-scientist@fraud/"))
        global_hook = await scoped_api.ok(CREATE_WEBHOOK, {"in": hook}, "mlops")
        await seed(scoped_api)
        counts = {}
        for label, created in (("scoped", scoped_hook), ("global", global_hook)):
            page = await scoped_api.ok(DELIVERIES, {"id": created["createWebhook"]["webhook"]["id"]}, "mlops")
            counts[label] = page["webhook"]["deliveries"]["totalCount"]
        assert counts == {"scoped": len(FRAUD), "global": len(FRAUD + CHURN + ROOT + LOOKALIKE)}


# The other doors: the MLflow-compatible API, artifact downloads, the serving endpoint, transition requests.

async def test_the_mlflow_api_searches_and_gets_within_scope(scoped: Api):
    await seed(scoped)
    headers = {"authorization": f"Bearer {scoped.token('data-scientist@fraud/')}"}
    found = await scoped.client.get("/api/2.0/mlflow/registered-models/search", headers=headers)
    assert found.status_code == 200, found.text
    assert sorted(m["name"] for m in found.json()["registered_models"]) == ["fraud~a", "fraud~b", "fraud~cards~c"]
    versions = await scoped.client.get("/api/2.0/mlflow/model-versions/search", headers=headers)
    assert sorted(v["name"] for v in versions.json()["model_versions"]) == ["fraud~a", "fraud~b", "fraud~cards~c"]
    hidden = await scoped.client.get("/api/2.0/mlflow/registered-models/get", params={"name": "churn~x"},
                                     headers=headers)
    missing = await scoped.client.get("/api/2.0/mlflow/registered-models/get", params={"name": "churn~nope"},
                                      headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error_code"] == missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


ARTIFACT = b"scoped model bytes"
DEPLOY = "mutation($in: DeployInput!) { deploy(input: $in) { deployment { revision } } }"
DEPLOYMENTS = "query { deployments(first: 20) { totalCount nodes { name environment } } }"


async def test_artifacts_and_serving_answer_out_of_scope_as_missing(scoped: Api):
    bearer = {"authorization": f"Bearer {scoped.token('data-scientist')}"}
    put = await scoped.client.put("/api/artifacts/blobs", content=ARTIFACT, headers=bearer)
    assert put.status_code == 201, put.text
    files = [{"path": "model.bin", "digest": put.json()["digest"]}]
    for name in ("fraud/a", "churn/x"):
        await scoped.ok(CREATE_VERSION, {"input": {"name": name, "createModelIfMissing": True, "files": files}})
        await scoped.ok(DEPLOY, {"in": {"name": name, "environment": "dev", "version": 1}})
    caller = {"authorization": f"Bearer {scoped.token('auditor@fraud/')}"}

    def download(uri: str) -> Any:
        return scoped.client.get("/api/artifacts/files", params={"uri": uri, "path": "model.bin"}, headers=caller)

    assert (await download("models:/fraud/a/1")).content == ARTIFACT
    hidden, missing = await download("models:/churn/x/1"), await download("models:/churn/nope/1")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]

    assert (await scoped.client.get("/api/serving/dev/fraud/a", headers=caller)).status_code == 200
    hidden = await scoped.client.get("/api/serving/dev/churn/x", headers=caller)
    missing = await scoped.client.get("/api/serving/dev/churn/nope", headers=caller)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "NOT_FOUND"
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"].replace("churn/nope", "churn/x")

    listed = (await scoped.ok(DEPLOYMENTS, None, "auditor@fraud/"))["deployments"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["name"] == "fraud/a"


REQUEST = """
mutation($in: RequestStageTransitionInput!) { requestStageTransition(input: $in) { transitionRequest { id } } }
"""
REQUESTS = "query { transitionRequests(first: 20) { totalCount nodes { id modelVersion { name } } } }"


async def test_transition_requests_are_listed_within_scope(scoped: Api):
    await seed(scoped)
    ids = {}
    for name in ("fraud/a", "churn/x"):
        made = await scoped.ok(REQUEST, {"in": {"name": name, "version": 1, "toStage": "STAGING"}}, "data-scientist")
        ids[name] = made["requestStageTransition"]["transitionRequest"]["id"]
    listed = (await scoped.ok(REQUESTS, None, "approver@fraud/"))["transitionRequests"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["id"] == ids["fraud/a"]
    assert await scoped.ok(NODE, {"id": ids["churn/x"]}, "approver@fraud/") == {"node": None}
    assert (await scoped.ok(REQUESTS, None, "approver"))["transitionRequests"]["totalCount"] == 2


def test_policy_explain_decides_reads_in_the_mode(modelreg):
    args = ("policy", "explain", "--role", "data-scientist@fraud/", "--action", "registry:read",
            "--resource", "models:/churn/x")
    assert modelreg(*args).returncode == 0
    refused = modelreg(*args, MODELREG_READ_SCOPE="scoped")
    assert refused.returncode == 1 and refused.stdout.startswith("REFUSED: registry:read on model churn/x")
    assert modelreg(*args[:-1], "models:/fraud/cards/x", MODELREG_READ_SCOPE="scoped").returncode == 0


@pytest.mark.backend_independent
def test_the_read_scope_of_each_set_of_roles(tmp_path):
    from app.auth.authorizer import CasbinAuthorizer
    from app.domain.identity import Permission
    from app.domain.read_scope import EVERYTHING, ReadScope

    scoped = CasbinAuthorizer(Settings().policy_dir, "scoped")
    custom = CasbinAuthorizer(policy_dir_with(tmp_path, "p, hook-admin, webhook, manage"), "scoped")

    def scope(*roles: str, permission: Permission = Permission.REGISTRY_READ, of: Any = scoped) -> ReadScope:
        return of.read_scope(Principal("p", roles=frozenset(roles)), permission)

    assert scope("mlops") == scope("auditor", "data-scientist@fraud/") == EVERYTHING
    assert scope("data-scientist@fraud/") == ReadScope(("fraud/",))
    assert scope("data-scientist@fraud/", "approver@fraud/cards/", "ci@churn/") == ReadScope(("churn/", "fraud/"))
    assert scope() == scope("hook-admin", of=custom) == ReadScope(())
    assert scope("hook-admin", "ci@churn/", of=custom) == ReadScope(("churn/",))
    assert scope("auditor@fraud/", permission=Permission.AUDIT_READ) == ReadScope(("fraud/",))
    assert scope("data-scientist@fraud/", permission=Permission.AUDIT_READ) == ReadScope(())
    default = CasbinAuthorizer(Settings().policy_dir)
    assert default.read_scope(Principal("p", roles=frozenset({"ci@churn/"}))) == EVERYTHING
    fraud = ReadScope(("fraud/",))
    assert [fraud.covers(n) for n in ("fraud/a", "fraud/cards/b", "fraudulent/c", "fraud", None)] == [
        True, True, False, False, False]
    assert fraud.ranges() == [("fraud/", "fraud0")]
