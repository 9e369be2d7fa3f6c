"""The permission matrix with scopes (issue 18): every operation of tests/graphql/test_schema_coverage.py's
OPERATIONS (so every root field of the schema) x every role x {in scope, out of scope, global}, on the same seed
data moved into the namespace ``team-a/``. Expectations come from the policy (``holds``) and two rules of the model:
a role held within a namespace grants its permissions there and below, never the registry-wide ones (webhooks,
audit, import); reading the catalogue stays open to every role wherever held. The few operations that act on no
model are named below with the reason; a new operation is in the matrix, and refused out of scope, by default.
A refused call fails with one FORBIDDEN naming the permission and writes nothing. With MODELREG_READ_SCOPE=scoped,
every read operation of the matrix runs again (test_read_with_scoped_reads): in scope as above, out of scope
showing nothing of the namespace."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.auth.authorizer import OPEN_READS, REGISTRY_WIDE
from app.config import Settings
from app.domain.identity import Permission as P
from tests.auth.test_policy import MATRIX
from tests.graphql.test_schema_coverage import (
    OPERATIONS,
    SEED,
    SEED_APPROVALS,
    SEED_OWN_REQUEST,
    assert_outcome,
    gql,
    holds,
    ok,
    root_fields,
    stored,
)
from tests.support.client import Api, api_with_settings
from tests.support.databases import DatabaseImage, capture, restore, wipe

NAMESPACE = "team-a/"
ELSEWHERE = "team-b/"
ROLES = ("data-scientist", "mlops", "approver", "auditor", "ci")

# Operations that act on no model (shared objects), so a role held in any namespace may do them.
NOT_ABOUT_ONE_MODEL: dict[str, str] = {
    "createArtifactUpload": "staged content belongs to no model until a version in a namespace names it",
    "registerDataset": "datasets are shared lineage nodes",
    "registerRun": "runs are shared lineage nodes",
    "registerCodeCommit": "code commits are shared lineage nodes",
    "registerExternalNode": "external nodes are shared lineage nodes",
}


def in_namespace(document: str) -> str:
    """The document with the seed's models ("m", "doomed") and the new model in ``team-a/``."""
    document = re.sub(r'name: "(m|doomed|new-model)"', rf'name: "{NAMESPACE}\1"', document)
    return document.replace('"models:/m@', f'"models:/{NAMESPACE}m@')


_images: dict[str, tuple[DatabaseImage, dict[str, Any]]] = {}


async def seed_in_namespace(api: Api) -> dict[str, Any]:
    """The seed of test_schema_coverage.py with its models in ``team-a/``, written by global roles."""
    if api.database_url in _images:
        image, seeded = _images[api.database_url]
        restore(api.database_url, image)
        return dict(seeded)
    wipe(api.database_url)
    data = await ok(api, in_namespace(SEED), None, "mlops", sub="seeder")
    approvals = {"p1": data["p1"]["transitionRequest"]["id"], "p3": data["p3"]["transitionRequest"]["id"]}
    await ok(api, in_namespace(SEED_APPROVALS), approvals, "approver", sub="seed-approver")
    own = await ok(api, in_namespace(SEED_OWN_REQUEST), None, "data-scientist", sub="tester")
    v1 = data["v1"]["modelVersion"]
    hook = data["hook"]["webhook"]["id"]
    event = (await ok(api, "query($id: ID!) { webhook(id: $id) { deliveries(first: 1) { nodes { eventId } } } }",
                      {"id": hook}, "mlops"))["webhook"]["deliveries"]["nodes"][0]["eventId"]
    seeded = {"model_id": v1["model"]["id"], "version_id": v1["id"], "webhook_id": hook, "event_id": event,
              "dataset_id": v1["reproducibility"]["datasets"][0]["dataset"]["id"], "applied_id": approvals["p1"],
              "approve_id": data["p2"]["transitionRequest"]["id"], "reject_id": data["c1"]["transitionRequest"]["id"],
              "cancel_id": own["requestAliasTransition"]["transitionRequest"]["id"]}
    _images[api.database_url] = (capture(api.database_url), seeded)
    return dict(seeded)


def expected(name: str, role: str, column: str) -> bool:
    permission = OPERATIONS[name].permission
    assert permission is not None
    if not holds(role, permission):
        return False
    if column == "global":
        return True
    if permission in REGISTRY_WIDE:
        return False
    return column == "in scope" or permission in OPEN_READS or name in NOT_ABOUT_ONE_MODEL


def caller(role: str, column: str) -> str:
    return {"global": role, "in scope": f"{role}@{NAMESPACE}", "out of scope": f"{role}@{ELSEWHERE}"}[column]


