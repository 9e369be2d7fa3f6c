"""Direct resolvers (app/graphql/direct_resolvers.py) answer exactly what Strawberry's wrapper answers: the same
documents against an application built without them give the same bodies, errors included."""

from __future__ import annotations

import json
import random

from app.graphql import direct_resolvers
from app.graphql.schema import build_schema
from benchmarks.scenarios import new_version_input
from tests.support.client import api_with_settings

SEED = [
    'createModelVersion(input: {name: "direct/a", createModelIfMissing: true, tags: [{key: "team", value: "x"}], '
    'metrics: [{name: "auc", value: 0.9, dataset: "validation", step: 2}]}) { modelVersion { version } }',
    'createModelVersion(input: {name: "direct/a", metrics: [{name: "auc", value: 0.95}], params: [{name: "lr", '
    'value: "0.1"}], run: {tracker: MLFLOW, runId: "run-1"}, code: {repositoryUrl: "https://git.example.com/r", '
    'commitSha: "%s"}}) { modelVersion { version } }' % ("a" * 40),
    'createModelVersion(input: {name: "direct/b", createModelIfMissing: true, parents: [{uri: "models:/direct/a/1"}]}) '
    "{ modelVersion { version } }",
    'setModelAlias(input: {name: "direct/a", alias: "stable", version: 1}) { modelAlias { alias } }',
    'setRegisteredModelTag(input: {name: "direct/a", key: "owner", value: "ml"}) { registeredModel { name } }',
    'requestStageTransition(input: {name: "direct/a", version: 2, toStage: STAGING, comment: "try"}) '
    "{ transitionRequest { id } }",
]

DOCUMENTS = [
    # the catalogue's relations, with and without arguments (latestVersion(stage:) converts an enum argument; a null
    # or an omitted stage is None without conversion)
    """{ registeredModels(first: 10) { edges { node { name tags { key value } aliases { alias version }
         latestVersion { version metrics { name value dataset step } tags { key value } aliases { alias } }
         staging: latestVersion(stage: STAGING) { version } none: latestVersion(stage: PRODUCTION) { version }
         null: latestVersion(stage: null) { version } } } } }""",
    """{ registeredModel(name: "direct/b") { latestVersion { version lineage(direction: UPSTREAM) {
         truncated mermaid dot nodes { __typename ... on ModelVersion { name version } } edges { relation } } } } }""",
    """{ transitionRequests(first: 5) { nodes { kind name version fromStage toStage status comment requestedBy
         { subject } requiredApprovals approvals { nodes { decision } } } } }""",
    "{ viewer { subject roles } }",
    # fields answered by resolvers taking the parent as ``root``
    """{ registeredModel(name: "direct/a") { versions(first: 5) { nodes { version params { name value }
         run { tracker runId } code { repositoryUrl commitSha } artifact { uri } createdBy { subject } } } } }""",
    # errors raised under a direct resolver's parent keep their message, path and locations
    '{ registeredModel(name: "direct/a") { latestVersion(stage: NOT_A_STAGE) { version } } }',
    '{ modelVersion(name: "direct/a", version: 99) { version tags { key } } }',
]


async def test_direct_resolvers_answer_what_strawberrys_wrapper_answers(api, settings, monkeypatch):
    for mutation in SEED:
        await api.ok("mutation { %s }" % mutation, None, "mlops")
    direct = [await api.gql(document, None, "mlops") for document in DOCUMENTS]
    monkeypatch.setattr(direct_resolvers, "install", lambda schema: [])
    async with api_with_settings(settings, api) as wrapped_api:
        wrapped = [await wrapped_api.gql(document, None, "mlops") for document in DOCUMENTS]
    for document, with_direct, with_wrapper in zip(DOCUMENTS, direct, wrapped, strict=True):
        assert with_direct == with_wrapper, document
    assert any("errors" in body for body in direct) and all("data" in body for body in direct[:5])
    assert '"runId": "run-1"' in json.dumps(direct[4]) and '"name": "lr"' in json.dumps(direct[4])


# Mutations whose inputs take every shape of argument (nested inputs, lists of inputs, enums, custom scalars, nulls),
# and refused ones; ``{n}`` makes each application's objects its own.
MUTATIONS = [
    (
        """mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) {
             modelVersion { name version stage description flavor params { name value } metrics { name value dataset
             step } tags { key value } run { tracker runId } code { commitSha } artifact { uri digest size } } } }""",
        {"input": {**new_version_input(random.Random(5), ["direct/m{n}"])["input"], "description": None}},
    ),
    (
        'mutation { setModelVersionTag(input: {name: "direct/m{n}", version: 1, key: "k", value: "v"}) '
        "{ modelVersion { version tags { key value } } } }",
        None,
    ),
    (
        'mutation { updateModelVersion(input: {name: "direct/m{n}", version: 1, description: "d"}) '
        "{ modelVersion { description } } }",
        None,
    ),
    (
        'mutation { requestStageTransition(input: {name: "direct/m{n}", version: 1, toStage: STAGING}) '
        "{ transitionRequest { toStage status } } }",
        None,
    ),
    ('mutation { setModelVersionTag(input: {name: "direct/m{n}", version: 1, key: "bad key\\n", value: "v"}) '
     "{ modelVersion { version } } }", None),  # refused by validation
    ('mutation { createModelVersion(input: {name: "direct/none{n}"}) { modelVersion { version } } }', None),
]


async def test_mutations_answer_what_strawberrys_wrapper_answers(api, settings, monkeypatch):
    """Mutations' resolvers are asynchronous and take inputs: converted by ArgumentConverters, with the same
    answers and errors as through Strawberry's wrapper."""

    async def run(client, n):
        bodies = []
        for document, variables in MUTATIONS:
            given = json.loads(json.dumps(variables).replace("{n}", n)) if variables else None
            bodies.append(json.dumps(await client.gql(document.replace("{n}", n), given, "mlops")).replace(n, "N"))
        return bodies

    direct = await run(api, "alpha")
    monkeypatch.setattr(direct_resolvers, "install", lambda schema: [])
    async with api_with_settings(settings, api) as wrapped_api:
        wrapped = await run(wrapped_api, "bravo")
    assert direct == wrapped
    assert sum('"errors"' in body for body in direct) == 2 and '"name": "learning_rate"' in direct[0]


def test_only_plain_resolvers_are_replaced():
    changed = set(direct_resolvers.install(build_schema()))  # installed again: the names it replaces
    assert {"RegisteredModel.tags", "RegisteredModel.latestVersion", "ModelVersion.metrics"} <= changed
    assert {"ModelVersion.run", "ModelVersion.params", "ModelVersion.createdBy"} <= changed  # root parameters
    assert {"RegisteredModel.versions", "Query.registeredModels", "Mutation.createModelVersion"} <= changed  # async
    assert not any(name.startswith("Subscription.") for name in changed)
