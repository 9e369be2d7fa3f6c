"""The `deployments` listing (filter, order, paging both ways), a deployment's history as a connection, and
`node(id:)` for deployments and their revisions."""

from __future__ import annotations

import pytest

from app.graphql.relay import from_global_id, to_global_id
from tests.support.client import Api

CREATE = "mutation($in: CreateModelVersionInput!) { createModelVersion(input: $in) { modelVersion { id } } }"
DEPLOY = """mutation($in: DeployInput!) { deploy(input: $in) { deployment { id revision
  history(first: 1) { nodes { id revision } } } } }"""
START_CANARY = "mutation($in: StartCanaryInput!) { startCanary(input: $in) { deployment { revision } } }"
LIST = """
query($filter: DeploymentFilter, $orderBy: DeploymentOrder, $first: Int, $after: String, $last: Int, $before: String) {
  deployments(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    nodes { name environment }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
HISTORY = """
query($n: String!, $e: String!, $first: Int, $after: String, $last: Int, $before: String) {
  deployment(name: $n, environment: $e) {
    history(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      nodes { revision action changedBy { subject } deployment { environment revision } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Deployment { name environment revision updatedBy { subject } }
    ... on DeploymentRevision { revision action entries { version } deployment { name environment revision } }
  }
}
"""


async def create(api: Api, name: str, count: int = 2) -> None:
    for _ in range(count):
        await api.ok(CREATE, {"in": {"name": name, "createModelIfMissing": True}})


async def deploy(api: Api, name: str, environment: str, version: int = 1, sub: str = "tester") -> dict:
    data = await api.ok(DEPLOY, {"in": {"name": name, "environment": environment, "version": version}}, sub=sub)
    return data["deploy"]["deployment"]


async def landscape(api: Api) -> list[tuple[str, str]]:
    """Five deployments, in this order of their last change (oldest first); two run a canary."""
    for name in ("fraud/a", "fraud/b", "churn"):
        await create(api, name)
    done = []
    for name, environment in (("fraud/a", "dev"), ("fraud/b", "dev"), ("churn", "qa"), ("fraud/a", "qa"),
                              ("churn", "dev")):
        await deploy(api, name, environment)
        done.append((name, environment))
    for name, environment in (("fraud/b", "dev"), ("churn", "dev")):
        await api.ok(START_CANARY, {"in": {"name": name, "environment": environment, "version": 2, "percent": 10}})
    # the canaries changed those two last
    return [d for d in done if d not in (("fraud/b", "dev"), ("churn", "dev"))] + [("fraud/b", "dev"), ("churn", "dev")]


def pairs(page: dict) -> list[tuple[str, str]]:
    return [(node["name"], node["environment"]) for node in page["nodes"]]


async def test_deployments_are_listed_most_recently_changed_first(api: Api):
    oldest_first = await landscape(api)
    page = (await api.ok(LIST, {}, "auditor"))["deployments"]
    assert page["totalCount"] == 5
    assert pairs(page) == oldest_first[::-1]
    ascending = (await api.ok(LIST, {"orderBy": {"field": "UPDATED_AT", "direction": "ASC"}}))["deployments"]
    assert pairs(ascending) == oldest_first
    by_name = (await api.ok(LIST, {"orderBy": {"field": "NAME", "direction": "ASC"}}))["deployments"]
    assert [name for name, _ in pairs(by_name)] == ["churn", "churn", "fraud/a", "fraud/a", "fraud/b"]
    by_environment = (await api.ok(LIST, {"orderBy": {"field": "ENVIRONMENT", "direction": "DESC"}}))["deployments"]
    assert [environment for _, environment in pairs(by_environment)] == ["qa", "qa", "dev", "dev", "dev"]


@pytest.mark.parametrize("filter,expected", [
    ({"name": {"prefix": "fraud/"}}, {("fraud/a", "dev"), ("fraud/b", "dev"), ("fraud/a", "qa")}),
    ({"name": {"equals": "churn"}}, {("churn", "qa"), ("churn", "dev")}),
    ({"environment": ["qa"]}, {("churn", "qa"), ("fraud/a", "qa")}),
    ({"environment": ["qa", "staging"], "name": {"contains": "FRAUD"}}, {("fraud/a", "qa")}),
    ({"hasCanary": True}, {("fraud/b", "dev"), ("churn", "dev")}),
    ({"hasCanary": False, "environment": ["dev"]}, {("fraud/a", "dev")}),
    ({"environment": ["production"]}, set()),
])
async def test_deployments_filter(api: Api, filter, expected):
    await landscape(api)
    page = (await api.ok(LIST, {"filter": filter}))["deployments"]
    assert set(pairs(page)) == expected and page["totalCount"] == len(expected)


async def test_deployments_page_forward_and_backward(api: Api):
    newest_first = (await landscape(api))[::-1]
    seen, after = [], None
    while True:
        page = (await api.ok(LIST, {"first": 2, "after": after}))["deployments"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += pairs(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == newest_first
    seen, before = [], None
    while True:
        page = (await api.ok(LIST, {"last": 2, "before": before}))["deployments"]
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        seen = pairs(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == newest_first


async def test_a_cursor_of_another_list_or_order_is_refused(api: Api):
    await landscape(api)
    models = (await api.ok("{ registeredModels(first: 1) { pageInfo { endCursor } } }"))["registeredModels"]
    refused = await api.error(LIST, {"after": models["pageInfo"]["endCursor"]})
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    by_name = (await api.ok(LIST, {"first": 1, "orderBy": {"field": "NAME", "direction": "ASC"}}))["deployments"]
    refused = await api.error(LIST, {"after": by_name["pageInfo"]["endCursor"]})  # a name where a time belongs
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_deployments_need_registry_read(api: Api):
    await landscape(api)
    body = await api.gql("{ viewer { subject } deployments { totalCount } }", None, "nobody")
    assert body["data"] == {"viewer": {"subject": "tester"}, "deployments": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["deployments"], "FORBIDDEN")]


async def test_history_pages_both_ways_newest_first(api: Api):
    await create(api, "hist", 3)
    for version in (1, 2, 3, 1, 2):
        await deploy(api, "hist", "dev", version, sub=f"user{version}")
    variables = {"n": "hist", "e": "dev"}
    everything = (await api.ok(HISTORY, variables))["deployment"]["history"]
    assert [n["revision"] for n in everything["nodes"]] == [5, 4, 3, 2, 1]
    assert everything["totalCount"] == 5 and everything["nodes"][0]["changedBy"] == {"subject": "user2"}
    assert {n["deployment"]["environment"] for n in everything["nodes"]} == {"dev"}
    assert {n["deployment"]["revision"] for n in everything["nodes"]} == {5}  # the deployment as it is now
    first = (await api.ok(HISTORY, {**variables, "first": 2}))["deployment"]["history"]
    assert [n["revision"] for n in first["nodes"]] == [5, 4] and first["pageInfo"]["hasNextPage"]
    following = (await api.ok(HISTORY, {**variables, "first": 2, "after": first["pageInfo"]["endCursor"]}))
    assert [n["revision"] for n in following["deployment"]["history"]["nodes"]] == [3, 2]
    last = (await api.ok(HISTORY, {**variables, "last": 2}))["deployment"]["history"]
    assert [n["revision"] for n in last["nodes"]] == [2, 1] and last["pageInfo"]["hasPreviousPage"]
    earlier = (await api.ok(HISTORY, {**variables, "last": 2, "before": last["pageInfo"]["startCursor"]}))
    assert [n["revision"] for n in earlier["deployment"]["history"]["nodes"]] == [4, 3]


async def test_node_finds_deployments_and_revisions(api: Api):
    await create(api, "noded")
    first = await deploy(api, "noded", "dev", 1, sub="alice")
    await deploy(api, "noded", "dev", 2, sub="bob")
    found = (await api.ok(NODE, {"id": first["id"]}, "auditor"))["node"]
    assert found == {"id": first["id"], "name": "noded", "environment": "dev", "revision": 2,
                     "updatedBy": {"subject": "bob"}}
    revision = first["history"]["nodes"][0]
    found = (await api.ok(NODE, {"id": revision["id"]}, "auditor"))["node"]
    assert found == {"id": revision["id"], "revision": 1, "action": "DEPLOY", "entries": [{"version": 1}],
                     "deployment": {"name": "noded", "environment": "dev", "revision": 2}}
    denied = await api.error(NODE, {"id": first["id"]}, "nobody")
    assert denied["extensions"]["code"] == "FORBIDDEN"


async def test_node_of_a_revision_that_does_not_exist_is_null(api: Api):
    await create(api, "gone")
    first = await deploy(api, "gone", "dev")
    revision_id = first["history"]["nodes"][0]["id"]
    _, key = from_global_id(revision_id)
    assert (await api.ok(NODE, {"id": to_global_id("DeploymentRevision", key + 1)}))["node"] is None
    assert (await api.ok(NODE, {"id": to_global_id("Deployment", 10_000)}))["node"] is None
