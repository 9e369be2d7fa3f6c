"""undeploy takes a model out of an environment, so a model ever deployed can be retired and deleted (issue 14,
point 9); expectedRevision makes retried deployment changes act once (issue 14, "What to deliver")."""

from __future__ import annotations

import asyncio

from tests.support.client import Api

from .test_deployments import versions
from .test_stage_agreement import ROLLBACK_PRODUCTION, document, served, to_production

NAME = "retire/m"
STATE = """query($n: String!, $e: String!) { deployment(name: $n, environment: $e) { revision
  entries { version } history(first: 10) { nodes { revision action } } } }"""
DELETE_MODEL = "mutation($n: String!) { deleteRegisteredModel(input: {name: $n}) { deletedId } }"


async def run(api: Api, mutation: str, environment: str = "dev", **fields) -> dict:
    return await api.gql(document(mutation), {"in": {"name": NAME, "environment": environment, **fields}})


async def test_undeploy_then_delete_the_model(api: Api, app):
    await versions(api, NAME, 2)
    assert "errors" not in await run(api, "deploy", version=1)
    assert "errors" not in await run(api, "startCanary", version=2, percent=10)
    assert "errors" not in await run(api, "deploy", environment="staging", version=2)
    refused = await api.error(DELETE_MODEL, {"n": NAME})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert refused["message"] == "model 'retire/m' is deployed in dev, staging; undeploy it there first"

    body = await run(api, "undeploy")
    assert body["data"]["undeploy"]["deployment"] == {"revision": 3, "entries": []}
    assert await served(api, NAME, "dev") == []  # the serving endpoint answers 404
    state = (await api.ok(STATE, {"n": NAME, "e": "dev"}))["deployment"]
    assert [h["action"] for h in state["history"]["nodes"]] == ["UNDEPLOY", "START_CANARY", "DEPLOY"]
    again = (await run(api, "undeploy"))["errors"][0]
    assert again["extensions"]["code"] == "FAILED_PRECONDITION"
    assert again["message"] == "'retire/m' is not deployed in 'dev'"
    # a version no environment serves can go; the deployment's history does not hold it
    assert "errors" not in await run(api, "undeploy", environment="staging")
    await api.ok(
        "mutation($n: String!) { deleteModelVersion(input: {name: $n, version: 2}) { deletedId } }", {"n": NAME}
    )

    async with app.state.uow(write=False) as uow:
        events = [e.type for e in await uow.events.after(0, 100_000) if e.model_name == NAME]
    assert events.count("deployment.changed") == 5
    audit = await api.ok(
        '{ auditEvents(first: 1, filter: {action: "deployment.undeploy"}) { nodes { outcome target { type name } } } }',
        None,
        "auditor",
    )
    assert audit["auditEvents"]["nodes"][0]["target"] == {"type": "Deployment", "name": "retire/m@staging"}

    await api.ok(DELETE_MODEL, {"n": NAME})
    assert (await api.ok(STATE, {"n": NAME, "e": "dev"}))["deployment"] is None


async def test_rollback_of_an_undeploy_brings_the_entries_back(api: Api):
    await versions(api, NAME, 1)
    await run(api, "deploy", version=1)
    await run(api, "undeploy")
    body = await run(api, "rollbackDeployment")
    assert body["data"]["rollbackDeployment"]["deployment"]["entries"] == [
        {"version": 1, "role": "PRIMARY", "trafficPercent": 100}
    ]


async def test_undeploy_from_production_under_the_stage_rules(api: Api):
    await versions(api, NAME, 2)
    await to_production(api, NAME, 1)
    await run(api, "deploy", environment="production", version=1)
    await to_production(api, NAME, 2)
    assert "errors" not in await run(api, "undeploy", environment="production")  # leaving is always allowed
    # rolling the undeploy back would give v1, ARCHIVED now, traffic
    refused = (await run(api, "rollbackDeployment", environment="production"))["errors"][0]
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "version 1" in refused["message"]
    # a production rollback changes no environment that does not serve the archived version
    await api.ok(ROLLBACK_PRODUCTION, {"name": NAME, "from": 2})
    assert await served(api, NAME, "production") == []


async def test_a_retried_rollback_acts_once(api: Api):
    await versions(api, NAME, 3)
    for number in (1, 2, 3):
        await run(api, "deploy", version=number)
    first = await run(api, "rollbackDeployment", expectedRevision=3)
    assert first["data"]["rollbackDeployment"]["deployment"] == {
        "revision": 4,
        "entries": [{"version": 2, "role": "PRIMARY", "trafficPercent": 100}],
    }
    retry = (await run(api, "rollbackDeployment", expectedRevision=3))["errors"][0]
    assert retry["extensions"] == {**retry["extensions"], "code": "FAILED_PRECONDITION", "field": "expectedRevision"}
    assert retry["message"].startswith("'retire/m' in 'dev' is at revision 4 now, not 3")
    assert (await api.ok(STATE, {"n": NAME, "e": "dev"}))["deployment"]["entries"] == [{"version": 2}]
    fresh = await run(api, "deploy", environment="staging", version=1, expectedRevision=0)
    assert fresh["data"]["deploy"]["deployment"]["revision"] == 1


async def test_parallel_rollbacks_with_the_same_expected_revision_act_once(api: Api):
    await versions(api, NAME, 2)
    await run(api, "deploy", version=1)
    await run(api, "deploy", version=2)
    bodies = await asyncio.gather(*(run(api, "rollbackDeployment", expectedRevision=2) for _ in range(6)))
    codes = sorted(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK" for body in bodies)
    assert codes == ["FAILED_PRECONDITION"] * 5 + ["OK"]
    state = (await api.ok(STATE, {"n": NAME, "e": "dev"}))["deployment"]
    assert (state["revision"], state["entries"]) == (3, [{"version": 1}])
