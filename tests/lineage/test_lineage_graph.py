"""Lineage: node kinds, edge kinds, idempotent registration, cycles, frozen lineage, walks with bounds, impact
analysis through derivation chains, reproducibility, exports. Runs on SQLite and PostgreSQL like the suite."""

from __future__ import annotations

import pytest

from tests.support.client import Api

pytestmark = pytest.mark.asyncio

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
DIGEST = "sha256:" + "ab" * 32

CREATE = """
mutation($in: CreateModelVersionInput!) {
  createModelVersion(input: $in) { modelVersion { id uri status } }
}
"""
REGISTER_DATASET = """
mutation($in: RegisterDatasetInput!) { registerDataset(input: $in) { created dataset { id name version digest } } }
"""
REGISTER_RUN = """
mutation($in: RegisterRunInput!) { registerRun(input: $in) { created run { id runId experimentName } } }
"""
ADD_EDGE = """
mutation($in: AddLineageEdgeInput!) {
  addLineageEdge(input: $in) { created edge { kind upstreamId downstreamId relation } }
}
"""
LINEAGE = """
query($id: ID!, $direction: LineageDirection!, $depth: Int!, $kinds: [LineageEdgeKind!], $max: Int!) {
  lineage(id: $id, direction: $direction, depth: $depth, edgeKinds: $kinds, maxNodes: $max) {
    root truncated mermaid dot
    nodes { id kind label depth entity { __typename
      ... on Dataset { name version digest }
      ... on Run { runId environment { pythonVersion } }
      ... on CodeCommit { commitSha branch }
      ... on ModelVersion { uri }
      ... on ExternalNode { name } } }
    edges { kind upstreamId downstreamId relation }
  }
}
"""
IMPACTED = """
query($id: ID!, $stage: Stage) {
  impactedModelVersions(nodeId: $id, stage: $stage, first: 100) { totalCount nodes { uri stage } }
}
"""


async def create(api: Api, name: str, **extra) -> dict:
    data = await api.ok(CREATE, {"in": {"name": name, "createModelIfMissing": True, **extra}})
    return data["createModelVersion"]["modelVersion"]


async def walk(api: Api, node_id: str, direction: str = "UPSTREAM", depth: int = 3, kinds=None, max_nodes=200):
    data = await api.ok(LINEAGE, {"id": node_id, "direction": direction, "depth": depth, "kinds": kinds,
                                  "max": max_nodes})
    return data["lineage"]


async def fully_linked(api: Api) -> tuple[dict, dict]:
    """A parent version and a fine-tuned child, each with run, code and datasets, in one mutation each."""
    parent = await create(api, "demo/base", run={"tracker": "MLFLOW", "runId": "r-base", "experimentName": "base",
                                                 "environment": {"pythonVersion": "3.11.7"}},
                          code={"repositoryUrl": "https://github.com/acme/base", "commitSha": SHA, "branch": "main"},
                          datasets=[{"dataset": {"name": "events", "version": "v3", "digest": DIGEST}}])
    child = await create(api, "demo/churn", run={"tracker": "MLFLOW", "runId": "r-churn"},
                         datasets=[{"dataset": {"name": "churn-labels", "version": "v1"}},
                                   {"dataset": {"name": "holdout", "version": "v1"}, "kind": "VALIDATED_ON"}],
                         parents=[{"id": parent["id"], "relation": "fine-tuned"}])
    return parent, child


async def test_create_model_version_links_run_code_datasets_and_parents_in_one_mutation(api: Api):
    parent, child = await fully_linked(api)
    graph = await walk(api, child["id"], depth=5)
    kinds = sorted((node["kind"], node["label"]) for node in graph["nodes"])
    assert kinds == [
        ("CODE_COMMIT", f"acme/base@{SHA[:7]}"),
        ("DATASET", "churn-labels v1"), ("DATASET", "events v3"), ("DATASET", "holdout v1"),
        ("MODEL_VERSION", "models:/demo/base/1"), ("MODEL_VERSION", "models:/demo/churn/1"),
        ("RUN", "MLFLOW run r-base"), ("RUN", "MLFLOW run r-churn"),
    ]
    assert graph["root"] == child["id"] and not graph["truncated"]
    edges = {(e["kind"], e["relation"]) for e in graph["edges"]}
    assert edges == {("PRODUCED", None), ("BUILT_FROM", None), ("TRAINED_ON", None), ("VALIDATED_ON", None),
                     ("DERIVED_FROM", "fine-tuned")}
    assert next(e for e in graph["edges"] if e["kind"] == "DERIVED_FROM") == {
        "kind": "DERIVED_FROM", "upstreamId": parent["id"], "downstreamId": child["id"], "relation": "fine-tuned"}
    depths = {node["label"]: node["depth"] for node in graph["nodes"]}
    assert depths["models:/demo/churn/1"] == 0 and depths["models:/demo/base/1"] == 1 and depths["events v3"] == 2
    by_type = {node["entity"]["__typename"] for node in graph["nodes"]}
    assert by_type == {"Dataset", "Run", "CodeCommit", "ModelVersion"}


