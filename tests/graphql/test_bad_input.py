"""Bad input for every mutation (and the queries that take any): each is refused with the right error code, and
nothing is written. Every case runs on the seed data of test_schema_coverage and compares a snapshot of all
stored data before and after (a fingerprint of every table but the audit log)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.graphql.test_schema_coverage import ok, root_fields, seed, stored, token

BAD, NOT_FOUND, CONFLICT = "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT"

CREATE_MODEL = """
mutation CreateModel($input: CreateRegisteredModelInput!) {
  createRegisteredModel(input: $input) { registeredModel { name } }
}
"""
UPDATE_MODEL = """
mutation UpdateModel($input: UpdateRegisteredModelInput!) {
  updateRegisteredModel(input: $input) { registeredModel { name } }
}
"""
DELETE_MODEL = """
mutation DeleteModel($input: DeleteRegisteredModelInput!) { deleteRegisteredModel(input: $input) { name } }
"""
SET_MODEL_TAG = """
mutation SetModelTag($input: SetRegisteredModelTagInput!) {
  setRegisteredModelTag(input: $input) { registeredModel { name } }
}
"""
DELETE_MODEL_TAG = """
mutation DeleteModelTag($input: DeleteRegisteredModelTagInput!) {
  deleteRegisteredModelTag(input: $input) { registeredModel { name } }
}
"""
CREATE_VERSION = """
mutation CreateVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { name version } }
}
"""
UPDATE_VERSION = """
mutation UpdateVersion($input: UpdateModelVersionInput!) {
  updateModelVersion(input: $input) { modelVersion { version } }
}
"""
DELETE_VERSION = """
mutation DeleteVersion($input: DeleteModelVersionInput!) { deleteModelVersion(input: $input) { version } }
"""
SET_VERSION_TAG = """
mutation SetVersionTag($input: SetModelVersionTagInput!) {
  setModelVersionTag(input: $input) { modelVersion { version } }
}
"""
DELETE_VERSION_TAG = """
mutation DeleteVersionTag($input: DeleteModelVersionTagInput!) {
  deleteModelVersionTag(input: $input) { modelVersion { version } }
}
"""
SET_ALIAS = "mutation SetAlias($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { alias } } }"
DELETE_ALIAS = "mutation DeleteAlias($input: DeleteModelAliasInput!) { deleteModelAlias(input: $input) { alias } }"

CREATE_MODEL_WITHOUT_NAME = "mutation { createRegisteredModel(input: {}) { registeredModel { name } } }"
CREATE_MODEL_WITHOUT_INPUT = "mutation { createRegisteredModel { registeredModel { name } } }"
CREATE_MODEL_WITH_NUMBER_NAME = "mutation { createRegisteredModel(input: {name: 5}) { registeredModel { name } } }"
CREATE_VERSION_WITH_INFINITE_METRIC = """
mutation { createModelVersion(input: {name: "m", metrics: [{name: "acc", value: 1e309}]}) { modelVersion { version } } }
"""
CREATE_VERSION_WITH_STRING_METRIC = """
mutation {
  createModelVersion(input: {name: "m", metrics: [{name: "acc", value: "high"}]}) { modelVersion { version } }
}
"""
UPDATE_VERSION_WITHOUT_NUMBER = 'mutation { updateModelVersion(input: {name: "m"}) { modelVersion { version } } }'
SET_ALIAS_WITHOUT_VERSION = 'mutation { setModelAlias(input: {name: "m", alias: "a"}) { modelAlias { alias } } }'

LIST_MODELS = """
query ListModels($first: Int!, $after: String, $order: RegisteredModelOrder) {
  registeredModels(first: $first, after: $after, orderBy: $order) { totalCount edges { cursor } }
}
"""
LIST_VERSIONS = """
query ListVersions($first: Int!, $after: String, $order: ModelVersionOrder) {
  modelVersions(first: $first, after: $after, orderBy: $order) { totalCount edges { cursor } }
}
"""
LIST_VERSIONS_OF_MODEL = """
query ListVersionsOfModel($first: Int!) { registeredModel(name: "m") { versions(first: $first) { totalCount } } }
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
RESOLVE = "query Resolve($uri: String!) { resolveModelUri(uri: $uri) { pinnedUri } }"
GET_VERSION = "query GetVersion($version: Int!) { modelVersion(name: \"m\", version: $version) { version } }"

SHA = "a" * 64
INFINITE = object()  # sent as the JSON number 1e309, which a JSON parser reads as infinity
NOT_A_NUMBER = object()  # sent as NaN, which Python's JSON parser (and so the server's) accepts


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def raw_json(value: Any) -> str:
    """JSON with INFINITE and NOT_A_NUMBER written as ``1e309`` and ``NaN``: no JSON encoder emits those."""
    def encode(item: Any) -> Any:
        if item is INFINITE:
            return "\x00inf"
        if item is NOT_A_NUMBER:
            return "\x00nan"
        if isinstance(item, dict):
            return {key: encode(v) for key, v in item.items()}
        if isinstance(item, list):
            return [encode(v) for v in item]
        return item
    return json.dumps(encode(value)).replace('"\\u0000inf"', "1e309").replace('"\\u0000nan"', "NaN")


@dataclass(frozen=True)
class Bad:
    label: str
    document: str
    variables: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None  # or built from the seed's ids
    code: str
    says: str | None = None  # a fragment the message must contain
    role: str = "mlops"


def version(**fields: Any) -> dict[str, Any]:
    return {"input": {"name": "m", **fields}}


def model(**fields: Any) -> dict[str, Any]:
    return {"input": {"name": "m", **fields}}


BAD_NAMES = ["", "n" * 257, "has space", "tab\there", "new\nline", "trailing\n", "a/../b", "..", "../up",
             "/leading", "trailing/", "a//b", "ünïcode", "at@sign", "colon:x", "back\\slash"]

REQUEST_STAGE = """
mutation RequestStage($input: RequestStageTransitionInput!) {
  requestStageTransition(input: $input) { transitionRequest { status } }
}
"""
REQUEST_ALIAS = """
mutation RequestAlias($input: RequestAliasTransitionInput!) {
  requestAliasTransition(input: $input) { transitionRequest { status } }
}
"""
APPROVE = """
mutation Approve($input: ApproveTransitionRequestInput!) {
  approveTransitionRequest(input: $input) { transitionRequest { status } }
}
"""
REJECT = """
mutation Reject($input: RejectTransitionRequestInput!) {
  rejectTransitionRequest(input: $input) { transitionRequest { status } }
}
"""
CANCEL = """
mutation Cancel($input: CancelTransitionRequestInput!) {
  cancelTransitionRequest(input: $input) { transitionRequest { status } }
}
"""
ROLLBACK = """
mutation Rollback($input: RollbackProductionInput!) { rollbackProduction(input: $input) { restored { version } } }
"""
ATTACH = "mutation Attach($input: AttachDocumentInput!) { attachDocument(input: $input) { modelDocument { revision } } }"
AUDIT_EVENTS = "query AuditEvents($first: Int!, $after: String) { auditEvents(first: $first, after: $after) { totalCount } }"
UNKNOWN_REQUEST = b64("TransitionRequest:999999")
A_MODEL_ID = b64("RegisteredModel:1")


