"""Scoped reads (MODELREG_READ_SCOPE=scoped, issue 18): each read path shows a caller only the models of the
namespaces where they hold a role, filtered in SQL (pages without holes, totalCount the caller's own); an object
out of scope answers as a missing one does; lineage edges to versions out of scope are redacted stubs. Runs on the
suite's database (SQLite, or PostgreSQL in CI's second leg). The default mode (global) is covered by the rest of the
suite; the last test here shows the same caller reading everything in it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from tests.support.client import Api, api_with_settings

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


@pytest.fixture
async def scoped(api: Api, settings: Settings) -> AsyncIterator[Api]:
    """A scoped-reads server on the test's (empty) database."""
    async with api_with_settings(settings, api, read_scope="scoped") as scoped_api:
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
    nodes { id kind label depth redacted entity { __typename ... on RedactedLineageNode { kind redacted }
      ... on ModelVersion { uri } ... on Dataset { name } } }
    edges { kind upstreamId downstreamId relation }
  }
}
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
    assert stub["entity"] == {"__typename": "RedactedLineageNode", "kind": "MODEL_VERSION", "redacted": True}
    assert (stub["kind"], stub["label"], stub["depth"]) == ("MODEL_VERSION", "(redacted)", 1)
    assert stub["id"] != churn["id"]
    assert seen["edges"] == [{"kind": "DERIVED_FROM", "upstreamId": stub["id"], "downstreamId": fraud["id"],
                              "relation": "fine-tuned"}]
    assert "churn" not in str(seen) and "raw" not in str(seen)
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
