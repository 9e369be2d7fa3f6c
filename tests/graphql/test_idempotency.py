"""idempotencyKey on createModelVersion, requestStageTransition and deploy (issue 14): the same key returns the
first answer, another input under the same key is CONFLICT, parallel calls with one key make one object."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from app.db.idempotency_tables import IdempotencyKeyRow
from tests.support.client import Api

CREATE = """mutation($in: CreateModelVersionInput!) {
  createModelVersion(input: $in) { modelVersion { id version description } } }"""
REQUEST = """mutation($in: RequestStageTransitionInput!) {
  requestStageTransition(input: $in) { transitionRequest { id status toStage } } }"""
DEPLOY = """mutation($in: DeployInput!) { deploy(input: $in) { deployment { revision entries { version } } } }"""
VERSIONS = """query($n: String!) { modelVersions(filter: {name: {equals: $n}}, first: 100) { totalCount } }"""
HISTORY = """query($n: String!) { deployment(name: $n, environment: "dev") {
  history(first: 10) { nodes { revision action } } } }"""
AUDIT = """query($a: String!) { auditEvents(first: 20, filter: {action: $a}) { nodes { outcome after } } }"""
NAME = "idem/model"


def version_input(key: str | None = "ci-run-1", **fields) -> dict:
    return {"name": NAME, "createModelIfMissing": True, "idempotencyKey": key, **fields}


async def count_versions(api: Api, name: str = NAME) -> int:
    return (await api.ok(VERSIONS, {"n": name}))["modelVersions"]["totalCount"]


async def test_a_retried_create_returns_the_first_version(api: Api, app):
    first = (await api.ok(CREATE, {"in": version_input(description="a")}))["createModelVersion"]["modelVersion"]
    again = (await api.ok(CREATE, {"in": version_input(description="a")}))["createModelVersion"]["modelVersion"]
    assert again == first == {"id": first["id"], "version": 1, "description": "a"}
    assert await count_versions(api) == 1

    # without a key a retry does the work again
    assert (await api.ok(CREATE, {"in": version_input(None)}))["createModelVersion"]["modelVersion"]["version"] == 2
    # another caller's key is another key
    other = await api.ok(CREATE, {"in": version_input(description="a")}, "mlops", sub="someone-else")
    assert other["createModelVersion"]["modelVersion"]["version"] == 3

    # the replay is in the audit log as what it is, and emits no second version.created event
    audit = (await api.ok(AUDIT, {"a": "version.create"}, "auditor"))["auditEvents"]["nodes"]
    replays = [event for event in audit if (event["after"] or {}).get("idempotentReplay")]
    assert len(audit) == 4 and len(replays) == 1 and replays[0]["outcome"] == "OK"
    async with app.state.uow(write=False) as uow:
        created = [e for e in await uow.events.after(0, 100_000) if e.type == "version.created"]
    assert [e.version for e in created] == [1, 2, 3]


async def test_the_same_key_with_another_input_is_a_conflict(api: Api):
    await api.ok(CREATE, {"in": version_input(description="a")})
    refused = await api.error(CREATE, {"in": version_input(description="b")})
    assert refused["extensions"]["code"] == "CONFLICT"
    assert refused["extensions"]["field"] == "idempotencyKey"
    assert "different createModelVersion input" in refused["message"]
    assert await count_versions(api) == 1


async def test_malformed_keys_are_bad_user_input(api: Api):
    for key in ("", "k" * 256, "line\nbreak"):
        refused = await api.error(CREATE, {"in": version_input(key)})
        assert refused["extensions"]["code"] == "BAD_USER_INPUT", key
        assert refused["extensions"]["field"] == "idempotencyKey"
    assert (await api.ok(CREATE, {"in": version_input("k" * 255)}))["createModelVersion"]["modelVersion"]
    assert await count_versions(api) == 1


async def test_parallel_calls_with_one_key_make_one_version(api: Api):
    async def call() -> dict:
        return await api.gql(CREATE, {"in": version_input("parallel", description="p")})

    bodies = await asyncio.gather(*(call() for _ in range(10)))
    # one call does the work; the others wait on its key (a row lock on PostgreSQL, the writer lock on SQLite)
    # and answer what it made: never INTERNAL, never a second version
    assert not [body["errors"] for body in bodies if body.get("errors")]
    assert len({body["data"]["createModelVersion"]["modelVersion"]["id"] for body in bodies}) == 1
    assert await count_versions(api) == 1


async def test_an_expired_key_is_free_again(api: Api, app):
    await api.ok(CREATE, {"in": version_input()})
    async with app.state.uow(write=True) as uow:
        await uow._session.execute(
            update(IdempotencyKeyRow).values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )
        await uow.commit()
    again = (await api.ok(CREATE, {"in": version_input()}))["createModelVersion"]["modelVersion"]
    assert again["version"] == 2


async def test_a_retried_transition_request_returns_the_first_request(api: Api):
    await api.ok(CREATE, {"in": version_input(None)})
    await api.ok(
        'mutation { attachDocument(input: {name: "idem/model", version: 1, kind: MODEL_CARD, title: "Card", '
        'markdown: "# card"}) { modelDocument { revision } } }'
    )
    asked = {"name": NAME, "version": 1, "toStage": "STAGING", "idempotencyKey": "promote-1"}
    staged = (await api.ok(REQUEST, {"in": asked}))["requestStageTransition"]["transitionRequest"]
    assert staged["status"] == "APPLIED"
    asked = {**asked, "toStage": "PRODUCTION", "idempotencyKey": "promote-2"}
    first = (await api.ok(REQUEST, {"in": asked}))["requestStageTransition"]["transitionRequest"]
    again = (await api.ok(REQUEST, {"in": asked}))["requestStageTransition"]["transitionRequest"]
    assert again == first and first["status"] == "PENDING"
    # without the key the retry is refused as a duplicate open request
    duplicate = await api.error(REQUEST, {"in": {**asked, "idempotencyKey": None}})
    assert duplicate["extensions"]["code"] == "CONFLICT"
    # the key of the STAGING request, reused for the PRODUCTION one, is a conflict
    reused = await api.error(REQUEST, {"in": {**asked, "idempotencyKey": "promote-1"}})
    assert reused["extensions"]["code"] == "CONFLICT" and reused["extensions"]["field"] == "idempotencyKey"


async def test_a_retried_deploy_returns_the_deployment_once(api: Api):
    await api.ok(CREATE, {"in": version_input(None, artifact={"uri": "s3://b/1", "digest": "sha256:" + "1" * 64})})
    asked = {"name": NAME, "environment": "dev", "version": 1, "expectedRevision": 0, "idempotencyKey": "deploy-1"}
    first = (await api.ok(DEPLOY, {"in": asked}))["deploy"]["deployment"]
    again = (await api.ok(DEPLOY, {"in": asked}))["deploy"]["deployment"]
    assert again == first == {"revision": 1, "entries": [{"version": 1}]}
    history = (await api.ok(HISTORY, {"n": NAME}))["deployment"]["history"]["nodes"]
    assert history == [{"revision": 1, "action": "DEPLOY"}]
    # without the key, the same retry is refused by expectedRevision
    stale = await api.error(DEPLOY, {"in": {**asked, "idempotencyKey": None}})
    assert stale["extensions"]["code"] == "FAILED_PRECONDITION"


async def test_parallel_deploys_with_one_key_make_one_revision(api: Api):
    await api.ok(CREATE, {"in": version_input(None, artifact={"uri": "s3://b/1", "digest": "sha256:" + "1" * 64})})
    asked = {"name": NAME, "environment": "dev", "version": 1, "idempotencyKey": "deploy-parallel"}
    bodies = await asyncio.gather(*(api.gql(DEPLOY, {"in": asked}) for _ in range(10)))
    assert not [body["errors"] for body in bodies if body.get("errors")]
    assert {body["data"]["deploy"]["deployment"]["revision"] for body in bodies} == {1}
    history = (await api.ok(HISTORY, {"n": NAME}))["deployment"]["history"]["nodes"]
    assert history == [{"revision": 1, "action": "DEPLOY"}]


async def test_a_key_whose_version_was_deleted_is_not_found(api: Api):
    await api.ok(CREATE, {"in": version_input()})
    await api.ok('mutation { deleteModelVersion(input: {name: "idem/model", version: 1}) { deletedId } }')
    gone = await api.error(CREATE, {"in": version_input()})
    assert gone["extensions"]["code"] == "NOT_FOUND" and gone["extensions"]["field"] == "idempotencyKey"
    assert "use a new key" in gone["message"]


ALIAS_REQUEST = """mutation($in: RequestAliasTransitionInput!) {
  requestAliasTransition(input: $in) { transitionRequest { id status alias } } }"""


async def test_a_retried_alias_request_returns_the_first_request(api: Api):
    """requestAliasTransition takes a key too; its keys are its own, apart from requestStageTransition's."""
    await api.ok(CREATE, {"in": version_input(None)})
    await api.ok(
        'mutation { attachDocument(input: {name: "idem/model", version: 1, kind: MODEL_CARD, title: "Card", '
        'markdown: "# card"}) { modelDocument { revision } } }'
    )
    asked = {"name": NAME, "version": 1, "alias": "champion", "idempotencyKey": "champion-1"}
    first = (await api.ok(ALIAS_REQUEST, {"in": asked}))["requestAliasTransition"]["transitionRequest"]
    again = (await api.ok(ALIAS_REQUEST, {"in": asked}))["requestAliasTransition"]["transitionRequest"]
    assert again == first and first["alias"] == "champion"
    other = await api.error(ALIAS_REQUEST, {"in": {**asked, "version": 2}})
    assert other["extensions"]["field"] == "idempotencyKey"
    stage = {"name": NAME, "version": 1, "toStage": "STAGING", "idempotencyKey": "champion-1"}
    assert "requestStageTransition" in await api.ok(REQUEST, {"in": stage})  # the same key, another mutation