async def test_registration_is_idempotent_and_refuses_changed_identity(api: Api):
    first = await api.ok(REGISTER_DATASET, {"in": {"name": "events", "version": "v3", "digest": DIGEST}}, "data-scientist")
    again = await api.ok(REGISTER_DATASET, {"in": {"name": "events", "version": "v3"}}, "data-scientist")
    assert first["registerDataset"]["created"] is True and again["registerDataset"]["created"] is False
    assert again["registerDataset"]["dataset"]["id"] == first["registerDataset"]["dataset"]["id"]
    by_digest = await api.ok(REGISTER_DATASET, {"in": {"name": "events", "digest": DIGEST.removeprefix("sha256:")}})
    assert by_digest["registerDataset"]["dataset"]["id"] == first["registerDataset"]["dataset"]["id"]
    changed = await api.error(REGISTER_DATASET, {"in": {"name": "events", "version": "v3", "digest": "sha256:" + "cd" * 32}})
    assert changed["extensions"]["code"] == "CONFLICT" and "digest" in changed["message"]

    run = await api.ok(REGISTER_RUN, {"in": {"tracker": "WANDB", "runId": "abc", "experimentName": "exp"}})
    same = await api.ok(REGISTER_RUN, {"in": {"tracker": "WANDB", "runId": "abc"}})
    other_tracker = await api.ok(REGISTER_RUN, {"in": {"tracker": "MLFLOW", "runId": "abc"}})
    assert run["registerRun"]["run"]["id"] == same["registerRun"]["run"]["id"] != other_tracker["registerRun"]["run"]["id"]
    conflict = await api.error(REGISTER_RUN, {"in": {"tracker": "WANDB", "runId": "abc", "experimentName": "other"}})
    assert conflict["extensions"]["code"] == "CONFLICT" and "experimentName" in conflict["message"]

    # createModelVersion reuses registered nodes instead of duplicating them.
    version = await create(api, "demo/reuse", run={"tracker": "WANDB", "runId": "abc"},
                           datasets=[{"id": first["registerDataset"]["dataset"]["id"]}])
    graph = await walk(api, version["id"])
    ids = {node["id"] for node in graph["nodes"]}
    assert run["registerRun"]["run"]["id"] in ids and first["registerDataset"]["dataset"]["id"] in ids


