"""Batched requests (issue 20, point 13): an array of operations answers an array, up to MODELREG_MAX_BATCH, within
one cost budget for the whole batch."""

from __future__ import annotations

from app.config import Settings
from tests.graphql.test_no_n_plus_one import count_statements

DEFAULTS = Settings()
VIEWER = "query Viewer { viewer { subject } }"
MODELS = "query Models($n: Int) { registeredModels(first: $n) { totalCount } }"
# 1 + 100 * (1 + 1 + 100 * 2) = 20,201 each: three fit the budget alone, not together.
PAGES = "{ registeredModels(first: 100) { nodes { versions(first: 100) { nodes { version } } } } }"


async def batch(api, operations: list[dict]):
    return await api.client.post("/graphql", json=operations, headers={"authorization": f"Bearer {api.token('mlops')}"})


async def test_a_batch_answers_one_result_per_operation_in_order(api):
    response = await batch(api, [{"query": VIEWER}, {"query": MODELS, "variables": {"n": 5}}, {"query": "{ nope }"}])
    assert response.status_code == 200
    body = response.json()
    assert body[0] == {"data": {"viewer": {"subject": "tester"}}}
    assert body[1] == {"data": {"registeredModels": {"totalCount": 0}}}
    assert body[2]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_too_many_operations_is_one_400(api, app):
    with count_statements(app) as statements:
        response = await batch(api, [{"query": VIEWER}] * (DEFAULTS.max_batch + 1))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limit": DEFAULTS.max_batch,
                                   "actual": DEFAULTS.max_batch + 1}
    assert statements == []
    assert (await batch(api, [{"query": VIEWER}] * DEFAULTS.max_batch)).status_code == 200


async def test_the_whole_batch_shares_one_cost_budget(api, app):
    fitting = DEFAULTS.max_query_cost // 20_201  # PAGES costs 20,201; that many fit, one more does not
    assert (await batch(api, [{"query": PAGES}] * fitting)).status_code == 200
    with count_statements(app) as statements:
        response = await batch(api, [{"query": PAGES}] * (fitting + 1))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "cost": (fitting + 1) * 20_201,
                                                          "limit": DEFAULTS.max_query_cost}
    assert statements == []


async def test_a_batch_item_that_is_not_an_object_is_a_400(api):
    for body in ([], [1], [{"query": VIEWER}, "x"]):
        response = await batch(api, body)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
