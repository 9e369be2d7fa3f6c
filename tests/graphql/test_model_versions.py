"""Model versions: creation with metadata, search filters, metric ordering, nested listings."""

from sqlalchemy import text

from app.db.migrate import sync_engine
from app.services.reads import ReadService
from tests.graphql.test_permissions import api_with_policy

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) {
    modelVersion {
      id version name uri stage status flavor signature description
      run { tracker runId runUri } code { repositoryUrl commitSha } artifact { uri digest size }
      params { name value } metrics { name value dataset step } tags { key value } aliases { alias }
      model { name latestVersion { version } }
    }
  }
}
"""
SEARCH = """
query($filter: ModelVersionFilter, $orderBy: ModelVersionOrder) {
  modelVersions(filter: $filter, orderBy: $orderBy, first: 100) { totalCount nodes { name version } }
}
"""
MODEL_WITH_VERSIONS = """
query($name: String!) {
  registeredModel(name: $name) {
    latestVersion { version }
    production: latestVersion(stage: PRODUCTION) { version }
    versions(first: 2) { totalCount nodes { version } pageInfo { hasNextPage } }
    ascending: versions(orderBy: {field: VERSION, direction: ASC}, filter: {stage: [NONE]}) { nodes { version } }
  }
}
"""
UPDATE_VERSION = """
mutation($input: UpdateModelVersionInput!) { updateModelVersion(input: $input) { modelVersion { description } } }
"""
SET_VERSION_TAG = """
mutation($input: SetModelVersionTagInput!) { setModelVersionTag(input: $input) { modelVersion { tags { key } } } }
"""
DELETE_VERSION_TAG = """
mutation($input: DeleteModelVersionTagInput!) { deleteModelVersionTag(input: $input) { modelVersion { tags { key } } } }
"""

FULL_INPUT = {
    "name": "fraud/scorer", "createModelIfMissing": True, "description": "first cut", "flavor": "sklearn",
    "signature": {"inputs": [{"name": "amount", "type": "double"}], "outputs": [{"type": "double"}]},
    "run": {"tracker": "MLFLOW", "runId": "abc123", "runUri": "https://mlflow.example/runs/abc123"},
    "code": {"repositoryUrl": "https://git.example/fraud.git", "commitSha": "0123456789abcdef"},
    "artifact": {"uri": "s3://bucket/fraud/1", "digest": "sha256:" + "a" * 64, "size": 1024},
    "params": [{"name": "max_depth", "value": "6"}, {"name": "lr", "value": "0.1"}],
    "metrics": [{"name": "accuracy", "value": 0.93, "dataset": "holdout"}, {"name": "loss", "value": 0.2, "step": 10}],
    "tags": [{"key": "team", "value": "risk"}],
}


async def create(api, name="m", **extra):
    data = await api.ok(CREATE_VERSION, {"input": {"name": name, "createModelIfMissing": True, **extra}})
    return data["createModelVersion"]["modelVersion"]


def set_stage(database_url, name, version, stage):
    engine = sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE model_versions SET stage = :stage WHERE version = :version AND model_id = "
            "(SELECT id FROM registered_models WHERE name = :name)"), {"stage": stage, "version": version, "name": name})
    engine.dispose()


async def search(api, **variables):
    data = (await api.ok(SEARCH, variables))["modelVersions"]
    return [(node["name"], node["version"]) for node in data["nodes"]]


async def test_create_records_every_field(api):
    version = await create(api, **FULL_INPUT)
    assert version["version"] == 1 and version["uri"] == "models:/fraud/scorer/1"
    assert (version["stage"], version["status"]) == ("NONE", "READY")
    assert version["run"] == {"tracker": "MLFLOW", "runId": "abc123", "runUri": "https://mlflow.example/runs/abc123"}
    assert version["code"] == {"repositoryUrl": "https://git.example/fraud.git", "commitSha": "0123456789abcdef"}
    assert version["artifact"] == {"uri": "s3://bucket/fraud/1", "digest": "sha256:" + "a" * 64, "size": 1024}
    assert version["signature"] == FULL_INPUT["signature"]
    assert version["params"] == [{"name": "lr", "value": "0.1"}, {"name": "max_depth", "value": "6"}]
    assert version["metrics"] == [{"name": "accuracy", "value": 0.93, "dataset": "holdout", "step": None},
                                  {"name": "loss", "value": 0.2, "dataset": None, "step": 10}]
    assert version["model"] == {"name": "fraud/scorer", "latestVersion": {"version": 1}}


async def test_versions_number_per_model(api):
    assert [(await create(api, "a"))["version"] for _ in range(3)] == [1, 2, 3]
    assert (await create(api, "b"))["version"] == 1


async def test_create_without_model_is_not_found_unless_asked(api):
    error = await api.error(CREATE_VERSION, {"input": {"name": "ghost"}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "createModelIfMissing" in error["message"]


async def test_metric_threshold_filters_combine_with_and(api):
    for name, accuracy, latency in [("a", 0.95, 30.0), ("b", 0.91, 80.0), ("c", 0.85, 10.0)]:
        await create(api, name, metrics=[{"name": "accuracy", "value": accuracy}, {"name": "latency", "value": latency}])
    await create(api, "d")
    assert await search(api, filter={"metrics": [{"name": "accuracy", "gte": 0.9}]},
                        orderBy={"field": "NAME", "direction": "ASC"}) == [("a", 1), ("b", 1)]
    assert await search(api, filter={"metrics": [{"name": "accuracy", "gte": 0.9},
                                                 {"name": "latency", "lt": 50}]}) == [("a", 1)]
    assert await search(api, filter={"metrics": [{"name": "accuracy", "gt": 0.85, "lte": 0.91}]}) == [("b", 1)]


async def test_ordering_by_metric_puts_versions_without_it_last(api):
    for name, accuracy in [("a", 0.7), ("b", 0.9), ("c", None), ("d", 0.8)]:
        await create(api, name, metrics=[{"name": "accuracy", "value": accuracy}] if accuracy else [])
    order = {"field": "METRIC", "metric": "accuracy"}
    assert await search(api, orderBy={**order, "direction": "DESC"}) == [("b", 1), ("d", 1), ("a", 1), ("c", 1)]
    assert await search(api, orderBy={**order, "direction": "ASC"}) == [("a", 1), ("d", 1), ("b", 1), ("c", 1)]
    error = await api.error(SEARCH, {"orderBy": {"field": "METRIC"}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_tag_stage_status_and_creator_filters(api, database_url):
    await create(api, "a", tags=[{"key": "team", "value": "risk"}])
    await create(api, "a")
    await create(api, "b", tags=[{"key": "team", "value": "growth"}])
    set_stage(database_url, "a", 2, "PRODUCTION")
    assert await search(api, filter={"tags": [{"key": "team", "value": "risk"}]}) == [("a", 1)]
    assert await search(api, filter={"stage": ["PRODUCTION"]}) == [("a", 2)]
    assert await search(api, filter={"stage": ["NONE"], "name": {"equals": "a"}}) == [("a", 1)]
    assert await search(api, filter={"status": ["READY"], "name": {"prefix": "b"}}) == [("b", 1)]
    assert await search(api, filter={"status": ["FAILED_REGISTRATION"]}) == []
    assert len(await search(api, filter={"createdBy": "tester"})) == 3
    assert await search(api, filter={"owner": "nobody-owns-this"}) == []


async def test_model_nested_versions_and_latest_by_stage(api, database_url):
    for _ in range(3):
        await create(api, "m")
    set_stage(database_url, "m", 2, "PRODUCTION")
    data = (await api.ok(MODEL_WITH_VERSIONS, {"name": "m"}))["registeredModel"]
    assert data["latestVersion"] == {"version": 3}
    assert data["production"] == {"version": 2}
    assert data["versions"] == {"totalCount": 3, "nodes": [{"version": 3}, {"version": 2}],
                                "pageInfo": {"hasNextPage": True}}
    assert data["ascending"]["nodes"] == [{"version": 1}, {"version": 3}]


TAG_AUDIT = """
query { auditEvents(first: 10, filter: {action: "version.tag.set"}, orderBy: {field: SEQUENCE, direction: ASC}) {
  nodes { before after } } }
