"""Stages and deployments agree (docs/deployments.md, "Stages and serving"): issue 14, point 5.

deploy v3 to production; approve v4 to PRODUCTION (archives v3); canary v4; promote; roll the deployment back;
roll production back. Before the rules, rollbackDeployment failed both times and the serving endpoint served the
ARCHIVED v4 at 100% while models:/NAME/Production resolved to v3.
"""

from __future__ import annotations

from tests.support.client import Api

from .test_deployments import versions

NAME = "agree/m"
CHANGE = """mutation($in: {Input}!) {{ {mutation}(input: $in) {{ deployment {{ revision
  entries {{ version role trafficPercent }} }} }} }}"""
ROLLBACK_PRODUCTION = """mutation($name: String!, $from: Int) {
  rollbackProduction(input: {name: $name, reason: "canary errors", fromVersion: $from}) {
    restored { version stage } archived { version stage } } }"""
PRODUCTION_URI = "query($uri: String!) { resolveModelUri(uri: $uri) { modelVersion { version } } }"


def document(mutation: str) -> str:
    return CHANGE.format(Input=mutation[0].upper() + mutation[1:] + "Input", mutation=mutation)


async def change(api: Api, mutation: str, environment: str = "production", **fields) -> list[tuple[int, str, int]]:
    data = await api.ok(document(mutation), {"in": {"name": NAME, "environment": environment, **fields}})
    return [(e["version"], e["role"], e["trafficPercent"]) for e in data[mutation]["deployment"]["entries"]]


async def refusal(api: Api, mutation: str, environment: str = "production", **fields) -> dict:
    return await api.error(document(mutation), {"in": {"name": NAME, "environment": environment, **fields}})


async def to_production(api: Api, name: str, number: int) -> None:
    """Card, STAGING (applies at once for mlops), then a PRODUCTION request approved by someone else."""
    await api.ok(
        "mutation($n: String!, $v: Int!) { attachDocument(input: {name: $n, version: $v, kind: MODEL_CARD, "
        'title: "Card", markdown: "# card"}) { modelDocument { revision } } }',
        {"n": name, "v": number},
    )
    await api.ok(
        "mutation($n: String!, $v: Int!) { requestStageTransition(input: {name: $n, version: $v, "
        "toStage: STAGING}) { transitionRequest { status } } }",
        {"n": name, "v": number},
    )
    request = await api.ok(
        "mutation($n: String!, $v: Int!) { requestStageTransition(input: {name: $n, version: $v, "
        "toStage: PRODUCTION}) { transitionRequest { id } } }",
        {"n": name, "v": number},
        "data-scientist",
        sub="ds",
    )
    approved = await api.ok(
        "mutation($id: ID!) { approveTransitionRequest(input: {id: $id}) { transitionRequest { status } } }",
        {"id": request["requestStageTransition"]["transitionRequest"]["id"]},
        "approver",
        sub="boss",
    )
    assert approved["approveTransitionRequest"]["transitionRequest"]["status"] == "APPLIED"


async def served(api: Api, name: str = NAME, environment: str = "production") -> list[tuple[int, int]]:
    response = await api.client.get(
        f"/api/serving/{environment}/{name}", headers={"Authorization": f"Bearer {api.token('auditor')}"}
    )
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return [(e["version"], e["trafficPercent"]) for e in response.json()["entries"] if e["role"] != "SHADOW"]


async def in_production(api: Api, name: str = NAME) -> int | None:
    found = (await api.ok(PRODUCTION_URI, {"uri": f"models:/{name}/Production"}))["resolveModelUri"]
    return found["modelVersion"]["version"] if found else None


async def test_issue_14_point_5_canary_and_rollbacks_keep_serving_and_stages_agreeing(api: Api):
    await versions(api, NAME, 4)
    await to_production(api, NAME, 3)
    assert await change(api, "deploy", version=3) == [(3, "PRIMARY", 100)]
    await to_production(api, NAME, 4)  # archives v3, which keeps serving until v4 is rolled out
    assert await served(api) == [(3, 100)]
    assert await change(api, "startCanary", version=4, percent=10) == [(3, "PRIMARY", 90), (4, "CANARY", 10)]
    assert await change(api, "promoteCanary") == [(4, "PRIMARY", 100)]

    # Going back would give traffic to v3, which is ARCHIVED: refused, in one line saying what to do instead.
    refused = await refusal(api, "rollbackDeployment")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "version 3" in refused["message"] and "ARCHIVED" in refused["message"]
    assert "rollbackProduction" in refused["message"] and "\n" not in refused["message"]

    # The emergency rollback of the stage takes the traffic back with it.
    rolled = (await api.ok(ROLLBACK_PRODUCTION, {"name": NAME, "from": 4}))["rollbackProduction"]
    assert (rolled["restored"], rolled["archived"]) == (
        {"version": 3, "stage": "PRODUCTION"},
        {"version": 4, "stage": "ARCHIVED"},
    )
    assert await in_production(api) == 3
    assert await served(api) == [(3, 100)]
    state = await api.ok(
        'query($n: String!) { deployment(name: $n, environment: "production") { revision '
        "updatedBy { subject } history(first: 1) { nodes { action } } } }",
        {"n": NAME},
    )
    assert state["deployment"]["history"]["nodes"] == [{"action": "ROLLBACK"}]

    # Rolling the deployment back now would put the ARCHIVED v4 back: refused, and nothing changes.
    refused = await refusal(api, "rollbackDeployment")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "version 4" in refused["message"]
    assert await served(api) == [(3, 100)] and await in_production(api) == 3


async def test_rolling_production_back_during_a_canary_ends_the_canary(api: Api):
    await versions(api, NAME, 2)
    await to_production(api, NAME, 1)
    await change(api, "deploy", version=1)
    await change(api, "deploy", environment="staging", version=2)
    await to_production(api, NAME, 2)
    assert await change(api, "startCanary", version=2, percent=30) == [(1, "PRIMARY", 70), (2, "CANARY", 30)]
    await api.ok(ROLLBACK_PRODUCTION, {"name": NAME, "from": 2})
    assert await served(api) == [(1, 100)] and await in_production(api) == 1
    assert await served(api, environment="staging") == [(2, 100)]  # other environments follow no stage


async def test_traffic_moves_only_towards_the_production_version(api: Api):
    await versions(api, NAME, 2)
    await to_production(api, NAME, 1)
    await change(api, "deploy", version=1)
    await to_production(api, NAME, 2)
    await change(api, "startCanary", version=2, percent=30)
    for mutation, fields in (("abortCanary", {}), ("setCanaryTraffic", {"percent": 10})):
        refused = await refusal(api, mutation, **fields)
        assert refused["extensions"]["code"] == "FAILED_PRECONDITION", mutation
        assert "version 1" in refused["message"] and "ARCHIVED" in refused["message"], refused["message"]
    assert await change(api, "setCanaryTraffic", percent=60) == [(1, "PRIMARY", 40), (2, "CANARY", 60)]
    assert await change(api, "promoteCanary") == [(2, "PRIMARY", 100)]
