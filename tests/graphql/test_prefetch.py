"""Look-ahead loading (app/graphql/prefetch.py): a list resolver loads the nested relations the query selected, so
they answer without a task per field; the answers are the same however the selection is written (fragments, aliases,
the stage as a literal or a variable) and the same as through a path that is not looked ahead (node(id:))."""

from __future__ import annotations

PAGE = """
query Page($stage: Stage) {
  registeredModels(first: 10, orderBy: {field: NAME, direction: ASC}) {
    edges { node { ...Model ... on RegisteredModel { newest: latestVersion { version } } } }
  }
}
fragment Model on RegisteredModel {
  id name tags { key value } aliases { alias version }
  latestVersion { version stage metrics { name value } tags { key value } aliases { alias } }
  production: latestVersion(stage: PRODUCTION) { version }
  chosen: latestVersion(stage: $stage) { version stage }
}
"""

NODE = """
query One($id: ID!, $stage: Stage) {
  node(id: $id) { ...Model ... on RegisteredModel { newest: latestVersion { version } } }
}
""" + PAGE[PAGE.index("fragment"):]


async def _registry(api):
    for name in ("pf/a", "pf/b", "pf/c"):
        for number in (1, 2, 3):
            await api.ok('mutation($n: String!, $v: String!) { createModelVersion(input: {name: $n, '
                         'createModelIfMissing: true, tags: [{key: "k", value: $v}], metrics: [{name: "acc", '
                         'value: 0.5}]}) { modelVersion { version } } }', {"n": name, "v": f"{name}-{number}"})
    await api.ok('mutation { setRegisteredModelTag(input: {name: "pf/a", key: "team", value: "x"}) '
                 '{ registeredModel { name } } }')
    await api.ok('mutation { setModelAlias(input: {name: "pf/b", alias: "best", version: 2}) { modelAlias { alias } } }')
    for name, version, stage in (("pf/a", 1, "STAGING"), ("pf/b", 3, "STAGING"), ("pf/c", 2, "STAGING")):
        await api.ok('mutation($n: String!, $v: Int!, $s: Stage!) { requestStageTransition(input: {name: $n, '
                      'version: $v, toStage: $s}) { transitionRequest { status } } }', {"n": name, "v": version, "s": stage},
                      "mlops")


async def test_looked_ahead_answers_equal_the_answers_field_by_field(api):
    await _registry(api)
    for stage in ("STAGING", None, "PRODUCTION"):
        page = await api.ok(PAGE, {"stage": stage})
        nodes = [edge["node"] for edge in page["registeredModels"]["edges"]]
        assert [node["name"] for node in nodes] == ["pf/a", "pf/b", "pf/c"]
        for node in nodes:
            one = await api.ok(NODE, {"id": node["id"], "stage": stage})
            assert one["node"] == node
    nodes = [edge["node"] for edge in (await api.ok(PAGE, {"stage": "STAGING"}))["registeredModels"]["edges"]]
    assert [node["chosen"] for node in nodes] == [{"version": 1, "stage": "STAGING"}, {"version": 3, "stage": "STAGING"},
                                                   {"version": 2, "stage": "STAGING"}]
    assert nodes[0]["latestVersion"]["tags"] == [{"key": "k", "value": "pf/a-3"}]
    assert nodes[1]["aliases"] == [{"alias": "best", "version": 2}]
    assert nodes[0]["newest"] == {"version": 3}


async def test_read_ahead_reads_each_key_once_and_fields_answer_from_it_synchronously():
    from app.graphql.context import BatchLoader
    from app.graphql.prefetch import loaded

    batches: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, str]:
        batches.append(keys)
        return {key: f"v{key}" for key in keys if key != 3}

    loader = BatchLoader(fetch, default="none")
    assert await loader.read_ahead([1, 2, 2, 3]) == ["v1", "v2", "v2", "none"]
    assert await loader.read_ahead([2, 4]) == ["v2", "v4"]
    assert batches == [[1, 2, 3], [4]]  # deduplicated; what was read ahead is not read again
    assert loaded(loader, 3, str.upper) == "NONE"  # answered at once, no future
    later = loaded(loader, 5, str.upper)  # not read ahead: through the DataLoader
    assert await later == "V5"
    assert batches[-1] == [5]
    loader.clear(3)
    loader.clear_many([1])
    assert set(loader.ready) == {2, 4}
    loader.clear_all()
    assert loader.ready == {} and await loader.read_ahead([2]) == ["v2"] and batches[-1] == [2]