async def test_every_edge_kind_and_external_nodes(api: Api):
    raw = (await api.ok(REGISTER_DATASET, {"in": {"name": "raw", "version": "1"}}))["registerDataset"]["dataset"]
    features = (await api.ok(REGISTER_DATASET, {"in": {"name": "features", "version": "1"}}))["registerDataset"]["dataset"]
    prep = (await api.ok(REGISTER_RUN, {"in": {"runId": "prep"}}))["registerRun"]["run"]
    store = (await api.ok("mutation { registerExternalNode(input: {name: \"feast\", category: \"feature-store\"}) "
                          "{ externalNode { id } } }"))["registerExternalNode"]["externalNode"]
    commit = (await api.ok("mutation($in: RegisterCodeCommitInput!) { registerCodeCommit(input: $in) "
                           "{ codeCommit { id } } }", {"in": {"repositoryUrl": "https://git/x", "commitSha": SHA}})
              )["registerCodeCommit"]["codeCommit"]
    for kind, up, down in [("TRAINED_ON", raw, prep), ("PRODUCED", prep, features), ("BUILT_FROM", commit, prep),
                           ("TRAINED_ON", store, prep)]:
        added = await api.ok(ADD_EDGE, {"in": {"kind": kind, "upstreamId": up["id"], "downstreamId": down["id"]}})
        assert added["addLineageEdge"]["created"] is True
    version = await create(api, "demo/e", datasets=[{"id": features["id"]}])
    evaluation = (await api.ok(REGISTER_DATASET, {"in": {"name": "eval", "version": "1"}}))["registerDataset"]["dataset"]
    await api.ok(ADD_EDGE, {"in": {"kind": "EVALUATED_ON", "upstreamId": evaluation["id"], "downstreamId": version["id"]}})
    endpoint = (await api.ok("mutation { registerExternalNode(input: {name: \"svc\"}) { externalNode { id } } }")
                )["registerExternalNode"]["externalNode"]
    await api.ok(ADD_EDGE, {"in": {"kind": "DEPLOYED_AS", "upstreamId": version["id"], "downstreamId": endpoint["id"]}})
    again = await api.ok(ADD_EDGE, {"in": {"kind": "DEPLOYED_AS", "upstreamId": version["id"],
                                           "downstreamId": endpoint["id"]}})
    assert again["addLineageEdge"]["created"] is False

    graph = await walk(api, raw["id"], "DOWNSTREAM", depth=10)
    assert {n["label"] for n in graph["nodes"]} == {"raw 1", "OTHER run prep", "features 1", "models:/demo/e/1", "svc"}
    upstream = await walk(api, version["id"], depth=10)
    assert {n["kind"] for n in upstream["nodes"]} == {"MODEL_VERSION", "DATASET", "RUN", "CODE_COMMIT", "EXTERNAL"}
    # Wrong endpoint kinds are refused with the kinds the edge joins.
    wrong = await api.error(ADD_EDGE, {"in": {"kind": "PRODUCED", "upstreamId": raw["id"], "downstreamId": version["id"]}})
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT" and "RUN -> DATASET or MODEL_VERSION" in wrong["message"]


