"""Deployments: blue-green, canaries, shadows, rollbacks with their history; production takes PRODUCTION
versions only; every change is an audit record, an event and DEPLOYED_AS lineage; the serving endpoint and
its ETag; deployed versions and models cannot be deleted."""

from __future__ import annotations

import pytest

from tests.support.client import Api

CREATE = "mutation($in: CreateModelVersionInput!) { createModelVersion(input: $in) { modelVersion { id } } }"
STATE = """query($n: String!, $e: String!) { deployment(name: $n, environment: $e) { revision
  entries { version role trafficPercent modelVersion { uri } }
  history(first: 100) { nodes { revision action entries { version } } } } }"""


async def versions(api: Api, name: str, count: int) -> list[str]:
    return [(await api.ok(CREATE, {"in": {"name": name, "createModelIfMissing": True,
                                          "artifact": {"uri": f"s3://b/{i}", "digest": "sha256:" + f"{i:02d}" * 32}}})
             )["createModelVersion"]["modelVersion"]["id"] for i in range(1, count + 1)]


async def change(api: Api, mutation: str, **fields) -> list[tuple[int, str, int]]:
    document = (f"mutation($in: {mutation[0].upper() + mutation[1:]}Input!) {{ {mutation}(input: $in) "
                "{ deployment { entries { version role trafficPercent } } } }")
    data = await api.ok(document, {"in": {"name": "dep/m", "environment": "staging", **fields}})
    return [(e["version"], e["role"], e["trafficPercent"]) for e in data[mutation]["deployment"]["entries"]]


async def test_blue_green_canary_shadow_and_rollback(api: Api):
    await versions(api, "dep/m", 3)
    assert await change(api, "deploy", version=1) == [(1, "PRIMARY", 100)]
    assert await change(api, "deploy", version=2) == [(2, "PRIMARY", 100)]
    assert await change(api, "startCanary", version=3, percent=10) == [(2, "PRIMARY", 90), (3, "CANARY", 10)]
    assert await change(api, "setCanaryTraffic", percent=50) == [(2, "PRIMARY", 50), (3, "CANARY", 50)]
    assert await change(api, "abortCanary") == [(2, "PRIMARY", 100)]
    assert await change(api, "startCanary", version=3, percent=25) == [(2, "PRIMARY", 75), (3, "CANARY", 25)]
    assert await change(api, "promoteCanary") == [(3, "PRIMARY", 100)]
    assert await change(api, "addShadow", version=1) == [(3, "PRIMARY", 100), (1, "SHADOW", 0)]
    assert await change(api, "removeShadow", version=1) == [(3, "PRIMARY", 100)]
    assert await change(api, "rollbackDeployment") == [(3, "PRIMARY", 100), (1, "SHADOW", 0)]
    state = (await api.ok(STATE, {"n": "dep/m", "e": "staging"}))["deployment"]
    assert state["revision"] == 10
    assert [h["action"] for h in state["history"]["nodes"]][:3] == ["ROLLBACK", "REMOVE_SHADOW", "ADD_SHADOW"]
    assert state["entries"][0]["modelVersion"] == {"uri": "models:/dep/m/3"}
    assert (await api.ok(STATE, {"n": "dep/m", "e": "qa"}))["deployment"] is None


async def test_production_takes_production_versions_only(api: Api):
    await versions(api, "dep/prod", 1)
    refused = await api.error("mutation { deploy(input: {name: \"dep/prod\", environment: \"production\", "
                              "version: 1}) { deployment { revision } } }")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "in NONE" in refused["message"]
    await api.ok('mutation { attachDocument(input: {name: "dep/prod", version: 1, kind: MODEL_CARD, title: "Card", '
                 'markdown: "# card"}) { modelDocument { revision } } }')
    await api.ok('mutation { requestStageTransition(input: {name: "dep/prod", version: 1, toStage: STAGING}) '
                 "{ transitionRequest { status } } }")
    request = await api.ok('mutation { requestStageTransition(input: {name: "dep/prod", version: 1, '
                           "toStage: PRODUCTION}) { transitionRequest { id } } }", None, "data-scientist", sub="ds")
    await api.ok("mutation($id: ID!) { approveTransitionRequest(input: {id: $id}) { transitionRequest { status } } }",
                 {"id": request["requestStageTransition"]["transitionRequest"]["id"]}, "approver", sub="boss")
    deployed = await api.ok('mutation { deploy(input: {name: "dep/prod", environment: "production", version: 1}) '
                            "{ deployment { entries { version } } } }")
    assert deployed["deploy"]["deployment"]["entries"] == [{"version": 1}]


