"""Two teams on one registry with a real OpenID provider (issue 18). The provider (npm oidc-provider) issues
client-credentials tokens whose ``groups`` claim names each caller's teams; the registry maps them with ``g2``
rules onto roles within namespaces (docs/authorization.md): ``ml-fraud`` -> data-scientist in ``fraud/``,
``fraud-approvers`` -> approver in ``fraud/``, the same for ``churn/``, and ``internal-audit`` -> auditor everywhere.

Each team registers and promotes its own models, its approvers approve its requests only, every cross-team attempt
is refused with FORBIDDEN and recorded in the audit log (seen by the global auditor through ``auditEvents``), a
group that owns a model of another team may change it, and reading the catalogue stays open to everyone (with
MODELREG_READ_SCOPE=scoped, each team reads its own namespace only).
"""

from __future__ import annotations

import json
import select
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.support.client import Api
from tests.support.databases import wipe
from tests.support.live_server import free_port
from tests.support.oidc import AUDIENCE, ROOT, SCRIPT, SECRET, START_TIMEOUT_S, OidcProvider, ProviderUnavailable

pytestmark = pytest.mark.e2e

# Callers: client id -> the groups claim of its tokens.
CALLERS: dict[str, list[str]] = {
    "fraud-ds": ["ml-fraud", "staff"],
    "fraud-approver": ["fraud-approvers", "staff"],
    "churn-ds": ["ml-churn", "staff"],
    "churn-approver": ["churn-approvers", "staff"],
    "auditor": ["internal-audit"],
}
RULES = (
    "g2, group:ml-fraud, data-scientist, fraud/",
    "g2, group:fraud-approvers, approver, fraud/",
    "g2, group:ml-churn, data-scientist, churn/",
    "g2, group:churn-approvers, approver, churn/",
    "g, group:internal-audit, auditor",
)


