"""What a registered version keeps forever, and what deletion refuses: versions with an alias or in PRODUCTION,
models with a PRODUCTION version. Every refusal leaves the stored data exactly as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db.migrate import sync_engine
from app.graphql.schema import schema
from tests.graphql.test_schema_coverage import error, gql, ok, snapshot

REGISTER = """
mutation Register {
  v1: createModelVersion(input: {
    name: "m", createModelIfMissing: true, description: "first", flavor: "sklearn",
    signature: {inputs: [{name: "x", type: "double"}]},
    run: {tracker: MLFLOW, runId: "run-1"}, code: {repositoryUrl: "https://git/repo", commitSha: "abcdef1"},
    artifact: {uri: "s3://bucket/m/1", size: 10},
    metrics: [{name: "acc", value: 0.9}], params: [{name: "lr", value: "0.1"}], tags: [{key: "vt", value: "1"}]
  }) { modelVersion { id } }
  v2: createModelVersion(input: {name: "m", tags: [{key: "vt", value: "2"}]}) { modelVersion { id } }
  tag: setRegisteredModelTag(input: {name: "m", key: "mt", value: "1"}) { registeredModel { id } }
}
"""
SET_ALIAS = """
mutation SetAlias($alias: String!, $version: Int!) {
  setModelAlias(input: {name: "m", alias: $alias, version: $version}) { modelAlias { alias } }
}
"""
DELETE_ALIAS = """
mutation DeleteAlias($alias: String!) { deleteModelAlias(input: {name: "m", alias: $alias}) { alias } }
"""
DELETE_VERSION = """
mutation DeleteVersion($version: Int!) {
  deleteModelVersion(input: {name: "m", version: $version}) { deletedId name version }
}
"""
DELETE_MODEL = "mutation DeleteModel($name: String!) { deleteRegisteredModel(input: {name: $name}) { deletedId name } }"
CREATE_VERSION = "mutation CreateVersion { createModelVersion(input: {name: \"m\"}) { modelVersion { version } } }"
UPDATE_DESCRIPTION = """
mutation UpdateDescription($input: UpdateModelVersionInput!) {
  updateModelVersion(input: $input) { modelVersion { version description } }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
RESOLVE = "query Resolve($uri: String!) { resolveModelUri(uri: $uri) { pinnedUri } }"


async def register(api) -> dict[str, str]:
    data = await ok(api, REGISTER, None, "data-scientist")
    return {"v1": data["v1"]["modelVersion"]["id"], "v2": data["v2"]["modelVersion"]["id"],
            "model": data["tag"]["registeredModel"]["id"]}


def set_stage(database_url: str, version: int, stage: str, name: str = "m") -> None:
    """Stage transitions have no API yet, so tests move a version directly in the database."""
    engine = sync_engine(database_url)
    try:
        with engine.begin() as connection:
            changed = connection.execute(
                text("UPDATE model_versions SET stage = :stage WHERE version = :version AND model_id = "
                     "(SELECT id FROM registered_models WHERE name = :name)"),
                {"stage": stage, "version": version, "name": name},
            ).rowcount
        assert changed == 1
    finally:
        engine.dispose()


def version_of(state: dict, number: int, name: str = "m") -> dict | None:
    for model in state["registeredModels"]["nodes"]:
        if model["name"] == name:
            return next((v for v in model["versions"]["nodes"] if v["version"] == number), None)
    return None


# Immutability


def test_update_input_offers_only_the_description():
    fields = schema._schema.type_map["UpdateModelVersionInput"].fields
    assert set(fields) == {"name", "version", "description"}


IMMUTABLE = {
    "artifact": '{uri: "s3://elsewhere"}',
    "metrics": '[{name: "acc", value: 1.0}]',
    "params": '[{name: "lr", value: "9"}]',
    "signature": "{inputs: []}",
    "run": '{runId: "other"}',
    "code": '{repositoryUrl: "https://evil", commitSha: "0000000"}',
    "flavor": '"pytorch"',
    "tags": '[{key: "vt", value: "x"}]',
    "stage": "PRODUCTION",
    "createdBy": '"mallory"',
}


@pytest.mark.parametrize("field", list(IMMUTABLE))
async def test_update_cannot_change_an_immutable_field(api, field):
    await register(api)
    before = await snapshot(api)
    document = (f'mutation {{ updateModelVersion(input: {{name: "m", version: 1, description: "new", '
                f'{field}: {IMMUTABLE[field]}}}) {{ modelVersion {{ version }} }} }}')
    refused = await error(api, document)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"unknown field '{field}'" in refused["message"]
    assert await snapshot(api) == before


@pytest.mark.parametrize("field", ["artifact", "metrics", "params", "signature"])
async def test_update_cannot_change_an_immutable_field_sent_as_a_variable(api, field):
    await register(api)
    before = await snapshot(api)
    sneaky = {"name": "m", "version": 1, "description": "new",
              field: {"artifact": {"uri": "s3://elsewhere"}, "metrics": [{"name": "acc", "value": 1.0}],
                      "params": [{"name": "lr", "value": "9"}], "signature": {"inputs": []}}[field]}
    refused = await error(api, UPDATE_DESCRIPTION, {"input": sneaky})
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"unknown field '{field}'" in refused["message"]
    assert await snapshot(api) == before


async def test_update_changes_the_description_and_nothing_else(api):
    await register(api)
    before = await snapshot(api)
    data = await ok(api, UPDATE_DESCRIPTION, {"input": {"name": "m", "version": 1, "description": "better"}})
    assert data["updateModelVersion"]["modelVersion"] == {"version": 1, "description": "better"}
    after = await snapshot(api)
    old, new = version_of(before, 1), version_of(after, 1)
    assert new["description"] == "better" and new["updatedAt"] >= old["updatedAt"]
    assert {**new, "description": None, "updatedAt": None} == {**old, "description": None, "updatedAt": None}
    assert version_of(after, 2) == version_of(before, 2)


async def test_update_without_a_description_changes_nothing_but_the_time(api):
    await register(api)
    before = version_of(await snapshot(api), 1)
    await ok(api, UPDATE_DESCRIPTION, {"input": {"name": "m", "version": 1}})
    after = version_of(await snapshot(api), 1)
    assert after["description"] == "first"
    assert {**after, "updatedAt": None} == {**before, "updatedAt": None}


# Deleting versions


async def test_version_with_an_alias_is_not_deleted(api):
    await register(api)
    await ok(api, SET_ALIAS, {"alias": "stable", "version": 1})
    await ok(api, SET_ALIAS, {"alias": "shadow", "version": 1})
    before = await snapshot(api)
    refused = await error(api, DELETE_VERSION, {"version": 1})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "@stable" in refused["message"] and "@shadow" in refused["message"]
    assert await snapshot(api) == before

    await ok(api, DELETE_ALIAS, {"alias": "stable"})
    refused = await error(api, DELETE_VERSION, {"version": 1})
    assert "@shadow" in refused["message"] and "@stable" not in refused["message"]
    await ok(api, DELETE_ALIAS, {"alias": "shadow"})
    await ok(api, DELETE_VERSION, {"version": 1})
    assert version_of(await snapshot(api), 1) is None


async def test_version_in_production_is_not_deleted(api, database_url):
    await register(api)
    set_stage(database_url, 2, "PRODUCTION")
    before = await snapshot(api)
    refused = await error(api, DELETE_VERSION, {"version": 2})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "PRODUCTION" in refused["message"] and "archive" in refused["message"]
    assert await snapshot(api) == before


@pytest.mark.parametrize("stage", ["NONE", "STAGING", "ARCHIVED"])
async def test_version_outside_production_is_deleted(api, database_url, stage):
    ids = await register(api)
    set_stage(database_url, 1, stage)
    before = await snapshot(api)
    data = await ok(api, DELETE_VERSION, {"version": 1})
    assert data["deleteModelVersion"] == {"deletedId": ids["v1"], "name": "m", "version": 1}
    after = await snapshot(api)
    assert version_of(after, 1) is None
    assert version_of(after, 2) == version_of(before, 2)  # its sibling keeps its tags and everything else
    assert (await ok(api, NODE, {"id": ids["v1"]}))["node"] is None
    assert (await error(api, RESOLVE, {"uri": "models:/m/1"}))["extensions"]["code"] == "NOT_FOUND"


async def test_a_deleted_version_number_is_never_reused(api):
    await register(api)
    await ok(api, DELETE_VERSION, {"version": 2})
    assert (await ok(api, CREATE_VERSION))["createModelVersion"]["modelVersion"]["version"] == 3


async def test_a_version_delete_refused_after_the_lookup_changes_nothing(api):
    await register(api)
    before = await snapshot(api)
    for version, code in [(3, "NOT_FOUND"), (0, "NOT_FOUND"), (-1, "NOT_FOUND")]:
        assert (await error(api, DELETE_VERSION, {"version": version}))["extensions"]["code"] == code
    assert await snapshot(api) == before


# Deleting models


async def test_model_with_a_version_in_production_is_not_deleted(api, database_url):
    await register(api)
    await ok(api, SET_ALIAS, {"alias": "stable", "version": 1})
    set_stage(database_url, 1, "PRODUCTION")
    before = await snapshot(api)
    refused = await error(api, DELETE_MODEL, {"name": "m"})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "PRODUCTION" in refused["message"]
    assert await snapshot(api) == before

    set_stage(database_url, 1, "ARCHIVED")
    await ok(api, DELETE_MODEL, {"name": "m"})


async def test_deleting_a_model_takes_its_versions_aliases_and_tags(api):
    ids = await register(api)
    await ok(api, SET_ALIAS, {"alias": "stable", "version": 1})
    await ok(api, "mutation { createRegisteredModel(input: {name: \"other\"}) { registeredModel { id } } }")
    other_before = [m for m in (await snapshot(api))["registeredModels"]["nodes"] if m["name"] == "other"]

    data = await ok(api, DELETE_MODEL, {"name": "m"})
    assert data["deleteRegisteredModel"] == {"deletedId": ids["model"], "name": "m"}
    after = await snapshot(api)
    assert after["registeredModels"]["nodes"] == other_before
    for global_id in ids.values():
        assert (await ok(api, NODE, {"id": global_id}))["node"] is None
    assert (await error(api, RESOLVE, {"uri": "models:/m@stable"}))["extensions"]["code"] == "NOT_FOUND"
    versions = await ok(api, 'query { modelVersions(filter: {name: {equals: "m"}}) { totalCount } }')
    assert versions["modelVersions"]["totalCount"] == 0

    # The name is free again, with a fresh history: numbering, tags and aliases start over.
    await ok(api, "mutation { createRegisteredModel(input: {name: \"m\"}) { registeredModel { id } } }")
    assert (await ok(api, CREATE_VERSION))["createModelVersion"]["modelVersion"]["version"] == 1
    fresh = next(m for m in (await snapshot(api))["registeredModels"]["nodes"] if m["name"] == "m")
    assert fresh["tags"] == [] and fresh["aliases"] == [] and fresh["id"] != ids["model"]
    assert [(v["version"], v["tags"], v["metrics"]) for v in fresh["versions"]["nodes"]] == [(1, [], [])]


async def test_deleting_an_unknown_model_is_not_found(api):
    await register(api)
    before = await snapshot(api)
    refused = await error(api, DELETE_MODEL, {"name": "nope"})
    assert refused["extensions"]["code"] == "NOT_FOUND"
    assert await snapshot(api) == before


async def test_denied_deletes_change_nothing(api, database_url):
    await register(api)
    before = await snapshot(api)
    for role in ("data-scientist", "approver", "auditor"):
        body = await gql(api, DELETE_MODEL, {"name": "m"}, role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql(api, DELETE_VERSION, {"version": 2}, role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(api) == before
