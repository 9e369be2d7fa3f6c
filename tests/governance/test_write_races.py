"""The race suite (issue 14): every pair of conflicting mutations on one object answers OK, CONFLICT, NOT_FOUND or
FAILED_PRECONDITION, never INTERNAL, and leaves the registry consistent.

Each pair runs CALLERS concurrent calls through the in-process API, ROUNDS times on fresh objects; after each round
the invariants hold: at most one PRODUCTION version per model, every alias points at an existing version, the audit
chain verifies. Found on PostgreSQL before: 10 parallel first-time upserts of one alias or tag key answered 8-9
INTERNAL (unique violation); deleting a version while an alias was set on it 9 of 10 (foreign key violation), while
its request was approved 4 of 6 (the request gone after the lock); 20 parallel rollbacks all succeeded and
flip-flopped; deleting a parent version while children were created lost their DERIVED_FROM edges or failed inside;
deleting a webhook while events fanned out to it deadlocked. PostgreSQL runs 20 callers x 5 rounds; SQLite
serialises writers, so 5 x 2 shows the same answers there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.domain.audit import IntegrityReport
from app.services.audit_log import verify_chain
from tests.governance.conftest import call, ok
from tests.governance.test_transitions import APPROVE, register, request, to_production
from tests.support.client import Api

CREATE = """
mutation($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { version } }
}
"""
CREATE_IN = """
mutation($name: String!) { createModelVersion(input: {name: $name}) { modelVersion { version } } }
"""
CREATE_CHILD = """
mutation($name: String!, $parent: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true, parents: [{uri: $parent}]}) {
    modelVersion { version }
  }
}
"""
SET_ALIAS = """
mutation($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(input: {name: $name, alias: $alias, version: $version}) { modelAlias { alias version } }
}
"""
SET_MODEL_TAG = """
mutation($name: String!, $value: String!) {
  setRegisteredModelTag(input: {name: $name, key: "fresh", value: $value}) { registeredModel { name } }
}
"""
SET_VERSION_TAG = """
mutation($name: String!, $value: String!) {
  setModelVersionTag(input: {name: $name, version: 1, key: "fresh", value: $value}) { modelVersion { version } }
}
"""
DELETE_VERSION = """
mutation($name: String!, $version: Int!) {
  deleteModelVersion(input: {name: $name, version: $version}) { deletedId }
}
"""
DELETE_MODEL = "mutation($name: String!) { deleteRegisteredModel(input: {name: $name}) { deletedId } }"
ROLLBACK_FROM = """
mutation($name: String!, $from: Int) {
  rollbackProduction(input: {name: $name, reason: "error rate doubled", fromVersion: $from}) {
    restored { version } archived { version }
  }
}
"""
DEPLOY = """
mutation($name: String!, $version: Int!, $expected: Int) {
  deploy(input: {name: $name, environment: "dev", version: $version, expectedRevision: $expected}) {
    deployment { revision }
  }
}
"""
CREATE_WEBHOOK = """
mutation($url: String!) { createWebhook(input: {url: $url, secret: "race-secret-0123456789"}) { webhook { id } } }
"""
CREATE_WITH_ID = """
mutation($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { id } }
}
"""
ADD_EDGE = """
mutation($up: ID!, $down: ID!) {
  addLineageEdge(input: {kind: DERIVED_FROM, upstreamId: $up, downstreamId: $down}) { created }
}
"""
PING_WEBHOOK = "mutation($id: ID!) { pingWebhook(input: {id: $id}) { delivery { status } } }"
DELETE_WEBHOOK = "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId } }"
STATE = """
query($name: String!) {
  registeredModel(name: $name) {
    tags { key value } aliases { alias version }
    versions(first: 100) {
      nodes { version stage tags { key value } reproducibility { parents { modelVersion { version } } } }
    }
  }
}
"""
EVERYTHING = """
query($after: String) {
  registeredModels(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { name aliases { alias version } versions(first: 100) { nodes { version stage } } }
  }
}
"""
DEPLOYMENT = 'query($name: String!) { deployment(name: $name, environment: "dev") { revision entries { version } } }'
ALLOWED = {"OK", "CONFLICT", "NOT_FOUND", "FAILED_PRECONDITION"}


def codes(bodies: list[dict]) -> list[str]:
    return [body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies]


async def burst(api: Api, calls: list[Awaitable[dict]]) -> tuple[list[str], list[dict]]:
    bodies = list(await asyncio.gather(*calls))
    return codes(bodies), bodies


def racer(api: Api, document: str, variables: dict[str, Any], role: str = "mlops", sub: str = "racer"):
    return call(api, document, variables, role, sub)


async def state(api: Api, name: str) -> dict | None:
    return (await ok(api, STATE, {"name": name}, "mlops", "reader"))["registeredModel"]


# Each pair sets up fresh objects named after ``tag``, runs ``callers`` concurrent calls and checks what that pair
# promises; the invariants of the whole registry are checked after it by the test.


async def first_time_upserts(api: Api, tag: str, callers: int, document: str) -> list[str]:
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    variables = [{"name": tag, "alias": "fresh", "version": 1, "value": str(i)} for i in range(callers)]
    found, _ = await burst(api, [racer(api, document, each) for each in variables])
    assert found == ["OK"] * callers, found
    now = await state(api, tag)
    assert now is not None
    if document is SET_ALIAS:
        assert now["aliases"] == [{"alias": "fresh", "version": 1}]
    elif document is SET_MODEL_TAG:
        assert [t["key"] for t in now["tags"]] == ["fresh"]
    else:
        assert [t["key"] for t in now["versions"]["nodes"][0]["tags"]] == ["fresh"]
    return found


async def delete_version_vs_alias(api: Api, tag: str, callers: int) -> list[str]:
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    calls = [racer(api, DELETE_VERSION, {"name": tag, "version": 2})]
    calls += [racer(api, SET_ALIAS, {"name": tag, "alias": f"a{i}", "version": 2}) for i in range(callers - 1)]
    found, _ = await burst(api, calls)
    # Either the version went first (every later alias NOT_FOUND) or an alias did (the delete refused).
    assert found[0] in ("OK", "FAILED_PRECONDITION"), found
    now = await state(api, tag)
    assert now is not None
    if found[0] == "OK":
        assert 2 not in {node["version"] for node in now["versions"]["nodes"]} and now["aliases"] == []
    else:
        assert {alias["version"] for alias in now["aliases"]} == {2}
    return found


async def delete_version_vs_approve(api: Api, tag: str, callers: int) -> list[str]:
    await register(api, tag, count=2)
    pending = (await request(api, 2, "STAGING", name=tag))["id"]
    calls = [racer(api, DELETE_VERSION, {"name": tag, "version": 2})]
    calls += [call(api, APPROVE, {"id": pending}, "approver", f"approver-{i}") for i in range(callers - 1)]
    found, _ = await burst(api, calls)
    assert found[0] in ("OK", "FAILED_PRECONDITION"), found
    return found


async def rollback_from_version(api: Api, tag: str, callers: int) -> list[str]:
    await register(api, tag, count=2)
    await to_production(api, 1, tag)
    await to_production(api, 2, tag)
    calls = [call(api, ROLLBACK_FROM, {"name": tag, "from": 2}, "mlops", f"oncall-{i}") for i in range(callers)]
    found, _ = await burst(api, calls)
    assert sorted(found) == ["FAILED_PRECONDITION"] * (callers - 1) + ["OK"], found
    stages = {node["version"]: node["stage"] for node in (await state(api, tag) or {})["versions"]["nodes"]}
    assert stages == {1: "PRODUCTION", 2: "ARCHIVED"}, stages
    return found


async def competing_production_approvals(api: Api, tag: str, callers: int) -> list[str]:
    await register(api, tag, count=3)
    for number in (1, 2, 3):
        staging = await request(api, number, "STAGING", name=tag)
        if staging["status"] != "APPLIED":
            await call(api, APPROVE, {"id": staging["id"]}, "approver", "stager")
    pending = [(await request(api, number, "PRODUCTION", name=tag))["id"] for number in (2, 3)]
    calls = [call(api, APPROVE, {"id": pending[i % 2]}, "approver", f"approver-{i}") for i in range(callers)]
    found, _ = await burst(api, calls)
    assert "OK" in found, found
    return found


async def delete_model_vs_create_version(api: Api, tag: str, callers: int) -> list[str]:
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    calls = [racer(api, CREATE_IN, {"name": tag}) for _ in range(callers - 1)]
    half = len(calls) // 2
    found, _ = await burst(api, [*calls[:half], racer(api, DELETE_MODEL, {"name": tag}), *calls[half:]])
    deletion = found[half]
    assert deletion in ("OK", "FAILED_PRECONDITION"), found
    if deletion == "OK":
        assert await state(api, tag) is None
    return found


async def delete_parent_vs_create_child(api: Api, tag: str, callers: int) -> list[str]:
    """The child either sees its parent deleted (NOT_FOUND naming it, nothing created) or the deletion is refused
    because the child derives from it; before, the child's DERIVED_FROM edge went with the parent (cascade)."""
    parent_model, child_model = f"{tag}/parent", f"{tag}/child"
    await ok(api, CREATE, {"name": parent_model}, "mlops", "racer")
    await ok(api, CREATE, {"name": parent_model}, "mlops", "racer")
    parent = f"models:/{parent_model}/2"
    children = [
        call(api, CREATE_CHILD, {"name": (child_model, parent_model)[i % 2], "parent": parent}, "mlops", f"child-{i}")
        for i in range(callers - 1)
    ]
    found, bodies = await burst(api, [racer(api, DELETE_VERSION, {"name": parent_model, "version": 2}), *children])
    assert set(found[1:]) <= {"OK", "NOT_FOUND"}, found
    created = found[1:].count("OK")
    if found[0] == "OK":  # the parent went first: every child is NOT_FOUND naming it
        assert created == 0, found
        messages = [body["errors"][0]["message"] for body in bodies[1:]]
        assert all("version 2" in message or f"{parent_model}/2" in message for message in messages), messages
    else:
        assert found[0] == "FAILED_PRECONDITION" and created >= 1, found
    edges = 0
    for name in (parent_model, child_model):
        for node in ((await state(api, name)) or {"versions": {"nodes": []}})["versions"]["nodes"]:
            if node["version"] > 2 or name == child_model:
                assert [p["modelVersion"]["version"] for p in node["reproducibility"]["parents"]] == [2], node
                edges += 1
    assert edges == created, (edges, found)
    return found