async def test_changes_are_audited_events_and_lineage(api: Api, app):
    (first,) = await versions(api, "dep/trace", 1)
    await api.ok('mutation { deploy(input: {name: "dep/trace", environment: "dev", version: 1}) '
                 "{ deployment { revision } } }")
    async with app.state.uow(write=False) as uow:
        events = await uow.events.after(0, 10_000)
    assert [e.type for e in events if e.model_name == "dep/trace"][-1] == "deployment.changed"
    audit = await api.ok('{ auditEvents(first: 1, filter: {action: "deployment.deploy"}) { nodes { action after '
                         "target { type name } } } }", None, "auditor")
    assert audit["auditEvents"]["nodes"][0]["target"] == {"type": "Deployment", "name": "dep/trace@dev"}
    graph = await api.ok('query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, depth: 1) { nodes { kind label } '
                         "edges { kind } } }", {"id": first})
    assert {"kind": "EXTERNAL", "label": "deployment:dev/dep/trace"} in graph["lineage"]["nodes"]
    assert graph["lineage"]["edges"] == [{"kind": "DEPLOYED_AS"}]


async def test_deployed_versions_and_models_are_kept(api: Api):
    await versions(api, "dep/keep", 2)
    await api.ok('mutation { deploy(input: {name: "dep/keep", environment: "dev", version: 2}) '
                 "{ deployment { revision } } }")
    refused = await api.error('mutation { deleteModelVersion(input: {name: "dep/keep", version: 2}) { deletedId } }')
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "deployed in dev" in refused["message"]
    await api.ok('mutation { deleteModelVersion(input: {name: "dep/keep", version: 1}) { deletedId } }')
    refused = await api.error('mutation { deleteRegisteredModel(input: {name: "dep/keep"}) { deletedId } }')
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "deployed in dev" in refused["message"]


async def test_serving_endpoint_with_etag(api: Api):
    await versions(api, "dep/serve", 2)
    token = api.token("auditor")
    url = "/api/serving/dev/dep/serve"
    missing = await api.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    await api.ok('mutation { deploy(input: {name: "dep/serve", environment: "dev", version: 1}) '
                 "{ deployment { revision } } }")
    await api.ok('mutation { startCanary(input: {name: "dep/serve", environment: "dev", version: 2, percent: 20}) '
                 "{ deployment { revision } } }")
    first = await api.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200 and first.headers["etag"].startswith('"')
    body = first.json()
    assert (body["model"], body["environment"], body["revision"]) == ("dep/serve", "dev", 2)
    assert [(e["version"], e["role"], e["trafficPercent"], e["manifestDigest"]) for e in body["entries"]] == [
        (1, "PRIMARY", 80, "sha256:" + "01" * 32), (2, "CANARY", 20, "sha256:" + "02" * 32)]
    again = await api.client.get(url, headers={"Authorization": f"Bearer {token}",
                                               "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    await api.ok('mutation { promoteCanary(input: {name: "dep/serve", environment: "dev"}) '
                 "{ deployment { revision } } }")
    changed = await api.client.get(url, headers={"Authorization": f"Bearer {token}",
                                                 "If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    assert (await api.client.get(url)).status_code == 401
    nobody = await api.client.get(url, headers={"Authorization": f"Bearer {api.token('nobody')}"})
    assert nobody.status_code == 403


@pytest.mark.parametrize("percent", [0, 100, -5])
async def test_canary_percent_bounds(api: Api, percent):
    await versions(api, "dep/bounds", 2)
    await api.ok('mutation { deploy(input: {name: "dep/bounds", environment: "dev", version: 1}) '
                 "{ deployment { revision } } }")
    refused = await api.error("mutation($p: Int!) { startCanary(input: {name: \"dep/bounds\", environment: \"dev\", "
                              "version: 2, percent: $p}) { deployment { revision } } }", {"p": percent})
    assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "1-99" in refused["message"]
