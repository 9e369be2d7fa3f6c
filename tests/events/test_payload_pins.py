"""Webhook bodies are a public contract: receivers parse them. A scenario that runs every mutation, and so makes every
event type, goes through the API, and the body each event would be delivered with (services/dispatch.py ``delivery_body``) must equal, byte
for byte after masking what differs per run (event ids, times, row ids), the one pinned in payload_pins.json.

A deliberate change to a payload: rerun with MODELREG_PIN_PAYLOADS=1 to rewrite the file, and say in docs/events.md
and the commit what receivers will see differently.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from app.domain.events import ALL_EVENT_TYPES, DomainEvent
from app.services.dispatch import delivery_body
from tests.artifacts.test_staged_uploads import staged
from tests.audit.test_completeness import ACTIONS
from tests.graphql.test_schema_coverage import ok, seed
from tests.support.client import Api

PINS = Path(__file__).with_name("payload_pins.json")

MORE_CHANGES = """
mutation MoreChanges {
  updateRegisteredModel(input: {name: "m", description: "changed"}) { registeredModel { name } }
  setModelVersionTag(input: {name: "m", version: 1, key: "k", value: "v"}) { modelVersion { version } }
  deleteModelVersionTag(input: {name: "m", version: 1, key: "vt"}) { modelVersion { version } }
  updateModelVersion(input: {name: "m", version: 4, description: "changed"}) { modelVersion { version } }
  deleteModelAlias(input: {name: "m", alias: "stable"}) { alias }
  deleteRegisteredModelTag(input: {name: "m", key: "mt"}) { registeredModel { name } }
  deleteRegisteredModel(input: {name: "doomed"}) { name }
  rollbackProduction(input: {name: "m", reason: "incident 42"}) { restored { version } }
  registerDataset(input: {name: "pinned-data", version: "1"}) { created }
  registerRun(input: {runId: "pinned-run"}) { created }
  registerCodeCommit(input: {repositoryUrl: "https://git.example/r", commitSha: "abcdef1"}) { codeCommit { id } }
  registerExternalNode(input: {name: "feature-store"}) { externalNode { id } }
  setCanaryTraffic(input: {name: "m", environment: "staging", percent: 30}) { deployment { revision } }
  createModelVersion(input: {name: "m"}) { modelVersion { version } }
}
"""
LAST_CHANGES = """
mutation LastChanges($dataset: ID!, $version: ID!, $hook: ID!, $event: ID!) {
  addLineageEdge(input: {kind: EVALUATED_ON, upstreamId: $dataset, downstreamId: $version}) { created }
  createWebhook(input: {url: "https://ci.example.com/hook", secret: "another-secret-0123"}) { webhook { id } }
  updateWebhook(input: {id: $hook, description: "seed hook"}) { webhook { id } }
  redeliverWebhookEvent(input: {webhookId: $hook, eventId: $event}) { delivery { status } }
  promoteCanary(input: {name: "m", environment: "qa"}) { deployment { revision } }
  abortCanary(input: {name: "m", environment: "staging"}) { deployment { revision } }
  removeShadow(input: {name: "m", environment: "staging", version: 1}) { deployment { revision } }
  rollbackDeployment(input: {name: "m", environment: "staging"}) { deployment { revision } }
  undeploy(input: {name: "m", environment: "staging"}) { deployment { revision } }
}
"""
DELETE_WEBHOOK = "mutation DeleteWebhook($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId } }"
DELETE_VERSION = 'mutation { deleteModelVersion(input: {name: "m", version: 5}) { version } }'
REJECT = """
mutation Reject($id: ID!) { rejectTransitionRequest(input: {id: $id, comment: "not yet"}) { transitionRequest { status } } }
"""
CANCEL = "mutation Cancel($id: ID!) { cancelTransitionRequest(input: {id: $id}) { transitionRequest { status } } }"
PING = "mutation Ping($id: ID!) { pingWebhook(input: {id: $id}) { delivery { status } } }"
STAGED_VERSION = """
mutation Staged($files: [ArtifactFileInput!]) {
  createModelVersion(input: {name: "staged", createModelIfMissing: true, files: $files}) {
    modelVersion { version status }
  }
}
"""
DATA = b"pinned weights"

# What differs from run to run: event ids, times, and row ids (PostgreSQL spends sequence values on inserts that
# find a conflict, SQLite does not).
ROW_ID = re.compile(r'("(?:id|dataset|run|webhookId|parent|node)":)"?\d+"?')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


async def run_scenario(api: Api, app: object) -> None:
    seeded = await seed(api)
    await ok(api, MORE_CHANGES, None, "mlops", sub="pinner")
    await ok(api, REJECT, {"id": seeded["reject_id"]}, "approver", sub="pin-approver")
    await ok(api, DELETE_VERSION, None, "mlops", sub="pinner")
    await ok(api, CANCEL, {"id": seeded["cancel_id"]}, "data-scientist", sub="tester")
    await ok(api, PING, {"id": seeded["webhook_id"]}, "mlops", sub="pinner")
    last = await ok(api, LAST_CHANGES, {"dataset": seeded["dataset_id"], "version": seeded["version_id"],
                                        "hook": seeded["webhook_id"], "event": seeded["event_id"]}, "mlops", sub="pinner")
    await ok(api, DELETE_WEBHOOK, {"id": last["createWebhook"]["webhook"]["id"]}, "mlops", sub="pinner")
    digest = "sha256:" + hashlib.sha256(DATA).hexdigest()
    for declared in (digest, "sha256:" + hashlib.sha256(b"other").hexdigest()):  # READY, then FAILED
        upload_id = await staged(api, DATA)
        await ok(api, STAGED_VERSION, {"files": [{"path": "w.bin", "uploadId": upload_id, "digest": declared,
                                                  "size": len(DATA)}]}, "mlops", sub="pinner")
        await app.state.verifier.wait()


def masked(body: bytes) -> str:
    """The body with event ids, times and row ids replaced by placeholders."""
    return ROW_ID.sub(r'\1"<id>"', TIME.sub("<time>", UUID.sub("<uuid>", body.decode())))


async def delivered_bodies(app: object) -> list[tuple[str, str]]:
    async with app.state.uow(write=False) as uow:
        events: list[DomainEvent] = await uow.events.after(0, 10_000)
    return [(event.type, masked(delivery_body(event))) for event in events]


async def test_every_event_type_keeps_its_pinned_body(api, app):
    await run_scenario(api, app)
    async with app.state.uow(write=False) as uow:
        actions = {event.draft.action for event in await uow.audit.chunk(0, 10_000) if event.draft.outcome == "ok"}
    assert set(ACTIONS.values()) <= actions, "the scenario should run every mutation"
    bodies = await delivered_bodies(app)
    assert {event_type for event_type, _ in bodies} == set(ALL_EVENT_TYPES)
    if os.environ.get("MODELREG_PIN_PAYLOADS") == "1":
        PINS.write_text(json.dumps([{"type": t, "body": b} for t, b in bodies], indent=1) + "\n", encoding="utf-8")
    pinned = [(entry["type"], entry["body"]) for entry in json.loads(PINS.read_text(encoding="utf-8"))]
    assert [t for t, _ in bodies] == [t for t, _ in pinned], "the scenario's events changed order or kind"
    for (event_type, body), (_, expected) in zip(bodies, pinned, strict=True):
        assert body == expected, f"the {event_type} body changed"