async def delete_version_vs_add_edge(api: Api, tag: str, callers: int) -> list[str]:
    """addLineageEdge from a version being deleted: the edge checks and the deletion's check take the graph lock."""
    ids = [(await ok(api, CREATE_WITH_ID, {"name": tag}, "mlops", "racer"))["createModelVersion"]["modelVersion"]["id"]
           for _ in range(3)]
    calls = [racer(api, ADD_EDGE, {"up": ids[1], "down": ids[2]}) for _ in range(callers - 1)]
    half = len(calls) // 2
    found, _ = await burst(api, [*calls[:half], racer(api, DELETE_VERSION, {"name": tag, "version": 2}), *calls[half:]])
    return found


async def delete_webhook_vs_outbox(api: Api, tag: str, callers: int) -> list[str]:
    """Deleting a webhook while events fan out to it deadlocked (row lock against the audit chain's lock); a ping
    of a webhook deleted meanwhile is NOT_FOUND."""
    hook = (await ok(api, CREATE_WEBHOOK, {"url": f"https://hooks.example.com/{tag}"}, "mlops", "ops"))[
        "createWebhook"]["webhook"]["id"]
    writes = [
        racer(api, CREATE, {"name": f"{tag}/{i % 3}"}) if i % 2 else racer(api, PING_WEBHOOK, {"id": hook})
        for i in range(callers - 1)
    ]
    half = len(writes) // 2
    found, _ = await burst(api, [*writes[:half], racer(api, DELETE_WEBHOOK, {"id": hook}), *writes[half:]])
    creates = [code for i, code in enumerate(found[:half] + found[half + 1:]) if i % 2]
    pings = [code for i, code in enumerate(found[:half] + found[half + 1:]) if not i % 2]
    assert found[half] == "OK" and set(creates) == {"OK"} and set(pings) <= {"OK", "NOT_FOUND"}, found
    return found