"""


async def test_a_tag_write_records_the_value_it_replaced_and_touches_the_version(api):
    """One statement on PostgreSQL (the old value, the upsert, the version's change time), three on SQLite: the
    audit record says what each write replaced, and the version's updatedAt moves."""
    await create(api, "m")
    read = 'query { modelVersion(name: "m", version: 1) { updatedAt tags { key value } } }'
    before = (await api.ok(read))["modelVersion"]["updatedAt"]
    for value in ("one", "two"):
        await api.ok(SET_VERSION_TAG, {"input": {"name": "m", "version": 1, "key": "k", "value": value}})
    version = (await api.ok(read))["modelVersion"]
    assert version["tags"] == [{"key": "k", "value": "two"}] and version["updatedAt"] > before
    nodes = (await api.ok(TAG_AUDIT, None, "auditor"))["auditEvents"]["nodes"]
    assert [(node["before"], node["after"]) for node in nodes] == [
        ({"tags": {"k": None}}, {"tags": {"k": "one"}}),
        ({"tags": {"k": "one"}}, {"tags": {"k": "two"}}),
    ]


TAG_CHANGES = """
mutation {
  a: setModelVersionTag(input: {name: "m", version: 1, key: "b", value: "1"}) { modelVersion { tags { key value } } }
  b: setModelVersionTag(input: {name: "m", version: 1, key: "a", value: "2"}) { modelVersion { tags { key value } } }
  c: deleteModelVersionTag(input: {name: "m", version: 1, key: "b"}) { modelVersion { tags { key value } } }
  d: setModelVersionTag(input: {name: "m", version: 1, key: "a", value: "3"}) { modelVersion { tags { key value } } }
}
"""


async def test_each_tag_change_answers_the_tags_it_left_without_reading_them_again(api, monkeypatch):
    """The tags a change answers are those it left, in key order, as a read would answer them: also after an earlier
    change of the same document loaded them, and without the tags' read (the field's loader)."""
    await create(api, "m")
    loads = []
    version_tags = ReadService.version_tags

    async def counted(self, principal, ids):
        loads.append(ids)
        return await version_tags(self, principal, ids)

    monkeypatch.setattr(ReadService, "version_tags", counted)
    data = await api.ok(TAG_CHANGES)
    assert {name: value["modelVersion"]["tags"] for name, value in data.items()} == {
        "a": [{"key": "b", "value": "1"}],
        "b": [{"key": "a", "value": "2"}, {"key": "b", "value": "1"}],
        "c": [{"key": "a", "value": "2"}],
        "d": [{"key": "a", "value": "3"}],
    }
    assert loads == []
    read = 'query { modelVersion(name: "m", version: 1) { tags { key value } } }'
    assert (await api.ok(read))["modelVersion"]["tags"] == [{"key": "a", "value": "3"}]


async def test_a_tag_change_by_a_caller_who_may_not_read_answers_no_tags(api, settings, tmp_path):
    """The answer's tags go through the read check as a read's would: refused (and recorded) for a caller whose
    role writes versions but does not read the registry; the change itself is made."""
    await create(api, "m")
    async with api_with_policy(settings, api, tmp_path, "p, tagger, version, write") as custom:
        body = await custom.gql(SET_VERSION_TAG, {"input": {"name": "m", "version": 1, "key": "k", "value": "v"}},
                                "tagger")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = 'query { modelVersion(name: "m", version: 1) { tags { key value } } }'
    assert (await api.ok(read))["modelVersion"]["tags"] == [{"key": "k", "value": "v"}]


async def test_description_and_tags_change_after_registration(api):
    await create(api, "m")
    data = await api.ok(UPDATE_VERSION, {"input": {"name": "m", "version": 1, "description": "better"}})
    assert data["updateModelVersion"]["modelVersion"]["description"] == "better"
    await api.ok(SET_VERSION_TAG, {"input": {"name": "m", "version": 1, "key": "validated", "value": "yes"}})
    data = await api.ok(DELETE_VERSION_TAG, {"input": {"name": "m", "version": 1, "key": "validated"}})
    assert data["deleteModelVersionTag"]["modelVersion"]["tags"] == []
    error = await api.error(UPDATE_VERSION, {"input": {"name": "m", "version": 9, "description": "x"}})
    assert error["extensions"]["code"] == "NOT_FOUND"
