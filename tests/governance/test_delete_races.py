"""Deleting what a concurrent write is about to reference (issue 14, point 9).

On PostgreSQL, deleting a parent version while its child was being created either failed inside (a foreign key
violation: INTERNAL) or succeeded and took the child's DERIVED_FROM edge with it (cascade); deleting a webhook while
an outbox write added a delivery for it could deadlock (the deletion held the webhook row and waited for the audit
chain's lock, the outbox writer held that lock and waited for the webhook row)."""

from __future__ import annotations

import asyncio

from tests.governance.conftest import call, ok

CREATE_CHILD = """
mutation($name: String!, $parent: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true, parents: [{uri: $parent}]}) {
    modelVersion { version }
  }
}
"""
CREATE = """
mutation($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { version } }
}
"""
DELETE_VERSION = """
mutation($name: String!, $version: Int!) { deleteModelVersion(input: {name: $name, version: $version}) { deletedId } }
"""
VERSIONS = """
query($name: String!) {
  registeredModel(name: $name) {
    versions(first: 100) { nodes { version reproducibility { parents { modelVersion { version } } } } }
  }
}
"""
CREATE_WEBHOOK = """
mutation($url: String!) { createWebhook(input: {url: $url, secret: "race-secret-0123456789"}) { webhook { id } } }
"""
DELETE_WEBHOOK = "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId } }"
CALLERS = 10
ROUNDS = 3


def codes(bodies: list[dict]) -> list[str]:
    return [body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies]


async def test_deleting_a_parent_while_children_are_created_keeps_every_edge(api):
    for round_number in range(ROUNDS):
        parent_model, child_model = f"race/parent-{round_number}", f"race/child-{round_number}"
        await ok(api, CREATE, {"name": parent_model}, "mlops", "racer")
        await ok(api, CREATE, {"name": parent_model}, "mlops", "racer")
        parent = f"models:/{parent_model}/2"
        children = [
            call(api, CREATE_CHILD, {"name": name, "parent": parent}, "mlops", f"child-{i}")
            for i, name in enumerate([child_model, parent_model] * (CALLERS // 2))
        ]
        bodies = await asyncio.gather(call(api, DELETE_VERSION, {"name": parent_model, "version": 2}, "mlops", "d"),
                                      *children)
        found = codes(bodies)
        assert "INTERNAL" not in found, found
        assert set(found[1:]) <= {"OK", "NOT_FOUND"}, found
        created = found[1:].count("OK")
        if found[0] == "OK":
            # The parent went first: every child is NOT_FOUND naming it.
            assert created == 0, found
            messages = [body["errors"][0]["message"] for body in bodies[1:]]
            assert all("version 2" in message or f"{parent_model}/2" in message for message in messages), messages
        else:
            assert found[0] == "FAILED_PRECONDITION" and created >= 1, found
        edges = 0
        for name in (parent_model, child_model):
            state = await call(api, VERSIONS, {"name": name}, "mlops", "reader")
            model = state["data"]["registeredModel"]
            for node in (model or {"versions": {"nodes": []}})["versions"]["nodes"]:
                if node["version"] > 2 or name == child_model:
                    assert [p["modelVersion"]["version"] for p in node["reproducibility"]["parents"]] == [2], node
                    edges += 1
        assert edges == created, (edges, found)


async def test_deleting_a_webhook_while_events_fan_out_to_it_never_deadlocks(api):
    for round_number in range(ROUNDS):
        hook = (await ok(api, CREATE_WEBHOOK, {"url": f"https://hooks.example.com/{round_number}"}, "mlops", "ops"))[
            "createWebhook"]["webhook"]["id"]
        writes = [call(api, CREATE, {"name": f"race/hooked-{round_number}-{i % 3}"}, "mlops", f"w{i}")
                  for i in range(CALLERS)]
        deletion = call(api, DELETE_WEBHOOK, {"id": hook}, "mlops", "ops")
        half = CALLERS // 2
        found = codes(await asyncio.gather(*writes[:half], deletion, *writes[half:]))
        assert found == ["OK"] * (CALLERS + 1), found
