"""The field walk: every root field of the schema is in OPERATIONS with the permission it requires, each such
permission is granted to some role by policies/policy.csv, and each field enforces it. Run as every role, an
allowed call succeeds and a denied one fails with exactly one FORBIDDEN error naming the permission, writing
nothing.

This is the one permission matrix (field x role) of the suite. The module also holds what the other GraphQL test
modules share: OPERATIONS, the seed data, a snapshot of everything stored through the API, a fingerprint of the
database, and calls with tokens minted once per session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from graphql import OperationDefinitionNode, parse, validate

from app.auth.authorizer import CasbinAuthorizer
from app.config import Settings
from app.domain.identity import Permission, Principal
from app.graphql.schema import schema
from tests.support.client import Api
from tests.support.databases import DatabaseImage, capture, fingerprint, restore, wipe

P = Permission
ROLES = ("data-scientist", "mlops", "approver", "auditor", "ci", "nobody")

# Calls. Minting a development token costs ~50 ms (the signing key is read and parsed each time) and these
# tests make hundreds of calls, so each (roles, subject) token is minted once per session.

_tokens: dict[tuple[str, tuple[str, ...], str], str] = {}


def token(api: Api, *roles: str, sub: str = "tester") -> str:
    key = (str(api.data_dir), roles, sub)
    if key not in _tokens:
        _tokens[key] = api.token(*roles, sub=sub)
    return _tokens[key]


async def gql(api: Api, document: str, variables: dict[str, Any] | None = None, *roles: str,
              sub: str = "tester") -> dict[str, Any]:
    """The response body of ``document`` run as a caller with ``roles`` (default mlops)."""
    response = await api.post(document, variables, token=token(api, *(roles or ("mlops",)), sub=sub))
    assert response.status_code == 200, response.text
    return response.json()


async def ok(api: Api, document: str, variables: dict[str, Any] | None = None, *roles: str,
             sub: str = "tester") -> dict[str, Any]:
    """``data`` of a call that must succeed."""
    body = await gql(api, document, variables, *roles, sub=sub)
    assert not body.get("errors"), body["errors"]
    return body["data"]


async def error(api: Api, document: str, variables: dict[str, Any] | None = None, *roles: str,
                sub: str = "tester") -> dict[str, Any]:
    """The one error of a call that must fail."""
    body = await gql(api, document, variables, *roles, sub=sub)
    assert body.get("errors") and len(body["errors"]) == 1, body
    return body["errors"][0]


# Data. Three requests build what every operation needs. Model "m": version 1 (tagged, measured, aliased @stable,
# once in PRODUCTION, now ARCHIVED), version 2 (STAGING, with an open request to PRODUCTION), version 3 (in
# PRODUCTION), version 4 (registered, no document); each of 1-3 has a model card. Open requests: version 2 to
# PRODUCTION and version 1 to @champion (both by "seeder"), version 3 to @champion (by "tester", a data scientist).
# A model "doomed" to delete.

SEED = """
mutation Seed {
  hook: createWebhook(input: {url: "https://hooks.example.com/registry", secret: "seed-secret-0123456789"}) {
    webhook { id }
  }
  v1: createModelVersion(input: {name: "m", createModelIfMissing: true, description: "first",
                                 tags: [{key: "vt", value: "1"}], metrics: [{name: "acc", value: 0.9}],
                                 params: [{name: "lr", value: "0.1"}],
                                 artifact: {uri: "s3://bucket/m/1", size: 10},
                                 run: {tracker: MLFLOW, runId: "seed-run", runUri: "https://mlflow.example/seed"},
                                 datasets: [{dataset: {name: "seed-data", version: "1", uri: "s3://seed"}}]}) {
    modelVersion { id version model { id } reproducibility { datasets { dataset { id } } } }
  }
  v2: createModelVersion(input: {name: "m"}) { modelVersion { version } }
  v3: createModelVersion(input: {name: "m"}) { modelVersion { version } }
  v4: createModelVersion(input: {name: "m"}) { modelVersion { version } }
  tag: setRegisteredModelTag(input: {name: "m", key: "mt", value: "1"}) { registeredModel { name } }
  alias: setModelAlias(input: {name: "m", alias: "stable", version: 1}) { modelAlias { alias } }
  doomed: createRegisteredModel(input: {name: "doomed"}) { registeredModel { name } }
  card1: attachDocument(input: {name: "m", version: 1, kind: MODEL_CARD, title: "Card", markdown: "# m"}) {
    modelDocument { revision }
  }
  card2: attachDocument(input: {name: "m", version: 2, kind: MODEL_CARD, title: "Card", markdown: "# m"}) {
    modelDocument { revision }
  }
  card3: attachDocument(input: {name: "m", version: 3, kind: MODEL_CARD, title: "Card", markdown: "# m"}) {
    modelDocument { revision }
  }
  s1: requestStageTransition(input: {name: "m", version: 1, toStage: STAGING}) { transitionRequest { status } }
  p1: requestStageTransition(input: {name: "m", version: 1, toStage: PRODUCTION}) { transitionRequest { id } }
  s3: requestStageTransition(input: {name: "m", version: 3, toStage: STAGING}) { transitionRequest { status } }
  p3: requestStageTransition(input: {name: "m", version: 3, toStage: PRODUCTION}) { transitionRequest { id } }
  s2: requestStageTransition(input: {name: "m", version: 2, toStage: STAGING}) { transitionRequest { status } }
  p2: requestStageTransition(input: {name: "m", version: 2, toStage: PRODUCTION}) { transitionRequest { id } }
  c1: requestAliasTransition(input: {name: "m", version: 1, alias: "champion"}) { transitionRequest { id } }
  d1: deploy(input: {name: "m", environment: "staging", version: 3}) { deployment { revision } }
  d2: startCanary(input: {name: "m", environment: "staging", version: 4, percent: 10}) { deployment { revision } }
  d3: addShadow(input: {name: "m", environment: "staging", version: 1}) { deployment { revision } }
  d4: deploy(input: {name: "m", environment: "qa", version: 3}) { deployment { revision } }
  d5: startCanary(input: {name: "m", environment: "qa", version: 4, percent: 10}) { deployment { revision } }
  d6: deploy(input: {name: "m", environment: "dev", version: 3}) { deployment { revision } }
}
"""
SEED_APPROVALS = """
mutation SeedApprovals($p1: ID!, $p3: ID!) {
  a1: approveTransitionRequest(input: {id: $p1}) { transitionRequest { status } }
  a3: approveTransitionRequest(input: {id: $p3}) { transitionRequest { status } }
  # p3 was requested before p1 put version 1 in PRODUCTION: it waits at APPROVED until approved again.
  a3again: approveTransitionRequest(input: {id: $p3, comment: "replace version 1"}) { transitionRequest { status } }
}
"""
SEED_OWN_REQUEST = """
mutation SeedOwnRequest {
  requestAliasTransition(input: {name: "m", version: 3, alias: "champion"}) { transitionRequest { id } }
}
"""

# Everything the registry stores that the API shows, to prove that a refused call wrote nothing.
SNAPSHOT = """
query Snapshot {
  registeredModels(first: 100) {
    totalCount
    nodes {
      id name description owner createdAt updatedAt useCase riskTier regulatoryStatus
      tags { key value }
      aliases { id alias version updatedAt updatedBy { subject } }
    }
  }
  transitionRequests(first: 100) {
    totalCount
    nodes {
      id status resolvedBy { subject } resolutionComment gateResults { gate passed }
      approvals(first: 20) { nodes { id decidedBy { subject } decision } }
    }
  }
  datasets(first: 100) { totalCount nodes { id name version digest } }
  staging: deployment(name: "m", environment: "staging") { revision entries { version role trafficPercent } }
  qa: deployment(name: "m", environment: "qa") { revision entries { version role trafficPercent } }
  dev: deployment(name: "m", environment: "dev") { revision entries { version role trafficPercent } }
  sandbox: deployment(name: "m", environment: "sandbox") { revision }
  runs(first: 100) { totalCount nodes { id runId } }
}
"""


async def seed_through_the_api(api: Api) -> dict[str, Any]:
    """Write the seed data with the mutations above; returns the ids the operations need."""
    data = await ok(api, SEED, None, "mlops", sub="seeder")
    approvals = {"p1": data["p1"]["transitionRequest"]["id"], "p3": data["p3"]["transitionRequest"]["id"]}
    await ok(api, SEED_APPROVALS, approvals, "approver", sub="seed-approver")
    own = await ok(api, SEED_OWN_REQUEST, None, "data-scientist", sub="tester")
    v1 = data["v1"]["modelVersion"]
    hook = data["hook"]["webhook"]["id"]
    event = (await ok(api, "query($id: ID!) { webhook(id: $id) { deliveries(first: 1) { nodes { eventId } } } }",
                      {"id": hook}, "mlops"))["webhook"]["deliveries"]["nodes"][0]["eventId"]
    return {"model_id": v1["model"]["id"], "version_id": v1["id"], "webhook_id": hook, "event_id": event,
            "dataset_id": v1["reproducibility"]["datasets"][0]["dataset"]["id"], "applied_id": approvals["p1"],
            "approve_id": data["p2"]["transitionRequest"]["id"], "reject_id": data["c1"]["transitionRequest"]["id"],
            "cancel_id": own["requestAliasTransition"]["transitionRequest"]["id"]}


# Seeding through the API costs ~0.5 s and hundreds of tests need it: the first seed of a database (per kind of
# caller, since the OIDC tests' callers have other subjects) is written through the API and its rows captured;
# later seeds replace the database's rows with that image in one transaction (~20 ms).
_seed_images: dict[tuple[str, str], tuple[DatabaseImage, dict[str, Any]]] = {}


async def seed(api: Api) -> dict[str, Any]:
    """The seed data, and nothing else, in the database behind ``api``; returns the ids the operations need."""
    key = (api.database_url, type(api).__name__)
    if key in _seed_images:
        image, seeded = _seed_images[key]
        restore(api.database_url, image)
        return dict(seeded)
    wipe(api.database_url)
    seeded = await seed_through_the_api(api)
    _seed_images[key] = (capture(api.database_url), seeded)
    return dict(seeded)


def stored(api: Api) -> dict[str, str]:
    """A fingerprint of everything stored but the audit log (where refusals are recorded by design)."""
    return fingerprint(api.database_url)


# A model's versions, read per model: in one document with the models they would pass the query cost limit.
VERSIONS_SNAPSHOT = """
query VersionsSnapshot($name: String!) {
  registeredModel(name: $name) {
    versions(first: 100) {
      totalCount
      nodes {
        id version stage status description flavor signature createdAt updatedAt
        tags { key value } metrics { name value dataset step } params { name value } aliases { id alias }
        run { tracker runId runUri } code { repositoryUrl commitSha } artifact { uri digest size }
        documents(first: 20) { nodes { kind title revision markdown artifactDigest createdBy { subject } } }
        stageHistory(first: 20) { nodes { id fromStage toStage changedAt changedBy { subject } reason } }
        reproducibility { missing datasets { kind dataset { name } } parents { relation } }
      }
    }
  }
}
"""


WEBHOOKS_SNAPSHOT = """
query WebhooksSnapshot {
  webhooks(first: 50) {
    totalCount
    nodes { id url events modelNamePattern secretHint active updatedAt
            deliveries(first: 100) { totalCount nodes { id eventId status attempts } } }
  }
}
"""


async def snapshot(api: Api) -> dict[str, Any]:
    """Everything, as an auditor sees it, and the webhooks (which only mlops may read)."""
    state = await ok(api, SNAPSHOT, None, "auditor")
    for model in state["registeredModels"]["nodes"]:
        versions = await ok(api, VERSIONS_SNAPSHOT, {"name": model["name"]}, "auditor")
        model["versions"] = versions["registeredModel"]["versions"]
    return {**state, **await ok(api, WEBHOOKS_SNAPSHOT, None, "mlops")}


# The table: root field -> a document that exercises it on the seed data and the permission it requires.


@dataclass(frozen=True)
class Operation:
    document: str
    permission: Permission | None  # None: any valid token (viewer)
    variables: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda seeded: {})


VIEWER = "query Viewer { viewer { subject kind roles permissions } }"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on RegisteredModel { name } } }"
REGISTERED_MODEL = """
query RegisteredModel {
  registeredModel(name: "m") { name tags { key value } aliases { alias version } latestVersion { version } }
}
"""
REGISTERED_MODELS = "query RegisteredModels { registeredModels(first: 10) { totalCount nodes { name } } }"
MODEL_VERSION = """
query ModelVersion {
  modelVersion(name: "m", version: 1) { version tags { key } metrics { name value } aliases { alias } }
}
"""
MODEL_VERSIONS = "query ModelVersions { modelVersions(first: 10) { totalCount nodes { name version } } }"
RESOLVE_MODEL_URI = 'query ResolveModelUri { resolveModelUri(uri: "models:/m@stable") { pinnedUri alias } }'
CREATE_REGISTERED_MODEL = """
mutation CreateRegisteredModel { createRegisteredModel(input: {name: "new-model"}) { registeredModel { name } } }
"""
UPDATE_REGISTERED_MODEL = """
mutation UpdateRegisteredModel {
  updateRegisteredModel(input: {name: "m", description: "changed"}) { registeredModel { description } }
}
"""
DELETE_REGISTERED_MODEL = 'mutation DeleteRegisteredModel { deleteRegisteredModel(input: {name: "doomed"}) { name } }'
SET_REGISTERED_MODEL_TAG = """
mutation SetRegisteredModelTag {
  setRegisteredModelTag(input: {name: "m", key: "k", value: "v"}) { registeredModel { name } }
}
"""
DELETE_REGISTERED_MODEL_TAG = """
mutation DeleteRegisteredModelTag {
  deleteRegisteredModelTag(input: {name: "m", key: "mt"}) { registeredModel { name } }
}
"""
CREATE_MODEL_VERSION = """
mutation CreateModelVersion { createModelVersion(input: {name: "m"}) { modelVersion { version } } }
"""
UPDATE_MODEL_VERSION = """
mutation UpdateModelVersion {
  updateModelVersion(input: {name: "m", version: 1, description: "changed"}) { modelVersion { description } }
}
"""
DELETE_MODEL_VERSION = 'mutation DeleteModelVersion { deleteModelVersion(input: {name: "m", version: 2}) { version } }'
SET_MODEL_VERSION_TAG = """
mutation SetModelVersionTag {
  setModelVersionTag(input: {name: "m", version: 1, key: "k", value: "v"}) { modelVersion { version } }
}
"""
DELETE_MODEL_VERSION_TAG = """
mutation DeleteModelVersionTag {
  deleteModelVersionTag(input: {name: "m", version: 1, key: "vt"}) { modelVersion { version } }
}
"""
SET_MODEL_ALIAS = """
mutation SetModelAlias {
  setModelAlias(input: {name: "m", alias: "challenger", version: 2}) { modelAlias { alias version } }
}
"""
DELETE_MODEL_ALIAS = 'mutation DeleteModelAlias { deleteModelAlias(input: {name: "m", alias: "stable"}) { alias } }'
CREATE_ARTIFACT_UPLOAD = "mutation CreateArtifactUpload { createArtifactUpload(input: {}) { uploadId direct } }"
TRANSITION_REQUESTS = """
query TransitionRequests {
  transitionRequests(first: 10) { totalCount nodes { id status approvals { nodes { decidedBy { subject } } } } }
}
"""
AUDIT_EVENTS = "query AuditEvents { auditEvents(first: 5) { totalCount nodes { sequence action outcome hash } } }"
AUDIT_INTEGRITY = "query AuditIntegrity { auditIntegrity { ok checkedEvents firstBrokenSequence } }"
REQUEST_STAGE_TRANSITION = """
mutation RequestStageTransition {
  requestStageTransition(input: {name: "m", version: 2, toStage: ARCHIVED}) { transitionRequest { status } }
}
"""
REQUEST_ALIAS_TRANSITION = """
mutation RequestAliasTransition {
  requestAliasTransition(input: {name: "m", version: 2, alias: "champion"}) { transitionRequest { status } }
}
"""
APPROVE_TRANSITION_REQUEST = """
mutation ApproveTransitionRequest($id: ID!) {
  approveTransitionRequest(input: {id: $id, comment: "fine"}) { transitionRequest { status } }
}
"""
REJECT_TRANSITION_REQUEST = """
mutation RejectTransitionRequest($id: ID!) {
  rejectTransitionRequest(input: {id: $id, comment: "not yet"}) { transitionRequest { status } }
}
"""
CANCEL_TRANSITION_REQUEST = """
mutation CancelTransitionRequest($id: ID!) {
  cancelTransitionRequest(input: {id: $id}) { transitionRequest { status } }
}
"""
ROLLBACK_PRODUCTION = """
mutation RollbackProduction {
  rollbackProduction(input: {name: "m", reason: "incident 42"}) { restored { version } archived { version } }
}
"""
ATTACH_DOCUMENT = """
mutation AttachDocument {
  attachDocument(input: {name: "m", version: 1, kind: BIAS_AUDIT, title: "Audit", markdown: "fair"}) {
    modelDocument { revision }
  }
}
"""
LINEAGE = """
query Lineage($id: ID!) { lineage(id: $id, direction: BOTH, depth: 2) { truncated nodes { id kind } edges { kind } } }
"""
IMPACTED_MODEL_VERSIONS = """
query ImpactedModelVersions($id: ID!) { impactedModelVersions(nodeId: $id) { totalCount nodes { uri } } }
"""
DATASET = 'query Dataset { dataset(name: "seed-data", version: "1") { id digest } }'
DATASETS = "query Datasets { datasets(first: 10) { totalCount nodes { name } } }"
RUN = 'query Run { run(tracker: MLFLOW, runId: "seed-run") { id environment { pythonVersion } } }'
RUNS = "query Runs { runs(first: 10) { totalCount nodes { runId } } }"
REGISTER_DATASET = """
mutation RegisterDataset { registerDataset(input: {name: "new-data", version: "2"}) { created dataset { id } } }
"""
REGISTER_RUN = 'mutation RegisterRun { registerRun(input: {runId: "new-run"}) { created run { id } } }'
REGISTER_CODE_COMMIT = """
mutation RegisterCodeCommit {
  registerCodeCommit(input: {repositoryUrl: "https://git.example/r", commitSha: "abcdef1"}) { codeCommit { id } }
}
"""
REGISTER_EXTERNAL_NODE = """
mutation RegisterExternalNode { registerExternalNode(input: {name: "feature-store"}) { externalNode { id } } }
"""
ADD_LINEAGE_EDGE = """
mutation AddLineageEdge($up: ID!, $down: ID!) {
  addLineageEdge(input: {kind: EVALUATED_ON, upstreamId: $up, downstreamId: $down}) { created edge { kind } }
}
"""
WEBHOOKS = "query Webhooks { webhooks(first: 10) { totalCount nodes { url secretHint } } }"
WEBHOOK = "query Webhook($id: ID!) { webhook(id: $id) { url deliveries(first: 5) { nodes { status } } } }"
CREATE_WEBHOOK = """
mutation CreateWebhook {
  createWebhook(input: {url: "https://ci.example.com/hook", secret: "another-secret-0123", events: [VERSION_READY]}) {
    webhook { id }
  }
}
"""
UPDATE_WEBHOOK = """
mutation UpdateWebhook($id: ID!) { updateWebhook(input: {id: $id, active: false}) { webhook { active } } }
"""
DELETE_WEBHOOK = "mutation DeleteWebhook($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId } }"
PING_WEBHOOK = "mutation PingWebhook($id: ID!) { pingWebhook(input: {id: $id}) { delivery { status } } }"
REDELIVER_WEBHOOK_EVENT = """
mutation RedeliverWebhookEvent($id: ID!, $event: ID!) {
  redeliverWebhookEvent(input: {webhookId: $id, eventId: $event}) { delivery { status } }
}
"""
DEPLOYMENT = """
query Deployment { deployment(name: "m", environment: "staging") { revision entries { version role trafficPercent }
  history(first: 5) { nodes { revision action } } } }