async def deploy_with_expected_revision(api: Api, tag: str, callers: int) -> list[str]:
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    await ok(api, CREATE, {"name": tag}, "mlops", "racer")
    await ok(api, DEPLOY, {"name": tag, "version": 1, "expected": 0}, "mlops", "racer")
    calls = [racer(api, DEPLOY, {"name": tag, "version": 1 + i % 2, "expected": 1}) for i in range(callers)]
    found, _ = await burst(api, calls)
    assert sorted(found) == ["FAILED_PRECONDITION"] * (callers - 1) + ["OK"], found
    deployment = (await ok(api, DEPLOYMENT, {"name": tag}, "mlops", "reader"))["deployment"]
    assert deployment["revision"] == 2, deployment
    return found


@dataclass(frozen=True)
class Pair:
    name: str
    run: Callable[[Api, str, int], Awaitable[list[str]]]


def upserts(document: str) -> Callable[[Api, str, int], Awaitable[list[str]]]:
    async def run(api: Api, tag: str, callers: int) -> list[str]:
        return await first_time_upserts(api, tag, callers, document)

    return run


PAIRS = [
    Pair("first-time alias", upserts(SET_ALIAS)),
    Pair("first-time model tag", upserts(SET_MODEL_TAG)),
    Pair("first-time version tag", upserts(SET_VERSION_TAG)),
    Pair("delete version vs setModelAlias", delete_version_vs_alias),
    Pair("delete version vs approve", delete_version_vs_approve),
    Pair("rollbackProduction fromVersion", rollback_from_version),
    Pair("competing PRODUCTION approvals", competing_production_approvals),
    Pair("deleteModel vs createModelVersion", delete_model_vs_create_version),
    Pair("delete parent vs create child", delete_parent_vs_create_child),
    Pair("delete version vs addLineageEdge", delete_version_vs_add_edge),
    Pair("delete webhook vs outbox", delete_webhook_vs_outbox),
    Pair("deploy with expectedRevision", deploy_with_expected_revision),
]


