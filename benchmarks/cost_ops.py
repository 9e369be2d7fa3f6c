"""The everyday operations whose server cost issue 15 targets, as GraphQL documents with their variables.

Shared by the request-cost benchmark (benchmarks/cost_bench.py) and the statement-count test
(tests/graphql/test_request_cost.py), so the test pins the statements of exactly what is benchmarked.
Each operation mirrors what an MLflow client does for the same job (MLflow's call in brackets).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from .scenarios import CREATE_VERSION, GET_MODEL_WITH_LATEST_VERSIONS, MODELS_PAGE, new_version_input
from .seed import TEAMS

MODEL_VERSIONS = """
query ModelVersions($name: String!) {
  registeredModel(name: $name) {
    versions(first: 20) {
      edges { node { version stage status description createdAt createdBy { subject } tags { key value } } }
    }
  }
}
"""

VERSIONS_BY_TAG = """
query VersionsByTag($team: String!) {
  modelVersions(filter: {tags: [{key: "team", value: $team}]}, first: 20) {
    pageInfo { hasNextPage endCursor }
    edges { node { name version stage createdAt tags { key value } } }
  }
}
"""

SET_VERSION_TAG = """
mutation SetVersionTag($input: SetModelVersionTagInput!) {
  setModelVersionTag(input: $input) { modelVersion { version tags { key value } } }
}
"""

PLAIN_MODELS_PAGE = """
query PlainModelsPage {
  registeredModels(first: 100) {
    pageInfo { hasNextPage endCursor }
    edges { node { name description owner createdAt updatedAt tags { key value }
                   latestVersion { version stage } } }
  }
}
"""


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation: its GraphQL document and how to pick variables for a request."""

    name: str
    label: str
    document: str
    # (rng, model names) -> variables
    variables: Callable[[random.Random, list[str]], dict[str, Any]]
    writes: bool = False


OPERATIONS = [
    Operation("get_model", "get a model with its latest versions (GetRegisteredModel)",
              GET_MODEL_WITH_LATEST_VERSIONS, lambda rng, names: {"name": rng.choice(names)}),
    Operation("model_versions", "versions of one model (SearchModelVersions name=)",
              MODEL_VERSIONS, lambda rng, names: {"name": rng.choice(names)}),
    Operation("versions_by_tag", "versions filtered by a tag, first 20 (SearchModelVersions tags.team=)",
              VERSIONS_BY_TAG, lambda rng, names: {"team": rng.choice(TEAMS)}),
    Operation("set_version_tag", "set a version tag (SetModelVersionTag)", SET_VERSION_TAG,
              lambda rng, names: {"input": {"name": rng.choice(names), "version": rng.randint(1, 10),
                                            "key": "reviewed", "value": str(rng.randrange(10**6))}},
              writes=True),
    Operation("create_version", "create a version with tags and metrics (CreateModelVersion + tags)",
              CREATE_VERSION, lambda rng, names: new_version_input(rng, names), writes=True),
    Operation("models_page", "page of 100 models (SearchRegisteredModels max_results=100)",
              PLAIN_MODELS_PAGE, lambda rng, names: {}),
    Operation("catalogue_page", "catalogue page: 100 models, latest version, metrics, aliases",
              MODELS_PAGE, lambda rng, names: {"after": None}),
]
