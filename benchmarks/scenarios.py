"""The benchmarked GraphQL operations: a document, how to pick variables, and what a good answer holds."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from .seed import ALGORITHMS, DATASETS, FAMILIES, FRAMEWORKS, REGIONS, SCORE_METRICS, TEAMS

GET_MODEL_WITH_LATEST_VERSIONS = """
query GetModelWithLatestVersions($name: String!) {
  registeredModel(name: $name) {
    id name description owner updatedAt
    tags { key value }
    aliases { alias version }
    latestVersion { version stage createdAt uri metrics { name value } tags { key value } artifact { uri digest } }
    production: latestVersion(stage: PRODUCTION) { version createdAt metrics { name value } }
    staging: latestVersion(stage: STAGING) { version createdAt metrics { name value } }
  }
}
"""

VERSION_FIELDS = "id name version stage createdAt metrics { name value } tags { key value }"

SEARCH_VERSIONS = f"""
query SearchVersions($filter: ModelVersionFilter!) {{
  modelVersions(filter: $filter, first: 20) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {VERSION_FIELDS} }} }}
  }}
}}
"""

MODELS_PAGE = """
query ModelsPage($after: String) {
  registeredModels(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { name owner latestVersion { version stage metrics { name value } } tags { key value }
                   aliases { alias } } }
  }
}
"""

CREATE_VERSION = """
mutation CreateVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { id name version uri stage } }
}
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    document: str
    # (rng) -> variables
    variables: Callable[[random.Random], dict[str, Any]]
    # (data) -> None when the answer is as expected, else what is wrong
    check: Callable[[dict[str, Any]], str | None]


def _name_prefix(rng: random.Random, names: list[str]) -> str:
    """What someone types into a search box: a family, a family and algorithm, or a whole name."""
    level = rng.randrange(3)
    if level == 0:
        return rng.choice(FAMILIES) + "-"
    if level == 1:
        return f"{rng.choice(FAMILIES)}-{rng.choice(ALGORITHMS)}-"
    return rng.choice(names)


def _expect_versions(data: dict[str, Any]) -> str | None:
    connection = data.get("modelVersions")
    if connection is None or connection.get("totalCount") is None:
        return "modelVersions or totalCount missing"
    if len(connection["edges"]) != min(20, connection["totalCount"]):
        return f"got {len(connection['edges'])} edges for totalCount {connection['totalCount']}"
    return None


def _expect_model(data: dict[str, Any]) -> str | None:
    model = data.get("registeredModel")
    if model is None:
        return "registeredModel is null"
    if model["latestVersion"] is None or len(model["latestVersion"]["metrics"]) != 5:
        return "latestVersion or its metrics missing"
    return None


def _expect_page(data: dict[str, Any]) -> str | None:
    edges = data["registeredModels"]["edges"]
    if not edges:
        return "empty page"
    if any(edge["node"]["latestVersion"] is None for edge in edges):
        return "a model without latestVersion"
    return None


def _expect_created(data: dict[str, Any]) -> str | None:
    version = data["createModelVersion"]["modelVersion"]
    return None if version["version"] > 10 else f"unexpected version number {version['version']}"


def new_version_input(rng: random.Random, names: list[str]) -> dict[str, Any]:
    name = rng.choice(names)
    sha = "%064x" % rng.getrandbits(256)
    return {"input": {
        "name": name,
        "createModelIfMissing": True,
        "description": "benchmark retrain",
        "flavor": rng.choice(FRAMEWORKS),
        "run": {"tracker": "MLFLOW", "runId": sha[:32]},
        "code": {"repositoryUrl": "https://git.example.com/bench/repo", "commitSha": sha[:40]},
        "artifact": {"uri": f"s3://models-example/{name}/bench-{sha[:12]}/model.tar.gz",
                     "digest": f"sha256:{sha}", "size": float(rng.randrange(10**6, 10**9))},
        "metrics": [{"name": metric, "value": rng.uniform(0.5, 1.0), "dataset": "validation"}
                    for metric in SCORE_METRICS] + [{"name": "latency_p95_ms", "value": rng.uniform(5, 80)}],
        "params": [{"name": "learning_rate", "value": "0.05"}, {"name": "max_depth", "value": "8"},
                   {"name": "epochs", "value": "40"}, {"name": "batch_size", "value": "128"},
                   {"name": "seed", "value": str(rng.randrange(10**6))}],
        "tags": [{"key": "team", "value": rng.choice(TEAMS)}, {"key": "framework", "value": rng.choice(FRAMEWORKS)},
                 {"key": "dataset", "value": rng.choice(DATASETS)}, {"key": "region", "value": rng.choice(REGIONS)},
                 {"key": "trigger", "value": "benchmark"}],
    }}


def build(names: list[str], page_cursors: list[str | None]) -> list[Scenario]:
    """All scenarios, in run order (the only writing one last, so reads see the seeded data only).

    ``page_cursors`` may be filled in after this call: it is read when variables are picked.
    """
    return [
        Scenario("get_model_latest_versions", GET_MODEL_WITH_LATEST_VERSIONS,
                 lambda rng: {"name": rng.choice(names)}, _expect_model),
        Scenario("search_versions_by_name", SEARCH_VERSIONS,
                 lambda rng: {"filter": {"name": {"prefix": _name_prefix(rng, names)}}}, _expect_versions),
        Scenario("search_versions_by_tag", SEARCH_VERSIONS,
                 lambda rng: {"filter": {"tags": [{"key": "team", "value": rng.choice(TEAMS)}]}}, _expect_versions),
        Scenario("search_versions_by_metric", SEARCH_VERSIONS,
                 lambda rng: {"filter": {"metrics": [{"name": "accuracy", "gte": rng.choice((0.9, 0.95, 0.99))}]}},
                 _expect_versions),
        Scenario("models_page_100_nested", MODELS_PAGE,
                 lambda rng: {"after": rng.choice(page_cursors)}, _expect_page),
        Scenario("create_model_version", CREATE_VERSION,
                 lambda rng: new_version_input(rng, names), _expect_created),
    ]