def sizes(database_url: str) -> tuple[int, int]:
    """(callers, rounds): 20 x 5 on PostgreSQL; SQLite serialises writers, so fewer show the same answers."""
    return (20, 5) if database_url.startswith("postgresql") else (5, 2)


class Chain:
    """The audit chain verified as it grows: each check feeds the events appended since the last one to the same
    report (``verify_chain``'s computation, without re-reading the whole chain every round)."""

    def __init__(self, app: Any) -> None:
        self._uow, self.report, self._after = app.state.uow, IntegrityReport(), 0

    async def verify(self) -> None:
        while True:
            async with self._uow(write=False) as work:
                events = await work.audit.chunk(self._after, 5000)
            if not events:
                break
            self.report.feed(events)
            assert self.report.ok, self.report
            self._after = events[-1].seq


async def check_invariants(api: Api, chain: Chain) -> None:
    """At most one PRODUCTION version per model, every alias on an existing version, the audit chain intact."""
    after = None
    while True:
        page = (await ok(api, EVERYTHING, {"after": after}, "mlops", "reader"))["registeredModels"]
        for model in page["nodes"]:
            versions = {node["version"]: node["stage"] for node in model["versions"]["nodes"]}
            assert list(versions.values()).count("PRODUCTION") <= 1, (model["name"], versions)
            for alias in model["aliases"]:
                assert alias["version"] in versions, (model["name"], alias)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    await chain.verify()


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
async def test_conflicting_writes_never_fail_inside(api: Api, app, database_url: str, pair: Pair):
    callers, rounds = sizes(database_url)
    chain = Chain(app)
    for round_number in range(rounds):
        found = await pair.run(api, f"race/{round_number}", callers)
        assert len(found) == callers, found
        assert set(found) <= ALLOWED, (pair.name, round_number, found)
        await check_invariants(api, chain)
    assert (await verify_chain(app.state.uow)).ok  # and once whole