async def test_defining_lineage_of_a_ready_version_is_frozen(api: Api):
    version = await create(api, "demo/frozen")
    data = (await api.ok(REGISTER_DATASET, {"in": {"name": "late", "version": "1"}}))["registerDataset"]["dataset"]
    refused = await api.error(ADD_EDGE, {"in": {"kind": "TRAINED_ON", "upstreamId": data["id"],
                                                "downstreamId": version["id"]}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "READY" in refused["message"]
    run = (await api.ok(REGISTER_RUN, {"in": {"runId": "late"}}))["registerRun"]["run"]
    refused = await api.error(ADD_EDGE, {"in": {"kind": "PRODUCED", "upstreamId": run["id"],
                                                "downstreamId": version["id"]}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    later = await api.ok(ADD_EDGE, {"in": {"kind": "EVALUATED_ON", "upstreamId": data["id"],
                                           "downstreamId": version["id"]}})
    assert later["addLineageEdge"]["created"] is True


async def test_derived_from_cycles_are_refused_with_the_cycle_named(api: Api):
    a = await create(api, "demo/a")
    b = await create(api, "demo/b", parents=[{"uri": "models:/demo/a/1"}])
    c = await create(api, "demo/c", parents=[{"id": b["id"], "relation": "distilled"}])
    refused = await api.error(ADD_EDGE, {"in": {"kind": "DERIVED_FROM", "upstreamId": c["id"], "downstreamId": a["id"]}})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "models:/demo/a/1 -> models:/demo/b/1 -> models:/demo/c/1 -> models:/demo/a/1" in refused["message"]
    self_loop = await api.error(ADD_EDGE, {"in": {"kind": "DERIVED_FROM", "upstreamId": a["id"], "downstreamId": a["id"]}})
    assert self_loop["extensions"]["code"] == "BAD_USER_INPUT"
    # A cycle through other kinds: a dataset produced by a run trained on it.
    data = (await api.ok(REGISTER_DATASET, {"in": {"name": "loop", "version": "1"}}))["registerDataset"]["dataset"]
    run = (await api.ok(REGISTER_RUN, {"in": {"runId": "loop"}}))["registerRun"]["run"]
    await api.ok(ADD_EDGE, {"in": {"kind": "TRAINED_ON", "upstreamId": data["id"], "downstreamId": run["id"]}})
    refused = await api.error(ADD_EDGE, {"in": {"kind": "PRODUCED", "upstreamId": run["id"], "downstreamId": data["id"]}})
    assert "loop 1 -> OTHER run loop -> loop 1" in refused["message"]


async def test_depth_and_node_bounds_set_truncated(api: Api):
    previous = await create(api, "chain/m0")
    ids = [previous["id"]]
    for i in range(1, 8):
        previous = await create(api, f"chain/m{i}", parents=[{"id": previous["id"]}])
        ids.append(previous["id"])
    deep = await walk(api, ids[-1], depth=10)
    assert len(deep["nodes"]) == 8 and not deep["truncated"]
    exact = await walk(api, ids[-1], depth=7)
    assert len(exact["nodes"]) == 8 and not exact["truncated"]
    shallow = await walk(api, ids[-1], depth=3)
    assert [n["label"] for n in shallow["nodes"]] == [f"models:/chain/m{i}/1" for i in (7, 6, 5, 4)]
    assert shallow["truncated"] and len(shallow["edges"]) == 3
    capped = await walk(api, ids[0], "DOWNSTREAM", depth=20, max_nodes=5)
    assert len(capped["nodes"]) == 5 and capped["truncated"] and len(capped["edges"]) == 4
    both = await walk(api, ids[4], "BOTH", depth=2)
    assert sorted(n["depth"] for n in both["nodes"]) == [0, 1, 1, 2, 2]
    only_produced = await walk(api, ids[-1], depth=10, kinds=["PRODUCED"])
    assert len(only_produced["nodes"]) == 1
    for bad in ({"depth": 0}, {"depth": 51}, {"max_nodes": 0}, {"max_nodes": 2001}):
        error = await api.error(LINEAGE, {"id": ids[0], "direction": "UPSTREAM", "depth": bad.get("depth", 3),
                                          "kinds": None, "max": bad.get("max_nodes", 10)})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_impacted_model_versions_follow_derivation_chains_and_filter_by_stage(api: Api):
    data = (await api.ok(REGISTER_DATASET, {"in": {"name": "bad", "version": "v3"}}))["registerDataset"]["dataset"]
    trained = await create(api, "impact/base", datasets=[{"id": data["id"]}])
    tuned = await create(api, "impact/tuned", parents=[{"id": trained["id"]}])
    distilled = await create(api, "impact/small", parents=[{"id": tuned["id"], "relation": "distilled"}])
    await create(api, "impact/unrelated")
    everything = (await api.ok(IMPACTED, {"id": data["id"]}))["impactedModelVersions"]
    assert [v["uri"] for v in everything["nodes"]] == [distilled["uri"], tuned["uri"], trained["uri"]]  # newest first
    assert everything["totalCount"] == 3
    await api.ok("mutation { requestStageTransition(input: {name: \"impact/small\", version: 1, toStage: STAGING}) "
                 "{ transitionRequest { status } } }")
    staging = (await api.ok(IMPACTED, {"id": data["id"], "stage": "STAGING"}))["impactedModelVersions"]
    assert [v["uri"] for v in staging["nodes"]] == [distilled["uri"]]
    unlinked = await create(api, "impact/alone")
    assert (await api.ok(IMPACTED, {"id": unlinked["id"]}))["impactedModelVersions"]["nodes"] == []


async def test_reproducibility_lists_what_is_missing(api: Api):
    parent, child = await fully_linked(api)
    query = """query($n: String!) { modelVersion(name: $n, version: 1) { reproducibility {
      complete missing run { runId } codeCommit { commitSha } environment { pythonVersion }
      datasets { kind throughRun dataset { name digest } } parents { relation modelVersion { uri } } } } }"""
    base = (await api.ok(query, {"n": "demo/base"}))["modelVersion"]["reproducibility"]
    assert base["run"] == {"runId": "r-base"} and base["codeCommit"] == {"commitSha": SHA}
    assert base["missing"] == ["requirements digest", "container image", "artifact digest"]
    assert base["complete"] is False and base["environment"] == {"pythonVersion": "3.11.7"}
    churn = (await api.ok(query, {"n": "demo/churn"}))["modelVersion"]["reproducibility"]
    assert churn["parents"] == [{"relation": "fine-tuned", "modelVersion": {"uri": "models:/demo/base/1"}}]
    assert churn["missing"][:4] == ["code commit", "digest of dataset churn-labels v1", "digest of dataset holdout v1",
                                    "python version"]
    complete = await create(api, "demo/complete", artifact={"uri": "s3://b/m", "digest": DIGEST},
                            run={"runId": "full", "environment": {"pythonVersion": "3.11", "requirementsDigest": DIGEST,
                                                                   "containerImage": "img@sha256:1"}},
                            code={"repositoryUrl": "https://git/x", "commitSha": SHA},
                            datasets=[{"dataset": {"name": "d", "digest": DIGEST}}])
    record = (await api.ok(query, {"n": "demo/complete"}))["modelVersion"]["reproducibility"]
    assert record["complete"] is True and record["missing"] == [], complete


async def test_exports_and_node_lookup(api: Api):
    _, child = await fully_linked(api)
    graph = await walk(api, child["id"], depth=5)
    assert graph["mermaid"].startswith("flowchart LR\n") and "-->|\"DERIVED_FROM: fine-tuned\"|" in graph["mermaid"]
    assert graph["dot"].startswith("digraph lineage {") and "[label=\"DERIVED_FROM: fine-tuned\"]" in graph["dot"]
    for node in graph["nodes"]:
        found = await api.ok("query($id: ID!) { node(id: $id) { __typename id } }", {"id": node["id"]})
        assert found["node"] == {"__typename": node["entity"]["__typename"], "id": node["id"]}
    datasets = await api.ok("{ datasets(filter: {name: {prefix: \"h\"}}) { totalCount nodes { name version } } }")
    assert datasets["datasets"] == {"totalCount": 1, "nodes": [{"name": "holdout", "version": "v1"}]}
    runs = await api.ok("{ runs(filter: {tracker: MLFLOW}) { nodes { runId } } run(tracker: MLFLOW, runId: \"r-base\") "
                        "{ experimentName } dataset(name: \"events\", version: \"v3\") { digest } }")
    assert [r["runId"] for r in runs["runs"]["nodes"]] == ["r-churn", "r-base"]  # newest first
    assert runs["run"] == {"experimentName": "base"} and runs["dataset"] == {"digest": DIGEST}


async def test_deleting_a_parent_version_is_refused_and_deletion_removes_edges(api: Api):
    parent, child = await fully_linked(api)
    refused = await api.error("mutation { deleteModelVersion(input: {name: \"demo/base\", version: 1}) "
                              "{ deletedId } }")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "models:/demo/churn/1" in refused["message"]
    refused = await api.error("mutation { deleteRegisteredModel(input: {name: \"demo/base\"}) "
                              "{ deletedId } }")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    await api.ok("mutation { deleteModelVersion(input: {name: \"demo/churn\", version: 1}) { deletedId } }")
    remaining = await walk(api, parent["id"], "DOWNSTREAM")
    assert [n["label"] for n in remaining["nodes"]] == ["models:/demo/base/1"] and remaining["edges"] == []


async def test_a_new_version_names_an_edge_twice_or_an_unknown_dataset(api: Api):
    """createModelVersion writes a new version's edges in one statement: an edge named twice is written once (as
    addLineageEdge would answer it), twice with another relation is a CONFLICT, and an unknown dataset id NOT_FOUND,
    with nothing written."""
    data = (await api.ok(REGISTER_DATASET, {"in": {"name": "twice", "version": "1"}}))["registerDataset"]["dataset"]
    parent = await create(api, "demo/twice-parent")
    version = await create(api, "demo/twice", datasets=[{"id": data["id"]}, {"dataset": {"name": "twice", "version": "1"}},
                                                      {"id": data["id"], "kind": "VALIDATED_ON"}],
                           parents=[{"id": parent["id"], "relation": "distilled"}, {"id": parent["id"]}])
    graph = await walk(api, version["id"], depth=1)
    assert sorted((e["kind"], e["upstreamId"], e["relation"]) for e in graph["edges"]) == [
        ("DERIVED_FROM", parent["id"], "distilled"), ("TRAINED_ON", data["id"], None),
        ("VALIDATED_ON", data["id"], None)]

    conflict = await api.error(CREATE, {"in": {"name": "demo/twice", "parents": [
        {"id": parent["id"], "relation": "distilled"}, {"id": parent["id"], "relation": "pruned"}]}})
    assert conflict["extensions"]["code"] == "CONFLICT" and "relation" in conflict["message"]
    unknown = await api.error(CREATE, {"in": {"name": "demo/twice", "datasets": [{"id": parent["id"]}]}})
    assert unknown["extensions"]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")
    missing = await api.error(CREATE, {"in": {"name": "demo/twice", "datasets": [{"id": version["id"].replace("A", "B")}]}})
    assert missing["extensions"]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")
    versions = await api.ok('{ registeredModel(name: "demo/twice") { versions(first: 5) { totalCount } } }')
    assert versions["registeredModel"]["versions"]["totalCount"] == 1  # the refused creates wrote nothing