@pytest.mark.backend_independent
def test_every_operation_on_the_seed_names_only_models_in_the_namespace():
    for name, op in OPERATIONS.items():
        document = in_namespace(op.document)
        assert not re.search(r'name: "(m|doomed|new-model)"|models:/m\b', document), name
    assert set(NOT_ABOUT_ONE_MODEL) <= set(OPERATIONS)
    assert all(root_fields()[name] == "Mutation" for name in NOT_ABOUT_ONE_MODEL)


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items() if op.permission is not None))
async def test_field_with_scopes(api, name):
    """The field as each role held globally, within team-a/ (where the models are) and within team-b/."""
    op, is_mutation = OPERATIONS[name], root_fields()[name] == "Mutation"
    document = in_namespace(op.document)
    seeded, dirty, problems = await seed_in_namespace(api), False, []
    before = stored(api)
    calls = [(role, column) for role in ROLES for column in ("global", "in scope", "out of scope")]
    for role, column in sorted(calls, key=lambda call: expected(name, *call)):
        allowed = expected(name, role, column)
        if dirty:
            seeded, dirty = await seed_in_namespace(api), False
        body = await gql(api, document, op.variables(seeded), caller(role, column))
        dirty = is_mutation and not body.get("errors")
        try:
            assert_outcome(body, name, allowed)
            if not allowed:
                assert stored(api) == before, "a denied call changed the data"
        except AssertionError as failure:
            problems.append(f"as {caller(role, column)} ({column}, {'allowed' if allowed else 'denied'}): {failure}")
    assert not problems, "\n".join(problems)


# What viewer tells a frontend about scoped roles.

VIEWER_IN_SCOPE = """
query Viewer($model: ID!) {
  viewer {
    roles permissions
    anywhere: can(action: "write", resource: "model")
    here: can(action: "write", resource: "model", namespace: "team-a/")
    nested: can(action: "write", resource: "model", namespace: "team-a/sub/x")
    there: can(action: "write", resource: "model", namespace: "team-b/")
    root: can(action: "write", resource: "model", namespace: "")
    webhooks: can(action: "manage", resource: "webhook")
    model: can(action: "write", resource: "model", id: $model)
    deleteModel: can(action: "delete", resource: "model", id: $model)
  }
}
"""
BAD_NAMESPACE = 'query { viewer { can(action: "write", resource: "model", namespace: "a//b/") } }'


async def test_viewer_answers_with_the_scopes(api):
    seeded = await seed_in_namespace(api)
    inside = await ok(api, VIEWER_IN_SCOPE, {"model": seeded["model_id"]}, f"data-scientist@{NAMESPACE}")
    assert inside["viewer"] == {
        "roles": [f"data-scientist@{NAMESPACE}"],
        "permissions": sorted(p.value for p in MATRIX["data-scientist"]),
        "anywhere": True, "here": True, "nested": True, "there": False, "root": False, "webhooks": False,
        "model": True, "deleteModel": False,
    }
    outside = (await ok(api, VIEWER_IN_SCOPE, {"model": seeded["model_id"]}, f"mlops@{ELSEWHERE}"))["viewer"]
    assert (outside["here"], outside["there"], outside["webhooks"], outside["model"], outside["deleteModel"]) == (
        False, True, False, False, False)
    body = await gql(api, BAD_NAMESPACE, None, "mlops")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


# Scoped reads (MODELREG_READ_SCOPE=scoped): every read operation of the matrix, as each role holding its
# permission within team-a/ (where the seed is) and within team-b/. In scope it answers as in the matrix above; out
# of scope it is not refused but shows nothing of team-a/: no name, no id of the seed, at most NOT_FOUND errors.

READS = frozenset({P.REGISTRY_READ, P.ARTIFACT_READ, P.AUDIT_READ})
# Reads that a role within a namespace may not make at all, with the reason.
GLOBAL_READS: dict[str, str] = {"auditIntegrity": "the hash chain links every event: checking it reads them all"}
SHARED_SEED = {"dataset_id"}  # datasets are shared lineage nodes: readable by every role


@pytest.fixture
async def scoped_api(api: Api, settings: Settings) -> AsyncIterator[Api]:
    async with api_with_settings(settings, api, read_scope="scoped") as scoped:
        yield scoped


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items()
                                        if op.permission in READS and root_fields()[n] == "Query"))
async def test_read_with_scoped_reads(scoped_api, name):
    op = OPERATIONS[name]
    document = in_namespace(op.document)
    seeded = await seed_in_namespace(scoped_api)
    seed_ids = {str(value) for key, value in seeded.items() if key not in SHARED_SEED}
    problems = []
    for role in ROLES:
        if not holds(role, op.permission):
            continue
        inside = await gql(scoped_api, document, op.variables(seeded), f"{role}@{NAMESPACE}")
        try:
            assert_outcome(inside, name, name not in GLOBAL_READS)
            if name in GLOBAL_READS:
                assert_outcome(await gql(scoped_api, document, op.variables(seeded), role), name, True)
        except AssertionError as failure:
            problems.append(f"as {role}@{NAMESPACE}: {failure}")
        if name in GLOBAL_READS:
            continue
        outside = await gql(scoped_api, document, op.variables(seeded), f"{role}@{ELSEWHERE}")
        shown = json.dumps(outside.get("data"))
        codes = {error.get("extensions", {}).get("code") for error in outside.get("errors") or []}
        leaked = [seen for seen in (NAMESPACE, *seed_ids) if seen in shown]
        if leaked or not codes <= {"NOT_FOUND"}:
            problems.append(f"as {role}@{ELSEWHERE}: leaked {leaked} or errors {codes}: {outside}")
    assert not problems, "\n".join(problems)
