"""What lineage costs in statements, and registration racing itself: a walk is one recursive statement however
deep it goes, and concurrent registrations of one identity make one node."""

from __future__ import annotations

import asyncio

from tests.graphql.test_no_n_plus_one import count_statements
from tests.lineage.test_lineage_graph import LINEAGE, REGISTER_DATASET, create
from tests.support.client import Api

CHAIN = 12


async def test_a_walk_is_one_recursive_statement_at_any_depth(api: Api, app):
    previous = await create(api, "cost/m0", run={"runId": "cost-0"}, datasets=[{"dataset": {"name": "d0", "version": "1"}}])
    for i in range(1, CHAIN):
        previous = await create(api, f"cost/m{i}", run={"runId": f"cost-{i}"},
                                datasets=[{"dataset": {"name": f"d{i}", "version": "1"}}],
                                parents=[{"id": previous["id"]}])
    costs = {}
    for depth in (2, 25):
        with count_statements(app) as statements:
            data = await api.ok(LINEAGE, {"id": previous["id"], "direction": "UPSTREAM", "depth": depth,
                                          "kinds": None, "max": 2000})
        reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        walks = [s for s in reads if "RECURSIVE" in s.upper()]
        costs[depth] = (len(reads), len(data["lineage"]["nodes"]))
        assert len(walks) == 1, walks
    assert costs[2][1] < costs[25][1] == 3 * CHAIN  # the deep walk reaches every version, run and dataset
    assert costs[2][0] == costs[25][0], costs  # same statements: the walk, then one per kind of node


async def test_concurrent_registrations_of_one_dataset_make_one_node(api: Api):
    results = await asyncio.gather(*[
        api.ok(REGISTER_DATASET, {"in": {"name": "raced", "version": "1", "uri": "s3://raced"}}, "data-scientist")
        for _ in range(8)])
    ids = {result["registerDataset"]["dataset"]["id"] for result in results}
    created = [result["registerDataset"]["created"] for result in results]
    assert len(ids) == 1 and created.count(True) == 1, results
    listed = await api.ok('{ datasets(filter: {name: {equals: "raced"}}) { totalCount } }')
    assert listed["datasets"]["totalCount"] == 1