"""
DEPLOYMENTS = """
query Deployments { deployments(filter: {hasCanary: true}, first: 10) { totalCount nodes { id name environment } } }
"""
DEPLOY = 'mutation Deploy { deploy(input: {name: "m", environment: "sandbox", version: 4}) { deployment { revision } } }'
START_CANARY = """
mutation StartCanary { startCanary(input: {name: "m", environment: "dev", version: 4, percent: 5}) {
  deployment { revision } } }
"""
SET_CANARY_TRAFFIC = """
mutation SetCanaryTraffic { setCanaryTraffic(input: {name: "m", environment: "staging", percent: 30}) {
  deployment { revision } } }
"""
ABORT_CANARY = 'mutation AbortCanary { abortCanary(input: {name: "m", environment: "staging"}) { deployment { revision } } }'
PROMOTE_CANARY = 'mutation PromoteCanary { promoteCanary(input: {name: "m", environment: "qa"}) { deployment { revision } } }'
ADD_SHADOW = 'mutation AddShadow { addShadow(input: {name: "m", environment: "qa", version: 1}) { deployment { revision } } }'
REMOVE_SHADOW = """
mutation RemoveShadow { removeShadow(input: {name: "m", environment: "staging", version: 1}) { deployment { revision } } }
"""
ROLLBACK_DEPLOYMENT = """
mutation RollbackDeployment { rollbackDeployment(input: {name: "m", environment: "staging"}) { deployment { revision } } }
"""
UNDEPLOY = 'mutation Undeploy { undeploy(input: {name: "m", environment: "dev"}) { deployment { revision } } }'

# Permissions that guard plain HTTP endpoints or a command, or that a use case checks after its main one, rather
# than GraphQL fields on their own, with the test that covers them.
HTTP_ONLY: dict[Permission, str] = {
    P.ARTIFACT_READ: "GET /api/artifacts/files and /archive: tests/artifacts/test_http_permissions.py",
    P.TRANSITION_CANCEL_ANY: "cancelling another's request: tests/governance/test_transitions.py",
    P.REGISTRY_IMPORT: "modelreg import mlflow (a command, not an API): tests/mlflow/test_import.py",
}

# Subscription fields run over WebSocket, not HTTP POST, so the walk below cannot call them: each names the
# permission it requires and the test that checks it (as a caller with and without it, and the audited denial).
SUBSCRIPTIONS: dict[str, tuple[Permission, str]] = {
    "events": (P.REGISTRY_READ, "tests/events/test_subscriptions.py (graphql-transport-ws against a live server)"),
}

OPERATIONS: dict[str, Operation] = {
    "viewer": Operation(VIEWER, None),
    "node": Operation(NODE, P.REGISTRY_READ, lambda seeded: {"id": seeded["model_id"]}),
    "registeredModel": Operation(REGISTERED_MODEL, P.REGISTRY_READ),
    "registeredModels": Operation(REGISTERED_MODELS, P.REGISTRY_READ),
    "modelVersion": Operation(MODEL_VERSION, P.REGISTRY_READ),
    "modelVersions": Operation(MODEL_VERSIONS, P.REGISTRY_READ),
    "resolveModelUri": Operation(RESOLVE_MODEL_URI, P.REGISTRY_READ),
    "createRegisteredModel": Operation(CREATE_REGISTERED_MODEL, P.MODEL_WRITE),
    "updateRegisteredModel": Operation(UPDATE_REGISTERED_MODEL, P.MODEL_WRITE),
    "deleteRegisteredModel": Operation(DELETE_REGISTERED_MODEL, P.MODEL_DELETE),
    "setRegisteredModelTag": Operation(SET_REGISTERED_MODEL_TAG, P.MODEL_WRITE),
    "deleteRegisteredModelTag": Operation(DELETE_REGISTERED_MODEL_TAG, P.MODEL_WRITE),
    "createModelVersion": Operation(CREATE_MODEL_VERSION, P.VERSION_WRITE),
    "updateModelVersion": Operation(UPDATE_MODEL_VERSION, P.VERSION_WRITE),
    "deleteModelVersion": Operation(DELETE_MODEL_VERSION, P.VERSION_DELETE),
    "setModelVersionTag": Operation(SET_MODEL_VERSION_TAG, P.VERSION_WRITE),
    "deleteModelVersionTag": Operation(DELETE_MODEL_VERSION_TAG, P.VERSION_WRITE),
    "setModelAlias": Operation(SET_MODEL_ALIAS, P.ALIAS_WRITE),
    "deleteModelAlias": Operation(DELETE_MODEL_ALIAS, P.ALIAS_WRITE),
    "createArtifactUpload": Operation(CREATE_ARTIFACT_UPLOAD, P.ARTIFACT_WRITE),
    "transitionRequests": Operation(TRANSITION_REQUESTS, P.REGISTRY_READ),
    "auditEvents": Operation(AUDIT_EVENTS, P.AUDIT_READ),
    "auditIntegrity": Operation(AUDIT_INTEGRITY, P.AUDIT_READ),
    "requestStageTransition": Operation(REQUEST_STAGE_TRANSITION, P.TRANSITION_REQUEST),
    "requestAliasTransition": Operation(REQUEST_ALIAS_TRANSITION, P.TRANSITION_REQUEST),
    "approveTransitionRequest": Operation(APPROVE_TRANSITION_REQUEST, P.TRANSITION_APPROVE,
                                          lambda seeded: {"id": seeded["approve_id"]}),
    "rejectTransitionRequest": Operation(REJECT_TRANSITION_REQUEST, P.TRANSITION_APPROVE,
                                         lambda seeded: {"id": seeded["reject_id"]}),
    "cancelTransitionRequest": Operation(CANCEL_TRANSITION_REQUEST, P.TRANSITION_CANCEL,
                                         lambda seeded: {"id": seeded["cancel_id"]}),
    "rollbackProduction": Operation(ROLLBACK_PRODUCTION, P.PRODUCTION_ROLLBACK),
    "attachDocument": Operation(ATTACH_DOCUMENT, P.DOCUMENT_WRITE),
    "lineage": Operation(LINEAGE, P.REGISTRY_READ, lambda seeded: {"id": seeded["version_id"]}),
    "impactedModelVersions": Operation(IMPACTED_MODEL_VERSIONS, P.REGISTRY_READ,
                                       lambda seeded: {"id": seeded["dataset_id"]}),
    "dataset": Operation(DATASET, P.REGISTRY_READ),
    "datasets": Operation(DATASETS, P.REGISTRY_READ),
    "run": Operation(RUN, P.REGISTRY_READ),
    "runs": Operation(RUNS, P.REGISTRY_READ),
    "registerDataset": Operation(REGISTER_DATASET, P.LINEAGE_WRITE),
    "registerRun": Operation(REGISTER_RUN, P.LINEAGE_WRITE),
    "registerCodeCommit": Operation(REGISTER_CODE_COMMIT, P.LINEAGE_WRITE),
    "registerExternalNode": Operation(REGISTER_EXTERNAL_NODE, P.LINEAGE_WRITE),
    "addLineageEdge": Operation(ADD_LINEAGE_EDGE, P.LINEAGE_WRITE,
                                lambda seeded: {"up": seeded["dataset_id"], "down": seeded["version_id"]}),
    "webhooks": Operation(WEBHOOKS, P.WEBHOOK_MANAGE),
    "webhook": Operation(WEBHOOK, P.WEBHOOK_MANAGE, lambda seeded: {"id": seeded["webhook_id"]}),
    "createWebhook": Operation(CREATE_WEBHOOK, P.WEBHOOK_MANAGE),
    "updateWebhook": Operation(UPDATE_WEBHOOK, P.WEBHOOK_MANAGE, lambda seeded: {"id": seeded["webhook_id"]}),
    "pingWebhook": Operation(PING_WEBHOOK, P.WEBHOOK_MANAGE, lambda seeded: {"id": seeded["webhook_id"]}),
    "redeliverWebhookEvent": Operation(REDELIVER_WEBHOOK_EVENT, P.WEBHOOK_MANAGE,
                                       lambda seeded: {"id": seeded["webhook_id"], "event": seeded["event_id"]}),
    "deleteWebhook": Operation(DELETE_WEBHOOK, P.WEBHOOK_MANAGE, lambda seeded: {"id": seeded["webhook_id"]}),
    "deployment": Operation(DEPLOYMENT, P.REGISTRY_READ),
    "deployments": Operation(DEPLOYMENTS, P.REGISTRY_READ),
    "deploy": Operation(DEPLOY, P.DEPLOYMENT_WRITE),
    "startCanary": Operation(START_CANARY, P.DEPLOYMENT_WRITE),
    "setCanaryTraffic": Operation(SET_CANARY_TRAFFIC, P.DEPLOYMENT_WRITE),
    "abortCanary": Operation(ABORT_CANARY, P.DEPLOYMENT_WRITE),
    "promoteCanary": Operation(PROMOTE_CANARY, P.DEPLOYMENT_WRITE),
    "addShadow": Operation(ADD_SHADOW, P.DEPLOYMENT_WRITE),
    "removeShadow": Operation(REMOVE_SHADOW, P.DEPLOYMENT_WRITE),
    "rollbackDeployment": Operation(ROLLBACK_DEPLOYMENT, P.DEPLOYMENT_WRITE),
    "undeploy": Operation(UNDEPLOY, P.DEPLOYMENT_WRITE),
}


def root_fields() -> dict[str, str]:
    """Every field of the root types (subscriptions too, should any appear), as name -> root type name."""
    graphql_schema = schema._schema
    found: dict[str, str] = {}
    for root in (graphql_schema.query_type, graphql_schema.mutation_type, graphql_schema.subscription_type):
        for name in root.fields if root else ():
            found[name] = root.name
    return found


@functools.cache
def policy() -> CasbinAuthorizer:
    return CasbinAuthorizer(Settings().policy_dir)


def holds(role: str, permission: Permission | None) -> bool:
    """Whether policy.csv lets ``role`` do what needs ``permission`` (None: any caller)."""
    return permission is None or policy().allows(Principal("p", roles=frozenset({role})), permission)


def assert_forbidden(body: dict[str, Any], permission: Permission) -> None:
    """Exactly one error, FORBIDDEN, naming the missing permission."""
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    assert errors[0]["extensions"]["code"] == "FORBIDDEN", body
    assert permission.value in errors[0]["message"], errors[0]


def assert_outcome(body: dict[str, Any], name: str, allowed: bool) -> None:
    if allowed:
        assert not body.get("errors"), body
        assert body["data"][name] is not None, body
    else:
        assert_forbidden(body, OPERATIONS[name].permission)
        assert (body.get("data") or {}).get(name) is None, body


# The walk.


@pytest.mark.backend_independent
def test_every_root_field_has_an_operation():
    missing = sorted(set(root_fields()) - set(OPERATIONS) - set(SUBSCRIPTIONS))
    assert not missing, f"root fields without an entry (document and permission) in OPERATIONS: {missing}"


@pytest.mark.backend_independent
def test_no_operation_for_a_field_that_is_gone():
    stale = sorted(set(OPERATIONS) - set(root_fields()))
    assert not stale, f"OPERATIONS names fields the schema no longer has: {stale}"
    not_subscriptions = sorted(name for name in SUBSCRIPTIONS if root_fields().get(name) != "Subscription")
    assert not not_subscriptions, f"SUBSCRIPTIONS names fields that are not subscriptions: {not_subscriptions}"


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
def test_subscription_description_states_its_permission(name):
    description = schema._schema.subscription_type.fields[name].description or ""
    assert f"Requires {SUBSCRIPTIONS[name][0].value}" in description


@pytest.mark.backend_independent
def test_every_required_permission_is_granted_by_the_policy():
    ungranted = {name: op.permission.value for name, op in OPERATIONS.items()
                 if op.permission is not None and not any(holds(role, op.permission) for role in policy().roles)}
    assert not ungranted, f"no role in policies/policy.csv holds: {ungranted}"


@pytest.mark.backend_independent
def test_every_permission_guards_some_operation():
    unused = set(Permission) - {op.permission for op in OPERATIONS.values()} - set(HTTP_ONLY)
    assert not unused, f"permissions no operation requires: {unused}"


@pytest.mark.backend_independent
def test_only_viewer_needs_no_permission():
    assert [name for name, op in OPERATIONS.items() if op.permission is None] == ["viewer"]


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_document_exercises_exactly_its_field(name):
    document = parse(OPERATIONS[name].document)
    assert validate(schema._schema, document) == []
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [selection.name.value for selection in operation.selection_set.selections] == [name]
    assert operation.operation.value == root_fields()[name].lower()


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", sorted(n for n, kind in root_fields().items() if kind == "Mutation"))
def test_mutation_description_states_its_permission(name):
    description = schema._schema.mutation_type.fields[name].description or ""
    assert f"Requires {OPERATIONS[name].permission.value}" in description


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_field_enforces_its_permission(api, name):
    """The field's document run as each role on the seed data. Denied roles go first and must leave the stored
    data exactly as it was; each allowed mutation gets fresh seed data."""
    op, is_mutation = OPERATIONS[name], root_fields()[name] == "Mutation"
    seeded, dirty, problems = await seed(api), False, []
    before = stored(api)
    for role in sorted(ROLES, key=lambda r: holds(r, op.permission)):
        allowed = holds(role, op.permission)
        if dirty:
            seeded, dirty = await seed(api), False
        body = await gql(api, op.document, op.variables(seeded), role)
        dirty = is_mutation and not body.get("errors")
        try:
            assert_outcome(body, name, allowed)
            if not allowed:
                assert stored(api) == before, "a denied call changed the data"
        except AssertionError as failure:
            problems.append(f"as {role} ({'allowed' if allowed else 'denied'}): {failure}")
    assert not problems, "\n".join(problems)