def stage(**fields: Any) -> dict[str, Any]:
    return {"input": {"name": "m", "version": 2, "toStage": "ARCHIVED", **fields}}


def request_id(key: str, **fields: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda seeded: {"input": {"id": seeded[key], **fields}}


def document(**fields: Any) -> dict[str, Any]:
    return {"input": {"name": "m", "version": 1, "kind": "OTHER", "title": "Notes", "markdown": "x", **fields}}


GOVERNANCE_CASES: dict[str, list[Bad]] = {
    "requestStageTransition": [
        Bad("unknown model", REQUEST_STAGE, stage(name="nope"), NOT_FOUND, "'nope'"),
        Bad("unknown version", REQUEST_STAGE, stage(version=9), NOT_FOUND, "no version 9"),
        Bad("to NONE", REQUEST_STAGE, stage(toStage="NONE"), BAD, "toStage"),
        Bad("unknown stage", REQUEST_STAGE, stage(toStage="LIVE"), BAD),
        Bad("stage left out", REQUEST_STAGE, {"input": {"name": "m", "version": 2}}, BAD),
        Bad("comment over 5000", REQUEST_STAGE, stage(comment="c" * 5001), BAD, "5000"),
        Bad("move the machine refuses", REQUEST_STAGE, stage(version=1, toStage="PRODUCTION"), "FAILED_PRECONDITION",
            "allowed from ARCHIVED: ARCHIVED -> STAGING"),
        Bad("to the stage it is in", REQUEST_STAGE, stage(version=3, toStage="PRODUCTION"), "FAILED_PRECONDITION",
            "cannot move to PRODUCTION"),
        Bad("production taken, archiving refused", REQUEST_STAGE,
            stage(toStage="PRODUCTION", archiveExistingProduction=False), "FAILED_PRECONDITION",
            "archiveExistingProduction"),
        Bad("same move still open", REQUEST_STAGE, stage(toStage="PRODUCTION"), CONFLICT, "still open"),
    ],
    "requestAliasTransition": [
        Bad("alias not protected", REQUEST_ALIAS, {"input": {"name": "m", "version": 2, "alias": "stable"}}, BAD,
            "not protected"),
        Bad("alias malformed", REQUEST_ALIAS, {"input": {"name": "m", "version": 2, "alias": "1st"}}, BAD, "alias"),
        Bad("gates fail", REQUEST_ALIAS, {"input": {"name": "m", "version": 4, "alias": "champion"}},
            "FAILED_PRECONDITION", "document MODEL_CARD: no MODEL_CARD document is attached"),
        Bad("same move still open", REQUEST_ALIAS, {"input": {"name": "m", "version": 1, "alias": "champion"}},
            CONFLICT),
        Bad("unknown version", REQUEST_ALIAS, {"input": {"name": "m", "version": 9, "alias": "champion"}},
            NOT_FOUND),
    ],
    "approveTransitionRequest": [
        Bad("id garbage", APPROVE, {"input": {"id": "garbage"}}, BAD, "id", role="approver"),
        Bad("id of a model", APPROVE, {"input": {"id": A_MODEL_ID}}, BAD, "transition request", role="approver"),
        Bad("unknown request", APPROVE, {"input": {"id": UNKNOWN_REQUEST}}, NOT_FOUND, role="approver"),
        Bad("comment over 5000", APPROVE, request_id("approve_id", comment="c" * 5001), BAD, "5000",
            role="approver"),
        Bad("already applied", APPROVE, request_id("applied_id"), "FAILED_PRECONDITION", "APPLIED",
            role="approver"),
        Bad("id left out", APPROVE, {"input": {}}, BAD, role="approver"),
    ],
    "rejectTransitionRequest": [
        Bad("empty comment", REJECT, request_id("reject_id", comment=""), BAD, "comment is required",
            role="approver"),
        Bad("comment left out", REJECT, request_id("reject_id"), BAD, role="approver"),
        Bad("unknown request", REJECT, {"input": {"id": UNKNOWN_REQUEST, "comment": "no"}}, NOT_FOUND,
            role="approver"),
        Bad("already applied", REJECT, request_id("applied_id", comment="no"), "FAILED_PRECONDITION", "APPLIED",
            role="approver"),
    ],
    "cancelTransitionRequest": [
        Bad("id garbage", CANCEL, {"input": {"id": "!!!"}}, BAD, "id"),
        Bad("unknown request", CANCEL, {"input": {"id": UNKNOWN_REQUEST}}, NOT_FOUND),
        Bad("already applied", CANCEL, request_id("applied_id"), "FAILED_PRECONDITION", "APPLIED"),
        Bad("comment over 5000", CANCEL, request_id("cancel_id", comment="c" * 5001), BAD, "5000"),
    ],
    "rollbackProduction": [
        Bad("unknown model", ROLLBACK, {"input": {"name": "nope", "reason": "x"}}, NOT_FOUND),
        Bad("empty reason", ROLLBACK, {"input": {"name": "m", "reason": ""}}, BAD, "reason is required"),
        Bad("reason over 5000", ROLLBACK, {"input": {"name": "m", "reason": "r" * 5001}}, BAD, "5000"),
        Bad("reason left out", ROLLBACK, {"input": {"name": "m"}}, BAD),
        Bad("nothing in production", ROLLBACK, {"input": {"name": "doomed", "reason": "x"}}, "FAILED_PRECONDITION",
            "no version in PRODUCTION"),
    ],
    "attachDocument": [
        Bad("unknown model", ATTACH, document(name="nope"), NOT_FOUND),
        Bad("unknown version", ATTACH, document(version=9), NOT_FOUND),
        Bad("empty title", ATTACH, document(title=" "), BAD, "title"),
        Bad("title over 200", ATTACH, document(title="t" * 201), BAD, "title"),
        Bad("markdown and digest", ATTACH, document(artifactDigest=f"sha256:{SHA}"), BAD, "not both"),
        Bad("neither markdown nor digest", ATTACH, document(markdown=None), BAD, "either"),
        Bad("empty markdown", ATTACH, document(markdown=""), BAD, "markdown"),
        Bad("markdown over 1000000", ATTACH, document(markdown="m" * 1_000_001), BAD, "markdown"),
        Bad("digest malformed", ATTACH, document(markdown=None, artifactDigest="md5:abc"), BAD, "artifactDigest"),
        Bad("digest not uploaded", ATTACH, document(markdown=None, artifactDigest=f"sha256:{SHA}"),
            "FAILED_PRECONDITION", "upload it"),
        Bad("unknown kind", ATTACH, document(kind="MEMO"), BAD),
    ],
    "auditEvents": [
        Bad("page size 101", AUDIT_EVENTS, {"first": 101}, BAD, "100", role="auditor"),
        Bad("garbage cursor", AUDIT_EVENTS, {"first": 5, "after": "garbage"}, BAD, "cursor", role="auditor"),
    ],
}

REGISTER_DATASET = """
mutation RegisterDataset($input: RegisterDatasetInput!) { registerDataset(input: $input) { dataset { id } } }
"""
REGISTER_RUN = "mutation RegisterRun($input: RegisterRunInput!) { registerRun(input: $input) { run { id } } }"
REGISTER_COMMIT = """
mutation RegisterCommit($input: RegisterCodeCommitInput!) { registerCodeCommit(input: $input) { codeCommit { id } } }
"""
REGISTER_EXTERNAL = """
mutation RegisterExternal($input: RegisterExternalNodeInput!) {
  registerExternalNode(input: $input) { externalNode { id } }
}
"""
ADD_EDGE = "mutation AddEdge($input: AddLineageEdgeInput!) { addLineageEdge(input: $input) { edge { kind } } }"
LINEAGE = """
query Lineage($id: ID!, $depth: Int!, $max: Int!) { lineage(id: $id, depth: $depth, maxNodes: $max) { truncated } }
"""
IMPACTED = "query Impacted($id: ID!, $first: Int!) { impactedModelVersions(nodeId: $id, first: $first) { totalCount } }"
UNKNOWN_DATASET = b64("Dataset:999999")


def edge(kind: str, up: str, down: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """An addLineageEdge input between seeded nodes (named by their seed keys) or literal ids."""
    return lambda seeded: {"input": {"kind": kind, "upstreamId": seeded.get(up, up),
                                     "downstreamId": seeded.get(down, down)}}


LINEAGE_CASES: dict[str, list[Bad]] = {
    "registerDataset": [
        Bad("no version and no digest", REGISTER_DATASET, {"input": {"name": "d"}}, BAD, "version or digest"),
        Bad("empty name", REGISTER_DATASET, {"input": {"name": "", "version": "1"}}, BAD, "name"),
        Bad("bad digest", REGISTER_DATASET, {"input": {"name": "d", "digest": "md5:abc"}}, BAD, "sha256"),
        Bad("negative size", REGISTER_DATASET, {"input": {"name": "d", "version": "1", "size": -1}}, BAD, "size"),
        Bad("fractional row count", REGISTER_DATASET, {"input": {"name": "d", "version": "1", "rowCount": 1.5}}, BAD),
        Bad("schema over 256 KiB", REGISTER_DATASET,
            {"input": {"name": "d", "version": "1", "schema": {"c": "x" * 300_000}}}, BAD, "256 KiB"),
        Bad("uri over 2000", REGISTER_DATASET, {"input": {"name": "d", "version": "1", "uri": "u" * 2001}}, BAD),
        Bad("same identity, other uri", REGISTER_DATASET,
            {"input": {"name": "seed-data", "version": "1", "uri": "s3://elsewhere"}}, CONFLICT, "uri"),
    ],
    "registerRun": [
        Bad("empty run id", REGISTER_RUN, {"input": {"runId": ""}}, BAD, "runId"),
        Bad("unknown tracker", REGISTER_RUN, {"input": {"runId": "r", "tracker": "COMET"}}, BAD),
        Bad("ends before it starts", REGISTER_RUN, {"input": {"runId": "r", "startedAt": "2026-01-02T00:00:00Z",
                                                              "endedAt": "2026-01-01T00:00:00Z"}}, BAD, "endedAt"),
        Bad("infinite metric", REGISTER_RUN, {"input": {"runId": "r", "metrics": [{"name": "m", "value": INFINITE}]}},
            BAD),
        Bad("param given twice", REGISTER_RUN, {"input": {"runId": "r", "params": [{"name": "p", "value": "1"},
                                                                                  {"name": "p", "value": "2"}]}}, BAD),
        Bad("bad requirements digest", REGISTER_RUN,
            {"input": {"runId": "r", "environment": {"requirementsDigest": "nope"}}}, BAD, "requirementsDigest"),
        Bad("same identity, other uri", REGISTER_RUN,
            {"input": {"tracker": "MLFLOW", "runId": "seed-run", "runUri": "https://x"}}, CONFLICT, "runUri"),
    ],
    "registerCodeCommit": [
        Bad("commit not hex", REGISTER_COMMIT, {"input": {"repositoryUrl": "https://g/r", "commitSha": "main"}}, BAD,
            "commitSha"),
        Bad("no repository", REGISTER_COMMIT, {"input": {"repositoryUrl": "", "commitSha": "abcdef1"}}, BAD),
    ],
    "registerExternalNode": [
        Bad("empty name", REGISTER_EXTERNAL, {"input": {"name": ""}}, BAD, "name"),
        Bad("category over 100", REGISTER_EXTERNAL, {"input": {"name": "x", "category": "c" * 101}}, BAD),
    ],
    "addLineageEdge": [
        Bad("unknown dataset", ADD_EDGE, edge("EVALUATED_ON", UNKNOWN_DATASET, "version_id"), NOT_FOUND),
        Bad("id of a model", ADD_EDGE, edge("EVALUATED_ON", "dataset_id", "model_id"), BAD, "RegisteredModel"),
        Bad("garbage id", ADD_EDGE, edge("EVALUATED_ON", "garbage", "version_id"), BAD, "id"),
        Bad("wrong kinds of nodes", ADD_EDGE, edge("DERIVED_FROM", "dataset_id", "version_id"), BAD, "DERIVED_FROM"),
        Bad("onto itself", ADD_EDGE, edge("DERIVED_FROM", "version_id", "version_id"), BAD, "itself"),
        Bad("validation data of a READY version", ADD_EDGE, edge("VALIDATED_ON", "dataset_id", "version_id"),
            "FAILED_PRECONDITION", "READY"),
        Bad("unknown kind", ADD_EDGE, edge("COPIED_FROM", "dataset_id", "version_id"), BAD),
        Bad("relation over 200", ADD_EDGE,
            lambda seeded: {"input": {"kind": "EVALUATED_ON", "upstreamId": seeded["dataset_id"],
                                      "downstreamId": seeded["version_id"], "relation": "r" * 201}}, BAD, "relation"),
    ],
    "lineage": [
        Bad("depth 0", LINEAGE, lambda seeded: {"id": seeded["version_id"], "depth": 0, "max": 10}, BAD, "depth"),
        Bad("depth 51", LINEAGE, lambda seeded: {"id": seeded["version_id"], "depth": 51, "max": 10}, BAD, "50"),
        Bad("2001 nodes", LINEAGE, lambda seeded: {"id": seeded["version_id"], "depth": 3, "max": 2001}, BAD, "2000"),
        Bad("unknown dataset", LINEAGE, {"id": UNKNOWN_DATASET, "depth": 3, "max": 10}, NOT_FOUND),
        Bad("id of a model", LINEAGE, lambda seeded: {"id": seeded["model_id"], "depth": 3, "max": 10}, BAD),
    ],
    "impactedModelVersions": [
        Bad("page size 101", IMPACTED, lambda seeded: {"id": seeded["dataset_id"], "first": 101}, BAD, "100"),
        Bad("unknown dataset", IMPACTED, {"id": UNKNOWN_DATASET, "first": 10}, NOT_FOUND),
    ],
}

CREATE_WEBHOOK = "mutation CreateWebhook($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }"
UPDATE_WEBHOOK = "mutation UpdateWebhook($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { id } } }"
DELETE_WEBHOOK = "mutation DeleteWebhook($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { deletedId } }"
PING_WEBHOOK = "mutation Ping($input: PingWebhookInput!) { pingWebhook(input: $input) { delivery { id } } }"
REDELIVER = """
mutation Redeliver($input: RedeliverWebhookEventInput!) { redeliverWebhookEvent(input: $input) { delivery { id } } }
"""
UNKNOWN_WEBHOOK = b64("Webhook:999999")
HOOK_SECRET = "0123456789abcdef"


def hook(**fields: Any) -> dict[str, Any]:
    return {"input": {"url": "https://hooks.example.com/x", "secret": HOOK_SECRET, **fields}}


WEBHOOK_CASES: dict[str, list[Bad]] = {
    "createWebhook": [
        *[Bad(f"url {url!r}", CREATE_WEBHOOK, hook(url=url), BAD, "url")
          for url in ["", "ftp://hooks.example.com/x", "hooks.example.com/x", "http://", "file:///etc/passwd",
                      "https://user:pass@hooks.example.com/x", "https://x/" + "p" * 2000]],
        Bad("short secret", CREATE_WEBHOOK, hook(secret="short"), BAD, "secret"),
        Bad("unknown event type", CREATE_WEBHOOK, hook(events=["version.exploded"]), BAD, "version.exploded"),
        Bad("pattern over 256", CREATE_WEBHOOK, hook(modelNamePattern="p" * 257), BAD, "modelNamePattern"),
        Bad("secret left out", CREATE_WEBHOOK, {"input": {"url": "https://hooks.example.com/x"}}, BAD),
    ],
    "updateWebhook": [
        Bad("unknown webhook", UPDATE_WEBHOOK, {"input": {"id": UNKNOWN_WEBHOOK, "active": False}}, NOT_FOUND),
        Bad("id of a model", UPDATE_WEBHOOK, lambda seeded: {"input": {"id": seeded["model_id"]}}, BAD, "Webhook"),
        Bad("bad url", UPDATE_WEBHOOK, lambda seeded: {"input": {"id": seeded["webhook_id"], "url": "gopher://x"}},
            BAD, "url"),
        Bad("short secret", UPDATE_WEBHOOK, lambda seeded: {"input": {"id": seeded["webhook_id"], "secret": "s"}},
            BAD, "secret"),
    ],
    "deleteWebhook": [Bad("unknown webhook", DELETE_WEBHOOK, {"input": {"id": UNKNOWN_WEBHOOK}}, NOT_FOUND)],
    "pingWebhook": [Bad("unknown webhook", PING_WEBHOOK, {"input": {"id": UNKNOWN_WEBHOOK}}, NOT_FOUND),
                    Bad("garbage id", PING_WEBHOOK, {"input": {"id": "garbage"}}, BAD, "id")],
    "redeliverWebhookEvent": [
        Bad("unknown event", REDELIVER, lambda seeded: {"input": {"webhookId": seeded["webhook_id"],
                                                                  "eventId": "no-such-event"}}, NOT_FOUND, "event"),
        Bad("unknown webhook", REDELIVER, lambda seeded: {"input": {"webhookId": UNKNOWN_WEBHOOK,
                                                                    "eventId": seeded["event_id"]}}, NOT_FOUND),
    ],
}

DEPLOY = "mutation Deploy($input: DeployInput!) { deploy(input: $input) { deployment { revision } } }"
START_CANARY = "mutation Canary($input: StartCanaryInput!) { startCanary(input: $input) { deployment { revision } } }"
SET_CANARY = "mutation Set($input: SetCanaryTrafficInput!) { setCanaryTraffic(input: $input) { deployment { revision } } }"
ABORT_CANARY = "mutation Abort($input: AbortCanaryInput!) { abortCanary(input: $input) { deployment { revision } } }"
PROMOTE_CANARY = "mutation Promote($input: PromoteCanaryInput!) { promoteCanary(input: $input) { deployment { revision } } }"
ADD_SHADOW = "mutation AddShadow($input: AddShadowInput!) { addShadow(input: $input) { deployment { revision } } }"
REMOVE_SHADOW = "mutation RemoveShadow($input: RemoveShadowInput!) { removeShadow(input: $input) { deployment { revision } } }"
ROLLBACK_DEPLOYMENT = """
mutation RollbackDeployment($input: RollbackDeploymentInput!) { rollbackDeployment(input: $input) { deployment { revision } } }
"""
UNDEPLOY = "mutation Undeploy($input: UndeployInput!) { undeploy(input: $input) { deployment { revision } } }"


def target(environment: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"name": "m", "environment": environment, **fields}}


DEPLOYMENT_CASES: dict[str, list[Bad]] = {
    "deploy": [
        Bad("unknown environment", DEPLOY, target("moon", version=3), BAD, "MODELREG_ENVIRONMENTS"),
        Bad("unknown model", DEPLOY, {"input": {"name": "nope", "environment": "dev", "version": 1}}, NOT_FOUND),
        Bad("unknown version", DEPLOY, target("dev", version=9), NOT_FOUND),
        Bad("production takes PRODUCTION only", DEPLOY, target("production", version=4), "FAILED_PRECONDITION",
            "PRODUCTION"),
        Bad("what is served already", DEPLOY, target("dev", version=3), "FAILED_PRECONDITION", "already"),
    ],
    "startCanary": [
        Bad("percent 0", START_CANARY, target("dev", version=4, percent=0), BAD, "1-99"),
        Bad("percent 100", START_CANARY, target("dev", version=4, percent=100), BAD, "1-99"),
        Bad("a canary runs already", START_CANARY, target("staging", version=1, percent=5), "FAILED_PRECONDITION",
            "canary is running"),
        Bad("nothing deployed", START_CANARY, target("sandbox", version=4, percent=5), "FAILED_PRECONDITION",
            "deploy a version"),
    ],
    "setCanaryTraffic": [
        Bad("no canary", SET_CANARY, target("dev", percent=20), "FAILED_PRECONDITION", "no canary"),
        Bad("percent 101", SET_CANARY, target("staging", percent=101), BAD),
    ],
    "abortCanary": [Bad("no canary", ABORT_CANARY, target("dev"), "FAILED_PRECONDITION", "no canary")],
    "promoteCanary": [Bad("no canary", PROMOTE_CANARY, target("dev"), "FAILED_PRECONDITION", "no canary"),
                      Bad("never deployed", PROMOTE_CANARY, target("sandbox"), "FAILED_PRECONDITION")],
    "addShadow": [Bad("in the deployment already", ADD_SHADOW, target("staging", version=4), "FAILED_PRECONDITION",
                      "already")],
    "removeShadow": [Bad("not a shadow", REMOVE_SHADOW, target("staging", version=3), "FAILED_PRECONDITION",
                         "not a shadow")],
    "rollbackDeployment": [Bad("nothing before", ROLLBACK_DEPLOYMENT, target("dev"), "FAILED_PRECONDITION",
                               "no earlier"),
                           Bad("never deployed", ROLLBACK_DEPLOYMENT, target("sandbox"), "FAILED_PRECONDITION"),
                           Bad("a revision since", ROLLBACK_DEPLOYMENT, target("staging", expectedRevision=1),
                               "FAILED_PRECONDITION", "now, not 1")],
    "undeploy": [Bad("never deployed", UNDEPLOY, target("sandbox"), "FAILED_PRECONDITION", "not deployed"),
                 Bad("unknown environment", UNDEPLOY, target("moon"), BAD, "MODELREG_ENVIRONMENTS"),
                 Bad("a revision since", UNDEPLOY, target("dev", expectedRevision=0), "FAILED_PRECONDITION",
                     "now, not 0")],
}

CASES: dict[str, list[Bad]] = {
    "createRegisteredModel": [
        *[Bad(f"name {name!r}", CREATE_MODEL, {"input": {"name": name}}, BAD, "name") for name in BAD_NAMES],
        Bad("name left out (literal)", CREATE_MODEL_WITHOUT_NAME, None, BAD, "required field 'name'"),
        Bad("name left out (variable)", CREATE_MODEL, {"input": {}}, BAD, "required field 'name'"),
        Bad("name null", CREATE_MODEL, {"input": {"name": None}}, BAD),
        Bad("name a number (literal)", CREATE_MODEL_WITH_NUMBER_NAME, None, BAD),
        Bad("name a number (variable)", CREATE_MODEL, {"input": {"name": 5}}, BAD),
        Bad("no input", CREATE_MODEL_WITHOUT_INPUT, None, BAD, "input"),
        Bad("input left out", CREATE_MODEL, None, BAD),
        Bad("unknown field", CREATE_MODEL, {"input": {"name": "x", "stage": "PRODUCTION"}}, BAD, "stage"),
        Bad("description over 20000", CREATE_MODEL, {"input": {"name": "x", "description": "d" * 20001}}, BAD,
            "20000"),
        Bad("owner over 256", CREATE_MODEL, {"input": {"name": "x", "owner": "o" * 257}}, BAD, "owner"),
        Bad("tag value over 5000", CREATE_MODEL, {"input": {"name": "x", "tags": [{"key": "k", "value": "v" * 5001}]}},
            BAD, "5000"),
        Bad("empty tag key", CREATE_MODEL, {"input": {"name": "x", "tags": [{"key": "", "value": "v"}]}}, BAD),
        Bad("tag key over 250", CREATE_MODEL, {"input": {"name": "x", "tags": [{"key": "k" * 251, "value": "v"}]}},
            BAD),
        Bad("tag key with '='", CREATE_MODEL, {"input": {"name": "x", "tags": [{"key": "a=b", "value": "v"}]}}, BAD),
        Bad("tag value null", CREATE_MODEL, {"input": {"name": "x", "tags": [{"key": "k", "value": None}]}}, BAD),
        Bad("1001 tags", CREATE_MODEL,
            {"input": {"name": "x", "tags": [{"key": f"k{i}", "value": "v"} for i in range(1001)]}}, BAD, "1000"),
        Bad("existing model", CREATE_MODEL, {"input": {"name": "m"}}, CONFLICT, "already exists"),
        Bad("existing model, other details", CREATE_MODEL, {"input": {"name": "doomed", "description": "x"}},
            CONFLICT),
        Bad("use case over 1000", CREATE_MODEL, {"input": {"name": "x", "useCase": "u" * 1001}}, BAD, "useCase"),
        Bad("unknown risk tier", CREATE_MODEL, {"input": {"name": "x", "riskTier": "EXTREME"}}, BAD),
        Bad("unknown regulatory status", CREATE_MODEL, {"input": {"name": "x", "regulatoryStatus": "FINE"}}, BAD),
    ],
    "updateRegisteredModel": [
        Bad("unknown model", UPDATE_MODEL, {"input": {"name": "nope", "description": "x"}}, NOT_FOUND, "'nope'"),
        Bad("description over 20000", UPDATE_MODEL, model(description="d" * 20001), BAD, "20000"),
        Bad("empty owner", UPDATE_MODEL, model(owner=""), BAD, "owner"),
        Bad("owner over 256", UPDATE_MODEL, model(owner="o" * 257), BAD, "owner"),
        Bad("rename", UPDATE_MODEL, model(newName="n"), BAD, "newName"),
        Bad("use case over 1000", UPDATE_MODEL, model(useCase="u" * 1001), BAD, "useCase"),
        Bad("risk tier lowercase", UPDATE_MODEL, model(riskTier="high"), BAD),
        Bad("name left out", UPDATE_MODEL, {"input": {"description": "x"}}, BAD),
    ],
    "deleteRegisteredModel": [
        Bad("unknown model", DELETE_MODEL, {"input": {"name": "nope"}}, NOT_FOUND),
        Bad("empty name", DELETE_MODEL, {"input": {"name": ""}}, NOT_FOUND),
        Bad("name left out", DELETE_MODEL, {"input": {}}, BAD),
    ],
    "setRegisteredModelTag": [
        Bad("unknown model", SET_MODEL_TAG, {"input": {"name": "nope", "key": "k", "value": "v"}}, NOT_FOUND),
        Bad("empty key", SET_MODEL_TAG, model(key="", value="v"), BAD),
        Bad("key over 250", SET_MODEL_TAG, model(key="k" * 251, value="v"), BAD),
        Bad("key with newline", SET_MODEL_TAG, model(key="k\n", value="v"), BAD),
        Bad("value over 5000", SET_MODEL_TAG, model(key="mt", value="v" * 5001), BAD, "5000"),
        Bad("value left out", SET_MODEL_TAG, model(key="k"), BAD),
    ],
    "deleteRegisteredModelTag": [
        Bad("unknown tag", DELETE_MODEL_TAG, model(key="nope"), NOT_FOUND, "'nope'"),
        Bad("unknown model", DELETE_MODEL_TAG, {"input": {"name": "nope", "key": "mt"}}, NOT_FOUND),
    ],
    "createArtifactUpload": [
        Bad("input left out", "mutation { createArtifactUpload { uploadId } }", None, BAD, "input"),
        Bad("unknown field", "mutation { createArtifactUpload(input: {size: 3}) { uploadId } }", None, BAD, "size"),
    ],
    "createModelVersion": [
        Bad("dataset by id and inline", CREATE_VERSION,
            lambda seeded: version(datasets=[{"id": seeded["dataset_id"], "dataset": {"name": "d", "version": "1"}}]),
            BAD, "not both"),
        Bad("dataset used as PRODUCED", CREATE_VERSION,
            lambda seeded: version(datasets=[{"id": seeded["dataset_id"], "kind": "PRODUCED"}]), BAD, "datasets[0].kind"),
        Bad("dataset id of a version", CREATE_VERSION, lambda seeded: version(datasets=[{"id": seeded["version_id"]}]),
            BAD, "Dataset"),
        Bad("unknown dataset", CREATE_VERSION, version(datasets=[{"id": UNKNOWN_DATASET}]), NOT_FOUND),
        Bad("inline dataset without version or digest", CREATE_VERSION, version(datasets=[{"dataset": {"name": "d"}}]),
            BAD, "datasets[0].dataset.version"),
        Bad("inline dataset conflicting", CREATE_VERSION,
            version(datasets=[{"dataset": {"name": "seed-data", "version": "1", "uri": "s3://other"}}]), CONFLICT, "uri"),
        Bad("parent by id and uri", CREATE_VERSION,
            lambda seeded: version(parents=[{"id": seeded["version_id"], "uri": "models:/m/1"}]), BAD, "not both"),
        Bad("unknown parent uri", CREATE_VERSION, version(parents=[{"uri": "models:/m/99"}]), NOT_FOUND),
        Bad("parent uri malformed", CREATE_VERSION, version(parents=[{"uri": "m/1"}]), BAD, "uri"),
        Bad("101 parents", CREATE_VERSION, version(parents=[{"uri": "models:/m/1"}] * 101), BAD, "100"),
        Bad("run with empty id", CREATE_VERSION, version(run={"runId": ""}), BAD, "run.runId"),
        Bad("code with bad commit", CREATE_VERSION, version(code={"repositoryUrl": "https://g", "commitSha": "HEAD"}),
            BAD, "code.commitSha"),
        Bad("files and artifact both", CREATE_VERSION, version(artifact={"uri": "s3://x"}, files=[
            {"path": "a", "digest": "sha256:" + "a" * 64}]), BAD, "not both"),
        Bad("file without digest or upload", CREATE_VERSION, version(files=[{"path": "a"}]), BAD, "uploadId"),
        Bad("file digest malformed", CREATE_VERSION, version(files=[{"path": "a", "digest": "md5:abc"}]), BAD),
        Bad("file path escapes", CREATE_VERSION, version(files=[{"path": "../a", "digest": "sha256:" + "a" * 64}]),
            BAD, "'..'"),
        Bad("file listed twice", CREATE_VERSION, version(files=[{"path": "a", "digest": "sha256:" + "a" * 64}] * 2),
            BAD, "twice"),
        Bad("file media type malformed", CREATE_VERSION, version(files=[
            {"path": "a", "digest": "sha256:" + "a" * 64, "mediaType": "not a type"}]), BAD, "media type"),
        Bad("file size fractional", CREATE_VERSION, version(files=[
            {"path": "a", "uploadId": "u", "digest": "sha256:" + "a" * 64, "size": 1.5}]), BAD, "whole number"),
        Bad("file not uploaded", CREATE_VERSION, version(files=[{"path": "a", "digest": "sha256:" + "a" * 64}]),
            "FAILED_PRECONDITION", "were not uploaded"),
        Bad("unknown model", CREATE_VERSION, {"input": {"name": "nope"}}, NOT_FOUND, "createModelIfMissing"),
        *[Bad(f"new model named {name!r}", CREATE_VERSION, {"input": {"name": name, "createModelIfMissing": True}},
              BAD, "name") for name in ["", "n" * 257, "a/../b", "/leading", "has space"]],
        Bad("new model with a bad commit", CREATE_VERSION,
            {"input": {"name": "new", "createModelIfMissing": True,
                       "code": {"repositoryUrl": "https://git", "commitSha": "XYZ"}}}, BAD, "commitSha"),
        Bad("name left out", CREATE_VERSION, {"input": {"createModelIfMissing": True}}, BAD),
        Bad("description over 20000", CREATE_VERSION, version(description="d" * 20001), BAD, "20000"),
        Bad("flavor over 100", CREATE_VERSION, version(flavor="f" * 101), BAD, "flavor"),
        Bad("metric 1e309 (variable)", CREATE_VERSION, version(metrics=[{"name": "acc", "value": INFINITE}]), BAD),
        Bad("metric NaN (variable)", CREATE_VERSION, version(metrics=[{"name": "acc", "value": NOT_A_NUMBER}]), BAD),
        Bad("metric 1e309 (literal)", CREATE_VERSION_WITH_INFINITE_METRIC, None, BAD, "finite"),
        Bad("metric a string", CREATE_VERSION_WITH_STRING_METRIC, None, BAD),
        Bad("metric a string (variable)", CREATE_VERSION, version(metrics=[{"name": "acc", "value": "0.9"}]), BAD),
        Bad("metric value left out", CREATE_VERSION, version(metrics=[{"name": "acc"}]), BAD),
        Bad("metric without name", CREATE_VERSION, version(metrics=[{"name": "", "value": 1}]), BAD),
        Bad("negative step", CREATE_VERSION, version(metrics=[{"name": "acc", "value": 1, "step": -1}]), BAD, "step"),
        Bad("step over 32 bits", CREATE_VERSION, version(metrics=[{"name": "acc", "value": 1, "step": 2**31}]), BAD),
        Bad("metric given twice", CREATE_VERSION,
            version(metrics=[{"name": "acc", "value": 1}, {"name": "acc", "value": 2}]), BAD, "twice"),
        Bad("dataset over 500", CREATE_VERSION, version(metrics=[{"name": "acc", "value": 1, "dataset": "d" * 501}]),
            BAD),
        *[Bad(f"commit {sha!r}", CREATE_VERSION,
              version(code={"repositoryUrl": "https://git/repo", "commitSha": sha}), BAD, "commitSha")
          for sha in ["", "abc", "XYZXYZX", "ABCDEF1", "abcdef1\n", "a" * 65, "g" * 40]],
        Bad("code without repository", CREATE_VERSION, version(code={"repositoryUrl": "", "commitSha": "abcdef1"}),
            BAD, "repositoryUrl"),
        Bad("digest not sha256", CREATE_VERSION, version(artifact={"uri": "s3://x", "digest": f"md5:{SHA}"}), BAD,
            "digest"),
        Bad("digest too short", CREATE_VERSION, version(artifact={"uri": "s3://x", "digest": "sha256:abc"}), BAD),
        Bad("negative size", CREATE_VERSION, version(artifact={"uri": "s3://x", "size": -1}), BAD, "size"),
        Bad("size over 64 bits", CREATE_VERSION, version(artifact={"uri": "s3://x", "size": 1e30}), BAD, "size"),
        Bad("size 1e309 (variable)", CREATE_VERSION, version(artifact={"uri": "s3://x", "size": INFINITE}), BAD),
        Bad("artifact without uri", CREATE_VERSION, version(artifact={"uri": ""}), BAD, "artifact.uri"),
        Bad("signature a list", CREATE_VERSION, version(signature=[1, 2]), BAD, "signature"),
        Bad("signature with unknown keys", CREATE_VERSION, version(signature={"inputs": [], "x": 1}), BAD,
            "unknown keys"),
        Bad("signature over 256 KiB", CREATE_VERSION, version(signature={"inputs": "x" * 270_000}), BAD, "256"),
        Bad("signature holding NaN", CREATE_VERSION, version(signature={"inputs": [NOT_A_NUMBER]}), BAD,
            "signature"),
        Bad("signature holding 1e309", CREATE_VERSION, version(signature={"inputs": {"max": INFINITE}}), BAD,
            "signature"),
        Bad("param given twice", CREATE_VERSION,
            version(params=[{"name": "lr", "value": "1"}, {"name": "lr", "value": "2"}]), BAD, "params"),
        Bad("param value over 6000", CREATE_VERSION, version(params=[{"name": "lr", "value": "v" * 6001}]), BAD),
        Bad("tag value over 5000", CREATE_VERSION, version(tags=[{"key": "k", "value": "v" * 5001}]), BAD, "5000"),
        Bad("empty run id", CREATE_VERSION, version(run={"runId": ""}), BAD, "runId"),
        Bad("unknown tracker", CREATE_VERSION, version(run={"runId": "r", "tracker": "COMET"}), BAD),
        Bad("stage given", CREATE_VERSION, version(stage="PRODUCTION"), BAD, "stage"),
        Bad("version number given", CREATE_VERSION, version(version=7), BAD, "version"),
    ],
    "updateModelVersion": [
        Bad("unknown version", UPDATE_VERSION, version(version=9, description="x"), NOT_FOUND, "no version 9"),
        Bad("unknown model", UPDATE_VERSION, {"input": {"name": "nope", "version": 1}}, NOT_FOUND),
        Bad("description over 20000", UPDATE_VERSION, version(version=1, description="d" * 20001), BAD, "20000"),
        Bad("version left out", UPDATE_VERSION_WITHOUT_NUMBER, None, BAD, "version"),
        Bad("version a string", UPDATE_VERSION, version(version="1"), BAD),
        Bad("version over 32 bits", UPDATE_VERSION, version(version=2**31), BAD),
    ],
    "deleteModelVersion": [
        Bad("unknown version", DELETE_VERSION, version(version=9), NOT_FOUND),
        Bad("unknown model", DELETE_VERSION, {"input": {"name": "nope", "version": 1}}, NOT_FOUND),
        Bad("version null", DELETE_VERSION, version(version=None), BAD),
    ],
    "setModelVersionTag": [
        Bad("unknown version", SET_VERSION_TAG, version(version=9, key="k", value="v"), NOT_FOUND),
        Bad("unknown model", SET_VERSION_TAG, {"input": {"name": "nope", "version": 1, "key": "k", "value": "v"}},
            NOT_FOUND),
        Bad("bad key", SET_VERSION_TAG, version(version=1, key="a=b", value="v"), BAD),
        Bad("value over 5000", SET_VERSION_TAG, version(version=1, key="vt", value="v" * 5001), BAD, "5000"),
    ],
    "deleteModelVersionTag": [
        Bad("unknown tag", DELETE_VERSION_TAG, version(version=1, key="nope"), NOT_FOUND),
        Bad("unknown version", DELETE_VERSION_TAG, version(version=9, key="vt"), NOT_FOUND),
    ],
    "setModelAlias": [
        *[Bad(f"alias {alias!r}", SET_ALIAS, version(alias=alias, version=2), BAD, "alias")
          for alias in ["", "1st", "-x", "has space", "a" * 65, "a@b", "a/b", "a.b", "champion\n"]],
        *[Bad(f"reserved alias {alias!r}", SET_ALIAS, version(alias=alias, version=2), BAD, "reserved")
          for alias in ["latest", "Latest", "production", "STAGING", "None", "archived"]],
        Bad("unknown version", SET_ALIAS, version(alias="stable", version=9), NOT_FOUND),
        Bad("unknown model", SET_ALIAS, {"input": {"name": "nope", "alias": "a", "version": 1}}, NOT_FOUND),
        Bad("version left out", SET_ALIAS_WITHOUT_VERSION, None, BAD),
    ],
    "deleteModelAlias": [
        Bad("unknown alias", DELETE_ALIAS, version(alias="nope"), NOT_FOUND, "'nope'"),
        Bad("unknown model", DELETE_ALIAS, {"input": {"name": "nope", "alias": "stable"}}, NOT_FOUND),
    ],
    **GOVERNANCE_CASES,
    **LINEAGE_CASES,
    **WEBHOOK_CASES,
    **DEPLOYMENT_CASES,
    "registeredModels": [
        Bad("page size 101", LIST_MODELS, {"first": 101}, BAD, "100"),
        Bad("negative page size", LIST_MODELS, {"first": -1}, BAD),
        Bad("page size over 32 bits", LIST_MODELS, {"first": 2**31}, BAD),
        *[Bad(f"cursor {cursor!r}", LIST_MODELS, {"first": 5, "after": cursor}, BAD, "cursor")
          for cursor in ["garbage", "!!!", b64("not json"), b64("[1]"), b64('{"a": 1}'), b64('["x", "y"]'),
                         b64('[{"t": "yesterday"}, 1]'), b64('[{"x": 1}, 1]'), b64('["m", 1.5]')]],
        Bad("unknown order field", LIST_MODELS, {"first": 5, "order": {"field": "SIZE"}}, BAD),
    ],
    "modelVersions": [
        Bad("page size 101", LIST_VERSIONS, {"first": 101}, BAD, "100"),
        Bad("metric order without a metric", LIST_VERSIONS, {"first": 5, "order": {"field": "METRIC"}}, BAD,
            "orderBy.metric"),
        Bad("garbage cursor", LIST_VERSIONS, {"first": 5, "after": "garbage"}, BAD, "cursor"),
        Bad("nested page size 101", LIST_VERSIONS_OF_MODEL, {"first": 101}, BAD, "100"),
    ],
    "node": [
        *[Bad(f"id {global_id!r}", NODE, {"id": global_id}, BAD, "id")
          for global_id in ["garbage", "!!!", "", b64("RegisteredModel:abc"), b64("RegisteredModel:"),
                            b64("RegisteredModel")]],
    ],
    "resolveModelUri": [
        *[Bad(f"uri {uri!r}", RESOLVE, {"uri": uri}, BAD, "uri")
          for uri in ["m/1", "models:m/1", "runs:/abc/model", "models:/", "models:/m", "models:/m/", "models:/m/bogus",
                      "models:/m/-1", "models:/m/1.0", "models:/m@", "models:/m@1st", "models:/m@latest",
                      "models:/a/../b/1", "models:/m/2147483648", "models:/m/99999999999999999999", "models:/m/²",
                      "models:/m/１", "models:/" + "m" * 600 + "/1"]],
        Bad("unknown model", RESOLVE, {"uri": "models:/nope/1"}, NOT_FOUND),
        Bad("unknown version", RESOLVE, {"uri": "models:/m/9"}, NOT_FOUND),
        Bad("unknown alias", RESOLVE, {"uri": "models:/m@nope"}, NOT_FOUND),
        Bad("empty stage", RESOLVE, {"uri": "models:/doomed/Production"}, NOT_FOUND, "PRODUCTION"),
    ],
    "modelVersion": [
        Bad("version over 32 bits", GET_VERSION, {"version": 2**31}, BAD),
    ],
}


async def call(api, case: Bad, seeded: dict[str, Any] | None = None) -> dict[str, Any]:
    variables = case.variables(seeded) if callable(case.variables) else case.variables
    body = raw_json({"query": case.document, "variables": variables or {}})
    response = await api.client.post("/graphql", content=body, headers={
        "content-type": "application/json", "authorization": f"Bearer {token(api, case.role)}"})
    assert response.status_code == 200, response.text
    return response.json()


def problem_with(case: Bad, body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    if len(errors) != 1:
        return f"{case.label}: expected one {case.code} error, got {body}"
    found = errors[0]
    if found.get("extensions", {}).get("code") != case.code:
        return f"{case.label}: expected {case.code}, got {found}"
    if case.says and case.says not in found["message"]:
        return f"{case.label}: message {found['message']!r} does not mention {case.says!r}"
    return None


@pytest.mark.parametrize("field", list(CASES))
async def test_bad_input_is_refused_and_writes_nothing(api, field):
    seeded = await seed(api)
    before = stored(api)
    problems = []
    for case in CASES[field]:
        problem = problem_with(case, await call(api, case, seeded))
        after = stored(api)
        if problem is None and after != before:
            problem = f"{case.label}: refused, but the stored data changed"
        if problem:
            problems.append(problem)
        before = after  # so that one case's write is not blamed on the next
    assert not problems, "\n".join(problems)


@pytest.mark.backend_independent
def test_every_mutation_has_bad_input_cases():
    mutations = {name for name, kind in root_fields().items() if kind == "Mutation"}
    assert mutations <= set(CASES)


# The limits themselves are allowed: the largest accepted values are stored and read back whole.

AT_THE_LIMITS = """
mutation AtTheLimits($model: CreateRegisteredModelInput!, $version: CreateModelVersionInput!) {
  createRegisteredModel(input: $model) { registeredModel { name description owner tags { key value } } }
  createModelVersion(input: $version) {
    modelVersion {
      description flavor run { runId } code { commitSha } artifact { digest size }
      metrics { name value dataset step } params { name value } tags { key value }
    }
  }
}
"""
SET_ALIAS_AT_THE_LIMIT = """
mutation SetLongAlias($name: String!, $alias: String!) {
  setModelAlias(input: {name: $name, alias: $alias, version: 1}) { modelAlias { alias uri } }
}
"""


async def test_values_at_the_limits_are_stored_whole(api):
    name = "/".join(["n" * 84] * 3) + "-x"  # 256 characters with namespaces
    assert len(name) == 256
    model = {"name": name, "description": "d" * 20_000, "owner": "o" * 256,
             "tags": [{"key": "k" * 250, "value": "v" * 5000}]}
    new_version = {
        "name": name, "description": "d" * 20_000, "flavor": "f" * 100, "run": {"runId": "r" * 256},
        "code": {"repositoryUrl": "https://git/repo", "commitSha": "c" * 64},
        "artifact": {"uri": "s3://x", "digest": SHA, "size": 2**53},
        "metrics": [{"name": "m" * 250, "value": 1e308, "dataset": "d" * 500, "step": 2**31 - 1},
                    {"name": "tiny", "value": -1e-300}],
        "params": [{"name": "p" * 250, "value": "v" * 6000}],
        "tags": [{"key": "t" * 250, "value": "v" * 5000}],
    }
    data = await ok(api, AT_THE_LIMITS, {"model": model, "version": new_version}, "data-scientist")
    saved = data["createRegisteredModel"]["registeredModel"]
    assert saved == {"name": name, "description": "d" * 20_000, "owner": "o" * 256,
                      "tags": [{"key": "k" * 250, "value": "v" * 5000}]}
    registered = data["createModelVersion"]["modelVersion"]
    assert registered["artifact"] == {"digest": f"sha256:{SHA}", "size": 2**53}
    assert registered["code"] == {"commitSha": "c" * 64}
    assert registered["metrics"] == [{"name": "m" * 250, "value": 1e308, "dataset": "d" * 500, "step": 2**31 - 1},
                                     {"name": "tiny", "value": -1e-300, "dataset": None, "step": None}]
    assert registered["params"] == [{"name": "p" * 250, "value": "v" * 6000}]
    alias = await ok(api, SET_ALIAS_AT_THE_LIMIT, {"name": name, "alias": "a" * 64}, "data-scientist")
    assert alias["setModelAlias"]["modelAlias"]["uri"] == f"models:/{name}@{'a' * 64}"
    resolved = await ok(api, RESOLVE, {"uri": f"models:/{name}@{'a' * 64}"}, "auditor")
    assert resolved["resolveModelUri"]["pinnedUri"] == f"models:/{name}/1"


async def test_page_size_limits_are_inclusive(api):
    await seed(api)
    assert (await ok(api, LIST_MODELS, {"first": 100}))["registeredModels"]["totalCount"] == 2
    assert (await ok(api, LIST_MODELS, {"first": 0}))["registeredModels"]["edges"] == []


async def test_ids_that_point_nowhere_read_as_null(api):
    ids = await seed(api)
    assert (await ok(api, NODE, {"id": b64("Foo:1")}))["node"] is None
    assert (await ok(api, NODE, {"id": b64("RegisteredModel:999")}))["node"] is None
    assert (await ok(api, NODE, {"id": ids["model_id"]}))["node"] == {"id": ids["model_id"]}


# Cursors, ids, sizes and duplicate keys that once slipped through as INTERNAL errors or silent data loss.


@pytest.mark.parametrize("cursor", [b64('["m", 1]'), b64("[[1, 2], 3]"), b64('["m", 99999999999999999999]')],
                         ids=["name cursor with CREATED_AT order", "list as sort value", "id over 64 bits"])
async def test_cursor_of_the_wrong_shape_is_bad_input(api, cursor):
    await seed(api)
    case = Bad("cursor", LIST_MODELS, {"first": 5, "after": cursor, "order": {"field": "CREATED_AT"}}, BAD, "cursor")
    problem = problem_with(case, await call(api, case))
    assert problem is None, problem


async def test_global_id_beyond_64_bits_is_bad_input(api):
    case = Bad("huge id", NODE, {"id": b64("RegisteredModel:99999999999999999999")}, BAD, "id")
    problem = problem_with(case, await call(api, case))
    assert problem is None, problem


async def test_infinite_literal_artifact_size_is_bad_input(api):
    await seed(api)
    case = Bad("size 1e309 literal",
               'mutation { createModelVersion(input: {name: "m", artifact: {uri: "x", size: 1e309}}) '
               "{ modelVersion { version } } }", None, BAD)
    problem = problem_with(case, await call(api, case))
    assert problem is None, problem


async def test_fractional_artifact_size_is_bad_input(api):
    await seed(api)
    case = Bad("size 1.5", CREATE_VERSION, version(artifact={"uri": "s3://x", "size": 1.5}), BAD, "size")
    problem = problem_with(case, await call(api, case))
    assert problem is None, problem


@pytest.mark.parametrize("document", [CREATE_MODEL, CREATE_VERSION], ids=["model", "version"])
async def test_tag_key_given_twice_is_bad_input(api, document):
    await seed(api)
    tags = [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]
    variables = {"input": {"name": "new", "tags": tags}} if document is CREATE_MODEL else version(tags=tags)
    case = Bad("tag twice", document, variables, BAD, "tags")
    problem = problem_with(case, await call(api, case))
    assert problem is None, problem