class TeamProvider(OidcProvider):
    """The test OpenID provider with one client-credentials client per caller of CALLERS."""

    def start(self) -> TeamProvider:
        if not (ROOT / "node_modules" / "oidc-provider" / "package.json").is_file():
            raise ProviderUnavailable("node_modules/oidc-provider is missing (run `npm ci` in the project folder)")
        clients = [{"client_id": name, "client_secret": SECRET, "grant_types": ["client_credentials"],
                    "claims": {"groups": groups}} for name, groups in CALLERS.items()]
        config = {"issuers": [{"name": "idp", "port": free_port(), "audience": AUDIENCE, "alg": "RS256",
                               "accessTokenTTL": 1800, "keysFile": str(self.workdir / "idp-keys.json"),
                               "clients": clients}]}
        config_path = self.workdir / "oidc-provider.json"
        config_path.write_text(json.dumps(config))
        self._log = open(self.workdir / "oidc-provider.log", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(["node", str(SCRIPT), str(config_path)], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=self._log, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise ProviderUnavailable(f"oidc-provider did not start:\n{self.log()[-3000:]}")
        self.urls = json.loads(line)["issuers"]
        return self


@pytest.fixture(scope="module")
def idp() -> Iterator[TeamProvider]:
    with tempfile.TemporaryDirectory(prefix="modelreg-oidc-teams-") as folder:
        try:
            started = TeamProvider(Path(folder)).start()
        except ProviderUnavailable as error:
            pytest.fail(str(error), pytrace=False)
        yield started
        started.stop()


@pytest.fixture(scope="module")
async def teams_app(settings: Settings, idp: TeamProvider, tmp_path_factory) -> AsyncIterator[object]:
    folder = tmp_path_factory.mktemp("teams-app")
    policies = folder / "policies"
    policies.mkdir()
    (policies / "model.conf").write_text((settings.policy_dir / "model.conf").read_text())
    (policies / "policy.csv").write_text((settings.policy_dir / "policy.csv").read_text() + "\n" + "\n".join(RULES))
    (policies / "promotion.yaml").write_text((settings.policy_dir / "promotion.yaml").read_text())
    issuers = folder / "issuers.toml"
    issuers.write_text(f"""
[[issuers]]
name = "idp"
issuer = "{idp.issuer}"
audience = "{AUDIENCE}"
role_claims = ["group:{{groups}}"]
kind = "user"
""", encoding="utf-8")
    application = create_app(settings.with_overrides(oidc_issuers_file=issuers, policy_dir=policies))
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def api(teams_app: object, database_url: str, tmp_path_factory) -> AsyncIterator[Api]:
    wipe(database_url)
    transport = httpx.ASGITransport(app=teams_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, tmp_path_factory.mktemp("teams-data"), database_url=database_url)


async def call(api: Api, idp: TeamProvider, who: str, document: str, variables: dict[str, Any] | None = None):
    response = await api.post(document, variables, token=idp.client_token(who))
    assert response.status_code == 200, response.text
    return response.json()


async def ok(api, idp, who, document, variables=None) -> dict[str, Any]:
    body = await call(api, idp, who, document, variables)
    assert not body.get("errors"), (who, body)
    return body["data"]


async def refused(api, idp, who, document, variables=None) -> str:
    body = await call(api, idp, who, document, variables)
    errors = body.get("errors") or []
    assert len(errors) == 1 and errors[0]["extensions"]["code"] == "FORBIDDEN", (who, body)
    return errors[0]["message"]


VIEWER = """
query Viewer {
  viewer {
    subject kind roles permissions
    fraud: can(action: "write", resource: "model", namespace: "fraud/cards/")
    churn: can(action: "write", resource: "model", namespace: "churn/")
  }
}
"""
CREATE_MODEL = """
mutation CreateModel($name: String!, $owner: String) {
  createRegisteredModel(input: {name: $name, owner: $owner}) { registeredModel { name owner } }
}
"""
UPDATE_MODEL = """
mutation UpdateModel($name: String!) {
  updateRegisteredModel(input: {name: $name, description: "changed"}) { registeredModel { description } }
}
"""
SET_MODEL_TAG = """
mutation SetTag($name: String!) {
  setRegisteredModelTag(input: {name: $name, key: "k", value: "v"}) { registeredModel { name } }
}
"""
CREATE_VERSION = """
mutation CreateVersion($name: String!) {
  createModelVersion(input: {name: $name, artifact: {uri: "s3://bucket/x", size: 1}}) { modelVersion { version } }
}
"""
ATTACH_CARD = """
mutation AttachCard($name: String!) {
  attachDocument(input: {name: $name, version: 1, kind: MODEL_CARD, title: "Card", markdown: "# card"}) {
    modelDocument { revision }
  }
}
"""
REQUEST = """
mutation Request($name: String!, $stage: Stage!) {
  requestStageTransition(input: {name: $name, version: 1, toStage: $stage}) { transitionRequest { id status } }
}
"""
APPROVE = """
mutation Approve($id: ID!) { approveTransitionRequest(input: {id: $id}) { transitionRequest { status } } }
"""
REJECT = """
mutation Reject($id: ID!) {
  rejectTransitionRequest(input: {id: $id, comment: "not yours"}) { transitionRequest { status } }
}
"""
SET_ALIAS = """
mutation SetAlias($name: String!) {
  setModelAlias(input: {name: $name, alias: "latest-good", version: 1}) { modelAlias { alias } }
}
"""
READ_MODELS = "query Models { registeredModels(first: 20) { totalCount nodes { name } } }"
DENIED = """
query Denied($from: DateTime!) {
  auditEvents(first: 100, filter: {outcome: FORBIDDEN, from: $from}) {
    totalCount
    nodes { actor { subject } actorRoles action target { name } detail }
  }
}
"""
NOW = "query Now { auditEvents(first: 1) { nodes { occurredAt } } }"


async def register_and_request(api, idp, who: str, name: str) -> str:
    """A model with version 1 in STAGING and an open request to PRODUCTION; returns the request's id."""
    await ok(api, idp, who, CREATE_MODEL, {"name": name})
    await ok(api, idp, who, CREATE_VERSION, {"name": name})
    await ok(api, idp, who, ATTACH_CARD, {"name": name})
    await ok(api, idp, who, REQUEST, {"name": name, "stage": "STAGING"})
    return (await ok(api, idp, who, REQUEST, {"name": name, "stage": "PRODUCTION"}))[
        "requestStageTransition"]["transitionRequest"]["id"]


async def test_two_teams(api, idp):
    viewer = (await ok(api, idp, "fraud-ds", VIEWER))["viewer"]
    assert viewer["subject"] == "fraud-ds" and viewer["kind"] == "USER"
    assert viewer["roles"] == ["data-scientist@fraud/"]
    assert viewer["fraud"] is True and viewer["churn"] is False
    assert (await ok(api, idp, "auditor", VIEWER))["viewer"]["roles"] == ["auditor"]

    fraud = await register_and_request(api, idp, "fraud-ds", "fraud/cards/detector")  # nested under fraud/
    churn = await register_and_request(api, idp, "churn-ds", "churn/predictor")

    # Every cross-team attempt: refused, and (below) audited.
    attempts = [
        ("churn-ds", CREATE_MODEL, {"name": "fraud/intruder"}, "model.create"),
        ("churn-ds", CREATE_VERSION, {"name": "fraud/cards/detector"}, "version.create"),
        ("churn-ds", UPDATE_MODEL, {"name": "fraud/cards/detector"}, "model.update"),
        ("churn-ds", SET_MODEL_TAG, {"name": "fraud/cards/detector"}, "model.tag.set"),
        ("churn-ds", SET_ALIAS, {"name": "fraud/cards/detector"}, "alias.set"),
        ("churn-ds", ATTACH_CARD, {"name": "fraud/cards/detector"}, "document.attach"),
        ("churn-ds", REQUEST, {"name": "fraud/cards/detector", "stage": "ARCHIVED"}, "transition.request"),
        ("churn-approver", APPROVE, {"id": fraud}, "transition.approve"),
        ("churn-approver", REJECT, {"id": fraud}, "transition.reject"),
        ("fraud-ds", CREATE_MODEL, {"name": "churn/intruder"}, "model.create"),
        ("fraud-ds", CREATE_MODEL, {"name": "no-namespace"}, "model.create"),  # the root needs a global role
        ("fraud-ds", UPDATE_MODEL, {"name": "churn/predictor"}, "model.update"),
        ("fraud-approver", APPROVE, {"id": churn}, "transition.approve"),
        ("auditor", CREATE_MODEL, {"name": "fraud/by-auditor"}, "model.create"),
    ]
    since = (await ok(api, idp, "auditor", NOW))["auditEvents"]["nodes"][0]["occurredAt"]
    for who, document, variables, _ in attempts:
        message = await refused(api, idp, who, document, variables)
        assert "missing permission" in message, message
    # The audit log reads FORBIDDEN for each, as the global auditor sees it; a scoped role cannot read it.
    events = (await ok(api, idp, "auditor", DENIED, {"from": since}))["auditEvents"]
    seen = sorted((event["actor"]["subject"], event["action"]) for event in events["nodes"])
    assert seen == sorted((who, action) for who, _, _, action in attempts), seen
    by_churn = [e for e in events["nodes"] if e["actor"]["subject"] == "churn-ds"]
    assert all(e["actorRoles"] == ["data-scientist@churn/"] for e in by_churn)
    assert all("in 'fraud/cards/'" in e["detail"] or "in 'fraud/'" in e["detail"] for e in by_churn), by_churn
    await refused(api, idp, "fraud-ds", DENIED, {"from": since})

    # Within the team: each team's approver approves its own team's request; separation of duties unchanged.
    assert (await ok(api, idp, "fraud-approver", APPROVE, {"id": fraud}))[
        "approveTransitionRequest"]["transitionRequest"]["status"] == "APPLIED"
    assert (await ok(api, idp, "churn-approver", APPROVE, {"id": churn}))[
        "approveTransitionRequest"]["transitionRequest"]["status"] == "APPLIED"

    # Reading the catalogue stays open: each team sees the other's models.
    names = {n["name"] for n in (await ok(api, idp, "churn-ds", READ_MODELS))["registeredModels"]["nodes"]}
    assert {"fraud/cards/detector", "churn/predictor"} <= names


async def test_a_group_that_owns_a_model_of_another_team(api, idp):
    """The fraud team registers a model owned by the churn team's group: churn's data scientists may update it,
    tag it and move its aliases; registering versions still needs a role in fraud/."""
    await ok(api, idp, "fraud-ds", CREATE_MODEL, {"name": "fraud/shared", "owner": "group:ml-churn"})
    await ok(api, idp, "fraud-ds", CREATE_VERSION, {"name": "fraud/shared"})
    await ok(api, idp, "churn-ds", UPDATE_MODEL, {"name": "fraud/shared"})
    await ok(api, idp, "churn-ds", SET_MODEL_TAG, {"name": "fraud/shared"})
    await ok(api, idp, "churn-ds", SET_ALIAS, {"name": "fraud/shared"})
    await refused(api, idp, "churn-ds", CREATE_VERSION, {"name": "fraud/shared"})
    await refused(api, idp, "churn-approver", UPDATE_MODEL, {"name": "fraud/shared"})  # holds no model:write


@pytest.fixture
async def scoped_api(teams_app: Any, api: Api) -> AsyncIterator[Api]:
    """The same registry (same policy, provider and database) with MODELREG_READ_SCOPE=scoped."""
    application = create_app(teams_app.state.settings.with_overrides(read_scope="scoped"))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            yield Api(client, api.data_dir, database_url=api.database_url)
    finally:
        await application.state.database.dispose()


async def test_scoped_reads_with_groups(scoped_api, idp):
    """With scoped reads each team reads its own namespace only (the groups claim through g2 rules), the global
    auditor everything; a team's audit view stays refused to a data scientist."""
    await ok(scoped_api, idp, "fraud-ds", CREATE_MODEL, {"name": "fraud/cards/detector"})
    await ok(scoped_api, idp, "churn-ds", CREATE_MODEL, {"name": "churn/predictor"})
    seen = {}
    for who in ("fraud-ds", "fraud-approver", "churn-ds", "auditor"):
        models = (await ok(scoped_api, idp, who, READ_MODELS))["registeredModels"]
        seen[who] = (models["totalCount"], sorted(n["name"] for n in models["nodes"]))
    assert seen == {
        "fraud-ds": (1, ["fraud/cards/detector"]),
        "fraud-approver": (1, ["fraud/cards/detector"]),
        "churn-ds": (1, ["churn/predictor"]),
        "auditor": (2, ["churn/predictor", "fraud/cards/detector"]),
    }
    hidden = await ok(scoped_api, idp, "churn-ds", 'query { registeredModel(name: "fraud/cards/detector") { name } }')
    assert hidden == {"registeredModel": None}
