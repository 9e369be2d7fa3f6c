"""Edge cases of the lineage rules: retries, relations, freezing through the run, self-parents, external inputs,
nested walks, labels that would break the exports."""

from __future__ import annotations

from tests.lineage.test_lineage_graph import ADD_EDGE, LINEAGE, REGISTER_DATASET, REGISTER_RUN, create, walk
from tests.support.client import Api

REPRODUCIBILITY = """query($n: String!) { modelVersion(name: $n, version: 1) { reproducibility {
  missing datasets { dataset { name } } run { runId } } } }"""


def data_key(dataset: dict) -> str:
    import base64

    return base64.urlsafe_b64decode(dataset["id"] + "==").decode().split(":")[1]


async def register_dataset(api: Api, name: str) -> dict:
    return (await api.ok(REGISTER_DATASET, {"in": {"name": name, "version": "1"}}))["registerDataset"]["dataset"]


async def test_the_same_edge_again_is_returned_even_on_a_ready_version(api: Api):
    data = await register_dataset(api, "again")
    version = await create(api, "rules/again", datasets=[{"id": data["id"]}])
    again = await api.ok(ADD_EDGE, {"in": {"kind": "TRAINED_ON", "upstreamId": data["id"], "downstreamId": version["id"]}})
    assert again["addLineageEdge"]["created"] is False
    parent = await create(api, "rules/parent")
    child = await create(api, "rules/child", parents=[{"id": parent["id"], "relation": "distilled"}])
    other = await api.error(ADD_EDGE, {"in": {"kind": "DERIVED_FROM", "upstreamId": parent["id"],
                                              "downstreamId": child["id"], "relation": "quantized"}})
    assert other["extensions"]["code"] == "CONFLICT" and "'distilled'" in other["message"]


async def test_the_run_of_a_ready_version_is_frozen_too(api: Api):
    await create(api, "rules/frozen-run", run={"runId": "frozen"})
    run = (await api.ok(REGISTER_RUN, {"in": {"runId": "frozen"}}))["registerRun"]["run"]
    data = await register_dataset(api, "late-data")
    refused = await api.error(ADD_EDGE, {"in": {"kind": "TRAINED_ON", "upstreamId": data["id"],
                                                "downstreamId": run["id"]}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "READY" in refused["message"]
    later = await api.ok(ADD_EDGE, {"in": {"kind": "EVALUATED_ON", "upstreamId": data["id"], "downstreamId": run["id"]}})
    assert later["addLineageEdge"]["created"] is True


async def test_latest_of_its_own_model_is_the_previous_version(api: Api):
    await create(api, "rules/self")
    second = await create(api, "rules/self", parents=[{"uri": "models:/rules/self/latest", "relation": "retrained"}])
    graph = await walk(api, second["id"])
    assert [n["label"] for n in graph["nodes"]] == ["models:/rules/self/2", "models:/rules/self/1"]


async def test_external_inputs_do_not_break_reproducibility(api: Api):
    await create(api, "rules/external", datasets=[{"dataset": {"name": "real", "version": "1"}}])
    store = (await api.ok('mutation { registerExternalNode(input: {name: "feature-store"}) { externalNode { id } } }')
             )["registerExternalNode"]["externalNode"]
    version = (await api.ok('{ modelVersion(name: "rules/external", version: 1) { id } }'))["modelVersion"]
    await api.ok(ADD_EDGE, {"in": {"kind": "EVALUATED_ON", "upstreamId": store["id"], "downstreamId": version["id"]}})
    record = (await api.ok(REPRODUCIBILITY, {"n": "rules/external"}))["modelVersion"]["reproducibility"]
    assert record["datasets"] == [{"dataset": {"name": "real"}}] and record["run"] is None


async def test_nested_walks_are_limited_per_request(api: Api):
    parent = await create(api, "rules/nest-a")
    await create(api, "rules/nest-b", parents=[{"id": parent["id"]}])
    nested = """{ modelVersion(name: "rules/nest-b", version: 1) { lineage { nodes { entity {
      ... on ModelVersion { lineage { nodes { label } } } } } } } }"""
    assert (await api.gql(nested)).get("errors") is None  # 1 walk, then one per version it reached: 3
    deeper = nested.replace("lineage { nodes { label } }", "lineage { nodes { entity { ... on ModelVersion "
                                                           "{ lineage { nodes { label } } } } } }")
    refused = (await api.gql(deeper))["errors"][0]  # 1 + 2 + 2 + 1 > 5 walks; its static cost is refused first
    assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "MODELREG_MAX_QUERY_COST" in refused["message"]
    many = "{ " + " ".join(f'w{i}: modelVersion(name: "rules/nest-b", version: 1) {{ lineage {{ truncated }} }}'
                           for i in range(6)) + " }"
    body = await api.gql(many)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "5 lineage walks" in body["errors"][0]["message"]


async def test_labels_with_newlines_and_quotes_stay_one_line_in_the_exports(api: Api):
    data = (await api.ok(REGISTER_DATASET, {"in": {"name": 'two\nlines "quoted"', "version": "1"}})
            )["registerDataset"]["dataset"]
    data_graph = await api.ok(LINEAGE, {"id": data["id"], "direction": "DOWNSTREAM", "depth": 1, "kinds": None,
                                        "max": 10})
    mermaid, dot = data_graph["lineage"]["mermaid"], data_graph["lineage"]["dot"]
    assert mermaid.splitlines()[1] == '  dataset_1[("two lines #34;quoted#34; 1")]'.replace("1[", f"{data_key(data)}[")
    assert 'two\\nlines \\"quoted\\" 1' in dot and len(dot.strip().splitlines()) == 5
