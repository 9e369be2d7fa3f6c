"""Every door decides as GraphQL does with scoped roles (issue 18): the MLflow-compatible REST API, the artifact upload
and download endpoints (ours and MLflow's artifact proxy), the serving endpoint and the audit export. Each is an
adapter over the same use cases, so a data scientist within ``fraud/`` changes ``fraud/`` models through MLflow's API
and not ``churn/`` ones, a role-less caller reads nothing, a scoped auditor does not export the (registry-wide) audit
log; every refusal is FORBIDDEN (MLflow's PERMISSION_DENIED) and recorded in the audit log, where the global auditor
sees it. In the default reads mode (``global``) every role reads the whole catalogue; in the scoped mode (the end of
this module) a model out of the caller's namespaces answers through every door as one that does not exist."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.support.client import Api, api_with_settings

MLFLOW = "/api/2.0/mlflow"
DATA = b"scoped-doors"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
FRAUD_DS, CHURN_DS, CHURN_MLOPS = "data-scientist@fraud/", "data-scientist@churn/", "mlops@churn/"
FRAUD_AUDITOR, NOBODY = "auditor@fraud/", "nobody"

CREATE_VERSION = """
mutation($name: String!, $digest: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true, files: [{path: "f.bin", digest: $digest}]}) {
    modelVersion { version }
  }
}
"""
DEPLOY = """
mutation($name: String!) { deploy(input: {name: $name, environment: "dev", version: 1}) { deployment { revision } } }
"""
NOW = "query { auditEvents(first: 1) { nodes { occurredAt } } }"
DENIED = """
query($from: DateTime!) {
  auditEvents(first: 100, filter: {outcome: FORBIDDEN, from: $from}) {
    nodes { actor { subject } actorRoles action detail }
  }
}
"""


def caller(api: Api, role: str) -> dict[str, str]:
    """Headers of a caller whose subject is its role (``data-scientist@fraud/``)."""
    return {"authorization": f"Bearer {api.token(role, sub=role)}"}


async def seed(api: Api) -> str:
    """fraud/detector and churn/predictor, each with version 1 (one stored file) deployed in dev, by global roles;
    returns the time to read refusals from."""
    assert (await api.client.put("/api/artifacts/blobs", content=DATA, headers=caller(api, "mlops"))).status_code \
        == 201
    for name in ("fraud/detector", "churn/predictor"):
        await api.ok(CREATE_VERSION, {"name": name, "digest": DIGEST})
        await api.ok(DEPLOY, {"name": name})
    return (await api.ok(NOW, None, "auditor"))["auditEvents"]["nodes"][0]["occurredAt"]


async def send(api: Api, role: str, method: str, path: str, body: dict[str, Any] | None = None):
    if method == "GET":
        return await api.client.get(path, params=body, headers=caller(api, role))
    return await api.client.request(method, path, json=body, headers=caller(api, role))


# (caller, method, path, body, audit action): MLflow's registry API on the other team's model, then the other doors.
REFUSED = [
    (CHURN_DS, "POST", f"{MLFLOW}/registered-models/create", {"name": "fraud~intruder"}, "model.create"),
    (CHURN_DS, "PATCH", f"{MLFLOW}/registered-models/update", {"name": "fraud~detector", "description": "x"},
     "model.update"),
    (CHURN_DS, "POST", f"{MLFLOW}/registered-models/set-tag", {"name": "fraud~detector", "key": "k", "value": "v"},
     "model.tag.set"),
    (CHURN_DS, "POST", f"{MLFLOW}/registered-models/alias",
     {"name": "fraud~detector", "alias": "latest-good", "version": "1"}, "alias.set"),
    (CHURN_DS, "POST", f"{MLFLOW}/model-versions/create", {"name": "fraud~detector", "source": "s3://bucket/m"},
     "version.create"),
    (CHURN_DS, "PATCH", f"{MLFLOW}/model-versions/update",
     {"name": "fraud~detector", "version": "1", "description": "x"}, "version.update"),
    (CHURN_DS, "POST", f"{MLFLOW}/model-versions/transition-stage",
     {"name": "fraud~detector", "version": "1", "stage": "Staging"}, "transition.request"),
    (CHURN_MLOPS, "DELETE", f"{MLFLOW}/model-versions/delete", {"name": "fraud~detector", "version": "1"},
     "version.delete"),
    (CHURN_MLOPS, "DELETE", f"{MLFLOW}/registered-models/delete", {"name": "fraud~detector"}, "model.delete"),
    (NOBODY, "GET", f"{MLFLOW}/registered-models/get", {"name": "churn~predictor"}, "registry.read"),
    # Artifacts: uploading takes artifact:write somewhere; downloading any role (an auditor holds no write).
    (FRAUD_AUDITOR, "PUT", "/api/artifacts/blobs", None, "artifact.upload"),
    (NOBODY, "GET", "/api/artifacts/files", {"uri": "models:/fraud/detector/1", "path": "f.bin"},
     "artifact.download"),
    (NOBODY, "GET", "/api/2.0/mlflow-artifacts/artifacts/models/fraud~detector/1/f.bin", None, "artifact.download"),
    # Serving, and the audit export (registry-wide: a role within a namespace does not grant it).
    (NOBODY, "GET", "/api/serving/dev/fraud/detector", None, "registry.read"),
    (FRAUD_AUDITOR, "GET", "/api/audit/export", None, "audit.export"),
]


async def test_every_door_refuses_out_of_scope_callers_and_audits_it(api: Api):
    since = await seed(api)
    for role, method, path, body, _ in REFUSED:
        if path == "/api/artifacts/blobs":
            response = await api.client.put(path, content=DATA, headers=caller(api, role))
        else:
            response = await send(api, role, method, path, body)
        assert response.status_code == 403, (role, path, response.status_code, response.text)
        error = response.json()
        code = error.get("error_code") or error.get("error", {}).get("code")
        assert code in ("PERMISSION_DENIED", "FORBIDDEN"), (path, error)
    # Nothing changed on the fraud model.
    model = (await send(api, FRAUD_DS, "GET", f"{MLFLOW}/registered-models/get", {"name": "fraud~detector"})).json()
    assert model["registered_model"].get("description", "") == "" and not model["registered_model"].get("tags")
    assert (await api.ok('{ registeredModel(name: "fraud/intruder") { name } }'))["registeredModel"] is None

    # The global auditor sees each refusal, with the caller's scoped role.
    events = (await api.ok(DENIED, {"from": since}, "auditor"))["auditEvents"]["nodes"]
    seen = sorted((event["actor"]["subject"], event["action"]) for event in events)
    assert seen == sorted((role, action) for role, _, _, _, action in REFUSED), seen
    assert all(event["actorRoles"] == [event["actor"]["subject"]] for event in events
               if event["actor"]["subject"] != NOBODY)


@pytest.mark.parametrize("role", [FRAUD_DS, "data-scientist"], ids=["in scope", "global"])
async def test_in_scope_callers_pass_every_door(api: Api, role: str):
    await seed(api)
    allowed = [
        ("POST", f"{MLFLOW}/registered-models/create", {"name": "fraud~new"}),
        ("PATCH", f"{MLFLOW}/registered-models/update", {"name": "fraud~detector", "description": "changed"}),
        ("POST", f"{MLFLOW}/registered-models/set-tag", {"name": "fraud~detector", "key": "k", "value": "v"}),
        ("POST", f"{MLFLOW}/registered-models/alias", {"name": "fraud~detector", "alias": "latest-good",
                                                        "version": "1"}),
        ("POST", f"{MLFLOW}/model-versions/create", {"name": "fraud~detector", "source": "s3://bucket/m"}),
        ("POST", f"{MLFLOW}/model-versions/transition-stage",
         {"name": "fraud~detector", "version": "1", "stage": "Staging"}),
        ("GET", f"{MLFLOW}/registered-models/get", {"name": "churn~predictor"}),  # reads stay open (global mode)
        ("GET", f"{MLFLOW}/model-versions/get-download-uri", {"name": "fraud~detector", "version": "1"}),
        ("GET", "/api/artifacts/files", {"uri": "models:/fraud/detector/1", "path": "f.bin"}),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/models/fraud~detector/1/f.bin", None),
        ("GET", "/api/serving/dev/fraud/detector", None),
        ("GET", "/api/serving/dev/churn/predictor", None),
    ]
    for method, path, body in allowed:
        response = await send(api, role, method, path, body)
        assert response.status_code == 200, (role, path, response.status_code, response.text)
    upload = await api.client.put("/api/artifacts/blobs", content=b"new bytes", headers=caller(api, role))
    assert upload.status_code == 201, upload.text  # staged content belongs to no model: a role anywhere may upload
    model = (await api.ok('{ registeredModel(name: "fraud/detector") { description aliases { alias } '
                          "versions(first: 5) { nodes { version stage } } } }"))["registeredModel"]
    assert model["description"] == "changed" and model["aliases"] == [{"alias": "latest-good"}]
    assert {(v["version"], v["stage"]) for v in model["versions"]["nodes"]} == {(1, "STAGING"), (2, "NONE")}


async def test_the_audit_export_takes_a_global_auditor(api: Api):
    await seed(api)
    exported = await api.client.get("/api/audit/export", headers=caller(api, "auditor"))
    assert exported.status_code == 200 and b"deployment.deploy" in exported.content


# The scoped reads mode (MODELREG_READ_SCOPE=scoped): reading through any door is decided in the model's namespace, and
# a model out of scope answers as one that does not exist (404: its existence is not disclosed); the audit log is read
# within one's namespaces.

@pytest.fixture
async def scoped(settings, api: Api):
    async with api_with_settings(settings, api, read_scope="scoped") as scoped_api:
        yield scoped_api


READS = [
    ("GET", f"{MLFLOW}/registered-models/get", {"name": "{team}~detector"}),
    ("GET", f"{MLFLOW}/registered-models/get-latest-versions", {"name": "{team}~detector"}),
    ("GET", f"{MLFLOW}/model-versions/get", {"name": "{team}~detector", "version": "1"}),
    ("GET", f"{MLFLOW}/model-versions/get-download-uri", {"name": "{team}~detector", "version": "1"}),
    ("GET", f"{MLFLOW}/registered-models/alias", {"name": "{team}~detector", "alias": "latest-good"}),
    ("GET", "/api/artifacts/files", {"uri": "models:/{team}/detector/1", "path": "f.bin"}),
    ("GET", "/api/artifacts/archive", {"uri": "models:/{team}/detector/1"}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts", {"path": "models/{team}~detector/1"}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/models/{team}~detector/1/f.bin", None),
    ("GET", "/api/serving/dev/{team}/detector", None),
]


def filled(value: Any, team: str) -> Any:
    if isinstance(value, str):
        return value.replace("{team}", team)
    return {k: filled(v, team) for k, v in value.items()} if isinstance(value, dict) else value


async def test_scoped_reads_through_every_door(scoped: Api):
    api = scoped
    assert (await api.client.put("/api/artifacts/blobs", content=DATA, headers=caller(api, "mlops"))).status_code \
        == 201
    for team in ("fraud", "churn"):
        await api.ok(CREATE_VERSION, {"name": f"{team}/detector", "digest": DIGEST})
        await api.ok(DEPLOY, {"name": f"{team}/detector"})
        await api.ok('mutation($n: String!) { setModelAlias(input: {name: $n, alias: "latest-good", version: 1}) '
                     "{ modelAlias { alias } } }", {"n": f"{team}/detector"})
    problems = []
    for method, path, body in READS:
        for team, expected in (("fraud", 200), ("churn", 404)):
            response = await send(api, FRAUD_DS, method, filled(path, team), filled(body, team))
            if response.status_code != expected:
                problems.append(f"{path} on {team}: {response.status_code} {response.text[:200]}")
    searched = await send(api, FRAUD_DS, "GET", f"{MLFLOW}/registered-models/search", {"max_results": "100"})
    names = [m["name"] for m in searched.json().get("registered_models", [])]
    if names != ["fraud~detector"]:
        problems.append(f"registered-models/search shows {names}")
    versions = await send(api, FRAUD_DS, "GET", f"{MLFLOW}/model-versions/search", {"max_results": "100"})
    names = sorted({v["name"] for v in versions.json().get("model_versions", [])})
    if names != ["fraud~detector"]:
        problems.append(f"model-versions/search shows {names}")
    assert not problems, "\n".join(problems)


async def test_scoped_audit_export(scoped: Api):
    """In the scoped mode an auditor within fraud/ exports the audit events about fraud/ models and nothing else; a
    data scientist there exports nothing (FORBIDDEN)."""
    api = scoped
    assert (await api.client.put("/api/artifacts/blobs", content=DATA, headers=caller(api, "mlops"))).status_code \
        == 201
    for team in ("fraud", "churn"):
        await api.ok(CREATE_VERSION, {"name": f"{team}/detector", "digest": DIGEST})
    exported = await api.client.get("/api/audit/export", headers=caller(api, FRAUD_AUDITOR))
    assert exported.status_code == 200, exported.text
    lines = [json.loads(line) for line in exported.text.splitlines() if line.strip()]
    names = {line["target"]["name"].split("@")[0] for line in lines}
    assert names == {"fraud/detector"}, names
    everything = await api.client.get("/api/audit/export", headers=caller(api, "auditor"))
    assert {"fraud/detector", "churn/detector"} <= {json.loads(line)["target"]["name"]
                                                    for line in everything.text.splitlines() if line.strip()}
    refused = await api.client.get("/api/audit/export", headers=caller(api, FRAUD_DS))
    assert refused.status_code == 403, refused.text
