"""The web console (/) in headless Chromium against a real server: every page it has, the approval flow across three
browser contexts, hostile content shown as text, and an axe-core scan of each page.

Drives Debian's /usr/bin/chromium with playwright-core from node_modules (tests/js/console_check.mjs). Needs the
console built (`./dev setup`, or `npm run console:build`); anything missing is a failure, never a skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import dev_issuer
from tests.support.browser import ROOT, drive, require_browser_tools
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
HOSTILE_MARKDOWN = f"""# Model card

Trained on **churn events**. {HOSTILE}

<div onmouseover="window.__pwned=3">hover</div>

[click me](javascript:window.__pwned=4) and [the docs](https://example.com/docs)
"""

REGISTER_VERSION = """
mutation RegisterVersion($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { id version uri } }
}
"""
UPDATE_MODEL = """
mutation UpdateModel($input: UpdateRegisteredModelInput!) {
  updateRegisteredModel(input: $input) { registeredModel { id } }
}
"""
SET_MODEL_TAG = """
mutation Tag($input: SetRegisteredModelTagInput!) { setRegisteredModelTag(input: $input) { registeredModel { id } } }
"""
SET_ALIAS = """
mutation SetAlias($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { id } } }
"""
ATTACH_DOCUMENT = """
mutation Attach($input: AttachDocumentInput!) { attachDocument(input: $input) { modelDocument { id } } }
"""
DEPLOY = """
mutation Deploy($input: DeployInput!) { deploy(input: $input) { deployment { id revision } } }
"""
APPROVE = """
mutation Approve($input: ApproveTransitionRequestInput!) {
  approveTransitionRequest(input: $input) { transitionRequest { id status } }
}
"""
CREATE_WEBHOOK = """
mutation Hook($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }
"""
PING_WEBHOOK = """
mutation Ping($input: PingWebhookInput!) { pingWebhook(input: $input) { delivery { id eventId } } }
"""
LIST_WEBHOOKS = """
query Hooks { webhooks(first: 100) { nodes { url active events description } } }
"""
DEPLOYMENT_HISTORY = """
query History($name: String!, $environment: String!) {
  deployment(name: $name, environment: $environment) { history(first: 10) { nodes { action } } }
}
"""
REQUEST_ALIAS = """
mutation RequestAlias($input: RequestAliasTransitionInput!) {
  requestAliasTransition(input: $input) { transitionRequest { id status } }
}
"""

REQUEST_STAGE = """
mutation Request($input: RequestStageTransitionInput!) {
  requestStageTransition(input: $input) { transitionRequest { id status } }
}
"""


class Registry:
    """GraphQL calls to the live server with development tokens."""

    def __init__(self, server: LiveServer) -> None:
        self.url = server.url
        self.data_dir = server.data_dir

    def token(self, subject: str, *roles: str) -> str:
        return dev_issuer.mint_token(self.data_dir, subject=subject, roles=list(roles), audience="modelreg")

    def call(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", headers={"Authorization": f"Bearer {token}"},
                              json={"query": query, "variables": variables}, timeout=30)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        return response.json()["data"]

    def upload(self, token: str, content: bytes) -> str:
        response = httpx.put(f"{self.url}/api/artifacts/blobs", content=content,
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code in (200, 201), response.text
        return "sha256:" + hashlib.sha256(content).hexdigest()

    def register(self, token: str, **fields: Any) -> dict[str, Any]:
        return self.call(token, REGISTER_VERSION, input={"createModelIfMissing": True, **fields})[
            "createModelVersion"]["modelVersion"]


def run_plan(server: LiveServer, token: str, tmp_path: Path, plan: dict[str, Any]) -> dict[str, Any]:
    require_browser_tools()
    if not (ROOT / "app" / "web" / "console" / "index.html").is_file():
        pytest.fail("the console is not built: run `./dev setup` (or `npm run console:build`)", pytrace=False)
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    # MODELREG_CONSOLE_SCREENSHOTS=docs/console keeps the pages' screenshots (docs/console.md shows them).
    shots = Path(os.environ.get("MODELREG_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    report = drive("console_check.mjs", server.url, token, tmp_path / f"console-{plan['scenario']}.png",
                   "--plan", str(plan_path), "--shots", str(shots))
    print("\n".join(report["steps"]))
    for page, violations in report["axe"].items():
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert bad == [], f"axe found serious or critical violations on {page}: {bad}"
    assert report["external"] == [], f"requests to non-loopback hosts: {report['external']}"
    assert not report["tokenInRequestUrls"], "the token appeared in a request URL"
    assert report["dialogs"] == [], f"hostile content opened dialogs: {report['dialogs']}"
    assert report["pageErrors"] == [], report["pageErrors"]
    return report


def test_catalogue_model_and_version_pages(live_server: LiveServer, tmp_path: Path):
    registry = Registry(live_server)
    token = registry.token("ada", "data-scientist")
    prefix = f"console-{secrets.token_hex(3)}"
    model = f"{prefix}/churn"
    digest = registry.upload(token, b"weights of the churn model\n")
    registry.register(token, name=model, metrics=[{"name": "auc", "value": 0.81}, {"name": "f1", "value": 0.7}])
    registry.register(
        token, name=model, description=HOSTILE, flavor="sklearn",
        run={"tracker": "MLFLOW", "runId": f"run-{prefix}"},
        code={"repositoryUrl": "https://github.com/acme/churn",
              "commitSha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
        datasets=[{"dataset": {"name": f"events-{prefix}", "version": "v3"}}],
        metrics=[{"name": "auc", "value": 0.857}, {"name": "f1", "value": 0.72}, {"name": "logloss", "value": 0.31},
                 {"name": "recall", "value": 0.66}],
        params=[{"name": "max_depth", "value": "8"}, {"name": "note", "value": HOSTILE}],
        signature={"inputs": [{"name": "tenure", "type": "long"}], "outputs": [{"type": "double"}]},
        files=[{"path": "model/model.pkl", "digest": digest}],
        tags=[{"key": "suite", "value": prefix}, {"key": "x", "value": HOSTILE}],
    )
    registry.call(token, UPDATE_MODEL, input={"name": model, "description": f"Churn model {HOSTILE}"})
    registry.call(token, SET_MODEL_TAG, input={"name": model, "key": "suite", "value": prefix})
    registry.call(token, SET_MODEL_TAG, input={"name": model, "key": "x", "value": HOSTILE})
    registry.call(token, SET_ALIAS, input={"name": model, "alias": "challenger", "version": 2})
    registry.call(token, ATTACH_DOCUMENT, input={"name": model, "version": 2, "kind": "MODEL_CARD",
                                                 "title": f"Card {HOSTILE}", "markdown": HOSTILE_MARKDOWN})
    registry.call(token, REQUEST_STAGE, input={"name": model, "version": 1, "toStage": "STAGING"})  # applies at once
    registry.call(registry.token("mo", "mlops"), DEPLOY, input={"name": model, "environment": "staging", "version": 1})
    for other in ("alpha", "zeta"):
        registry.register(token, name=f"{prefix}/{other}")

    report = run_plan(live_server, token, tmp_path, {
        "scenario": "browse", "prefix": prefix, "model": model, "version": 2, "extraMetric": "recall",
        "tag": f"suite={prefix}",
    })

    assert report["pageStatus"] == 200
    assert report["dsStatus"] == "Signed in as ada (data-scientist)"
    assert "token=" not in report["dsUrlAfterSignIn"]
    catalogue = report["catalogue"]
    assert len(catalogue["page1"]) == 2 and len(catalogue["page2"]) == 1, catalogue
    assert set(catalogue["page1"] + catalogue["page2"]) == {model, f"{prefix}/alpha", f"{prefix}/zeta"}
    assert catalogue["back"] == catalogue["page1"]
    assert catalogue["total"].startswith("3 in all")
    assert catalogue["byTag"] == [model]
    assert catalogue["staging"] == [f"{model} / v1"]
    assert "No model matches" in catalogue["empty"]
    assert catalogue["aucAtLeast"] == [[f"{model} / v2", "0.857"]]

    page = report["model"]
    assert page["name"] == model
    assert page["description"] == f"Churn model {HOSTILE}"  # as text
    assert [row.split()[0] for row in page["rows"]] == ["v2", "v1"]
    assert page["stages"] == ["NONE", "STAGING"]
    assert "@challenger → version 2" in page["aliases"]
    assert page["metricColumns"] == ["auc", "f1", "logloss"]
    assert page["metricColumnsAfter"] == ["auc", "f1", "logloss", "recall"]
    assert f"x={HOSTILE}" in page["tags"]
    assert page["injected"] == {"pwned": None, "scripts": 0, "handlers": 0, "images": 0}
    assert page["deployed"] == ["", "staging primary 100%"]
    compare = report["compare"]
    assert compare["columns"] == ["v1 STAGING", "v2 NONE"]
    differs = {row.split("\t")[0].split("\n")[0].strip(): row for row in compare["differs"]}
    assert set(differs) == {"auc", "f1", "logloss", "recall", "max_depth", "note"}, compare
    assert "0.81\t0.857" in differs["auc"]
    assert compare["same"] == ["by\tada\tada"]

    version = report["version"]
    assert version["uri"] == f"models:/{model}/2"
    assert version["clipboard"] == version["uri"]
    assert "auc\t0.857\t—" in version["metrics"]
    assert f"note\t{HOSTILE}" in version["params"]
    assert '"tenure"' in version["signature"]
    assert version["files"] == ["model/model.pkl"]
    assert version["fileHref"].startswith(f"{live_server.url}/api/artifacts/files?")
    assert version["download"] == {"name": "model.pkl", "text": "weights of the churn model\n"}
    assert version["documentTitle"] == f"Card {HOSTILE}"
    assert version["markdownHeadings"] == ["Model card"]  # Markdown is rendered...
    assert HOSTILE in version["markdownText"]  # ...its HTML shown as text
    assert '<div onmouseover="window.__pwned=3">hover</div>' in version["markdownText"]
    assert version["markdownLinks"] == ["https://example.com/docs"]  # the javascript: link is not a link
    assert version["description"] == HOSTILE
    assert version["requestFormShown"]
    lineage = sorted(" ".join(item.split()) for item in version["lineage"])
    assert len(lineage) == 3 and lineage[0].startswith("CODE_COMMIT") and "built from" in lineage[0], lineage
    assert lineage[1].startswith(f"DATASET events-{prefix}") and "trained on" in lineage[1], lineage
    assert lineage[2].startswith(f"RUN run-{prefix}") or f"run-{prefix}" in lineage[2], lineage
    assert "Never moved: the version is in NONE." in version["history"]
    assert version["injected"] == {"pwned": None, "scripts": 0, "handlers": 0, "images": 0}

    assert "No model named" in report["missing"]
    assert report["rejected"]["code"] == "UNAUTHENTICATED"
    assert "UNAUTHENTICATED" in report["rejected"]["text"]
    assert report["rejected"]["status"].startswith("Token rejected")
    other = [text for text in report["consoleErrors"] if "status of 401" not in text]
    assert other == [], other


def test_request_approve_in_two_contexts_and_auditor_sees_no_controls(live_server: LiveServer, tmp_path: Path):
    registry = Registry(live_server)
    requester = registry.token("bea", "data-scientist")
    suffix = secrets.token_hex(3)
    model = f"console-{suffix}/fraud"
    approver = registry.token("cyd", "approver")
    for version, auc in ((1, 0.9), (2, 0.93)):  # v1 in PRODUCTION; the browser requests v2 to replace it
        registry.register(requester, name=model, metrics=[{"name": "auc", "value": auc}])
        registry.call(requester, REQUEST_STAGE, input={"name": model, "version": version, "toStage": "STAGING"})
        registry.call(requester, ATTACH_DOCUMENT, input={"name": model, "version": version, "kind": "MODEL_CARD",
                                                         "title": "Card", "markdown": "# Fraud model"})
    first = registry.call(requester, REQUEST_STAGE, input={"name": model, "version": 1, "toStage": "PRODUCTION"})
    registry.call(approver, APPROVE, input={"id": first["requestStageTransition"]["transitionRequest"]["id"]})
    # Another open request, so the auditor's inbox has one it may not decide either.
    other = registry.register(requester, name=f"console-{suffix}/other")
    registry.call(requester, ATTACH_DOCUMENT, input={"name": f"console-{suffix}/other", "version": other["version"],
                                                     "kind": "MODEL_CARD", "title": "Card", "markdown": "ok"})
    registry.call(requester, REQUEST_STAGE, input={
        "name": f"console-{suffix}/other", "version": other["version"], "toStage": "STAGING"})
    pending = registry.call(requester, REQUEST_STAGE, input={
        "name": f"console-{suffix}/other", "version": other["version"], "toStage": "PRODUCTION",
    })["requestStageTransition"]["transitionRequest"]

    # The protected alias champion on v1, and an open request to move it to v2.
    held = registry.call(requester, REQUEST_ALIAS, input={"name": model, "version": 1, "alias": "champion"})
    registry.call(approver, APPROVE, input={"id": held["requestAliasTransition"]["transitionRequest"]["id"]})
    move = registry.call(requester, REQUEST_ALIAS, input={"name": model, "version": 2, "alias": "champion"})

    report = run_plan(live_server, requester, tmp_path, {
        "scenario": "approve", "model": model, "version": 2, "comment": f"ship it {HOSTILE}",
        "approverToken": approver, "auditorToken": registry.token("dee", "auditor"),
        "otherRequestId": pending["id"],
        "aliasRequestId": move["requestAliasTransition"]["transitionRequest"]["id"],
    })

    assert report["requester"]["approveShown"] == 0  # nobody approves their own request
    assert f"ship it {HOSTILE}" in report["inbox"]["card"]
    assert "live" in report["inbox"]["live"]
    assert report["inbox"]["replaces"] == ["Replaces v1 in PRODUCTION", "auc\t0.93\t0.9"]
    assert report["aliasReplaces"] == ["Replaces v1 as @champion", "auc\t0.93\t0.9"]
    assert report["auditor"] == {"buttons": 0, "pendingOther": 1, "requestForm": 0, "versionButtons": 0}
    assert report["after"]["stage"] == "PRODUCTION"
    assert "STAGING → PRODUCTION" in report["after"]["history"]
    assert "APPLIED" in report["after"]["request"] and "cyd" in report["after"]["request"]
    assert report["consoleErrors"] == [], report["consoleErrors"]
    audit = report["audit"]
    assert audit["integrity"].startswith("Hash chain intact"), audit
    assert "transition.approve" in audit["actions"] and set(audit["actors"]) == {"cyd (approver)"}, audit
    assert audit["navShown"] == 1 and audit["dsNav"] == 0
    assert audit["export"].startswith("seq,occurredAt,actorSubject"), audit["export"]
    assert "audit:read" in audit["dsDenied"]


def test_deployments_rollback_and_webhook_redelivery(live_server: LiveServer, tmp_path: Path):
    registry = Registry(live_server)
    mlops = registry.token("eve", "mlops")
    suffix = secrets.token_hex(3)
    model = f"console-{suffix}/ranker"
    # A public name is accepted (names are resolved at delivery, which fails here): the ping's delivery is retried.
    webhook_url = f"https://hooks.console.invalid/console-{suffix}"  # .invalid never resolves (RFC 2606)
    hook = registry.call(mlops, CREATE_WEBHOOK, input={"url": webhook_url, "secret": secrets.token_hex(16),
                                                       "modelNamePattern": model, "events": ["VERSION_CREATED"]})[
        "createWebhook"]["webhook"]
    registry.call(mlops, PING_WEBHOOK, input={"id": hook["id"]})
    for version in (1, 2):
        registry.register(mlops, name=model)
        registry.call(mlops, DEPLOY, input={"name": model, "environment": "staging", "version": version})

    doomed_url = f"https://hooks.console.invalid/doomed-{suffix}"
    registry.call(mlops, CREATE_WEBHOOK, input={"url": doomed_url, "secret": secrets.token_hex(16)})
    new_url = f"https://hooks.console.invalid/new-{suffix}"

    report = run_plan(live_server, mlops, tmp_path, {
        "scenario": "deployments", "model": model, "auditorToken": registry.token("dee", "auditor"),
        "webhookUrl": webhook_url, "newWebhookUrl": new_url, "doomedWebhookUrl": doomed_url, "hostile": HOSTILE,
    })

    words = " ".join  # an entry is a flex row: innerText breaks its parts over lines
    assert [words(entry.split()) for entry in report["before"]["entries"]] == ["v2 primary 100%"], report["before"]
    assert len(report["history"]) == 2 and report["history"][0].startswith("#2"), report["history"]
    assert report["confirmFocused"], "the confirmation did not take the focus"
    assert [words(entry.split()) for entry in report["after"]["entries"]] == ["v1 primary 100%"], report["after"]
    assert report["auditorRollback"] == 0 and report["auditorCanary"] == 0
    canary = {key: [words(entry.split()) for entry in value] if isinstance(value, list) else value
              for key, value in report["canary"].items()}
    assert canary["started"] == ["v1 primary 90%", "v2 canary 10%"], canary
    assert canary["shifted"] == ["v1 primary 75%", "v2 canary 25%"], canary
    assert "to v2 (replacing v1)" in canary["promoteQuestion"] and canary["promoteFocused"], canary
    assert canary["promoted"] == ["v2 primary 100%"], canary
    assert canary["second"] == ["v2 primary 95%", "v1 canary 5%"], canary
    assert "Remove canary v1" in canary["abortQuestion"], canary
    assert canary["aborted"] == ["v2 primary 100%"], canary
    assert canary["invalidBlocked"], canary
    deployment = registry.call(mlops, DEPLOYMENT_HISTORY, name=model, environment="staging")["deployment"]
    assert [node["action"] for node in deployment["history"]["nodes"]][:5] == [
        "ABORT_CANARY", "START_CANARY", "PROMOTE_CANARY", "SET_CANARY_TRAFFIC", "START_CANARY"], deployment
    webhook = report["webhook"]
    assert webhook["types"].count("WEBHOOK_PING") == 1, webhook
    assert webhook["after"] == 2, webhook  # the ping's event delivered once more
    assert "webhook:manage" in webhook["auditorDenied"]
    assert webhook["auditorNav"] == 0 and webhook["mlopsNav"] == 1
    assert webhook["created"]["state"] == "ACTIVE"
    assert webhook["created"]["filter"] == f"Events: DEPLOYMENT_CHANGED, VERSION_READY · models {model}", webhook
    assert webhook["created"]["description"] == HOSTILE  # as text
    assert webhook["injected"] == {"pwned": None, "scripts": 0, "handlers": 0, "images": 0}
    assert webhook["paused"] == "PAUSED" and webhook["pausedButton"] == "Resume" and webhook["resumed"] == "ACTIVE"
    assert webhook["edited"] == {"filter": f"Events: DEPLOYMENT_CHANGED · models {model}",
                                 "description": "Deployments of the ranker"}, webhook
    assert webhook["pinged"] == 1 and webhook["refused"] == "BAD_USER_INPUT" and webhook["deleteFocused"], webhook
    hooks = {node["url"]: node for node in registry.call(mlops, LIST_WEBHOOKS)["webhooks"]["nodes"]}
    assert doomed_url not in hooks
    assert hooks[new_url]["active"] and hooks[new_url]["events"] == ["DEPLOYMENT_CHANGED"], hooks[new_url]
    assert hooks[new_url]["description"] == "Deployments of the ranker"
