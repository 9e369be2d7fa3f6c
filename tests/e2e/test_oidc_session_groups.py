"""Groups for browser sessions (issue 18): a person signed in with the session cookie (authorization code + PKCE
through the real OpenID provider's login and consent pages) is decided as their bearer token would be, with the
access token's ``groups`` claim. ``dana`` (groups ``ml-churn``, ``staff``; ``ml-churn`` is data-scientist within
``churn/``) updates a ``fraud/`` model owned by ``group:ml-churn`` and no other ``fraud/`` model; ``alice`` (group
``ml-approvers``, a global approver) gives the approval from ``ml-approvers`` that ``fraud/*`` requires."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.e2e.test_oidc_server import sign_in
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.oidc import OidcProvider, issuers_file, policy_dir

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent]

PROMOTION = """\
version: 1
stages:
  STAGING: {required_approvals: 0}
  PRODUCTION: {required_approvals: 1, gates: {documents: []}}
overrides:
  - models: "fraud/*"
    stages:
      PRODUCTION: {approver_groups: {ml-approvers: 1}}
"""
CREATE_MODEL = """
mutation Create($name: String!, $owner: String) {
  createRegisteredModel(input: {name: $name, owner: $owner}) { registeredModel { name } }
}
"""
UPDATE_MODEL = """
mutation Update($name: String!) {
  updateRegisteredModel(input: {name: $name, description: "by the owning group"}) { registeredModel { description } }
}
"""
REGISTER = """
mutation Register($name: String!) { createModelVersion(input: {name: $name}) { modelVersion { version } } }
"""
REQUEST = """
mutation Request($name: String!, $to: Stage!) {
  requestStageTransition(input: {name: $name, version: 1, toStage: $to}) {
    transitionRequest { id groupApprovals { group missing } }
  }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveTransitionRequest(input: {id: $id}) {
    transitionRequest { status groupApprovals { group missing } approvals { nodes { approverGroups } } }
  }
}
"""


@pytest.fixture(scope="module")
def server(idp: OidcProvider, tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("session-groups")
    policies = policy_dir(folder / "policies", Settings().policy_dir)
    with (policies / "policy.csv").open("a", encoding="utf-8") as rules:
        rules.write("g2, group:ml-churn, data-scientist, churn/\n")
    (folder / "promotion.yaml").write_text(PROMOTION, encoding="utf-8")
    env = {
        "MODELREG_OIDC_ISSUERS_FILE": str(issuers_file(folder, idp)),
        "MODELREG_POLICY_DIR": str(policies),
        "MODELREG_PROMOTION_POLICY": str(folder / "promotion.yaml"),
        "MODELREG_OIDC_CLIENT_ID": "browser",
        "MODELREG_OIDC_SCOPES": "openid profile registry",
        "MODELREG_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    with fresh_database(folder, "session-groups", server_url="") as url:
        live = LiveServer(folder, url, extra_env=env)
        yield live
        live.stop()


def graphql(server: LiveServer, document: str, variables: dict[str, Any], *, client: httpx.Client | None = None,
            token: str | None = None) -> dict[str, Any]:
    headers = {"X-Requested-With": "fetch"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = (client or httpx).post(f"{server.url}/graphql", json={"query": document, "variables": variables},
                                      headers=headers, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def ok(server: LiveServer, document: str, variables: dict[str, Any], **caller: Any) -> dict[str, Any]:
    body = graphql(server, document, variables, **caller)
    assert not body.get("errors"), body
    return body["data"]


def test_a_session_member_of_the_owning_group_updates_the_model(server, idp):
    mlops = idp.role_token("mlops")
    ok(server, CREATE_MODEL, {"name": "fraud/shared", "owner": "group:ml-churn"}, token=mlops)
    ok(server, CREATE_MODEL, {"name": "fraud/other"}, token=mlops)
    client, done = sign_in(server, "dana")
    with contextlib.closing(client):
        assert done.json()["roles"] == ["data-scientist@churn/"]  # signed in with the cookie
        updated = ok(server, UPDATE_MODEL, {"name": "fraud/shared"}, client=client)
        assert updated["updateRegisteredModel"]["registeredModel"]["description"] == "by the owning group"
        refused = graphql(server, UPDATE_MODEL, {"name": "fraud/other"}, client=client)["errors"]
        assert refused[0]["extensions"]["code"] == "FORBIDDEN", refused


def test_a_session_approval_counts_for_the_approvers_group(server, idp):
    mlops = idp.role_token("mlops")
    ok(server, CREATE_MODEL, {"name": "fraud/promoted"}, token=mlops)
    ok(server, REGISTER, {"name": "fraud/promoted"}, token=mlops)
    ok(server, REQUEST, {"name": "fraud/promoted", "to": "STAGING"}, token=mlops)
    request = ok(server, REQUEST, {"name": "fraud/promoted", "to": "PRODUCTION"}, token=mlops)[
        "requestStageTransition"]["transitionRequest"]
    assert request["groupApprovals"] == [{"group": "ml-approvers", "missing": 1}]
    client, _ = sign_in(server, "alice")
    with contextlib.closing(client):
        approved = ok(server, APPROVE, {"id": request["id"]}, client=client)["approveTransitionRequest"][
            "transitionRequest"]
    assert approved["status"] == "APPLIED", approved
    assert approved["groupApprovals"] == [{"group": "ml-approvers", "missing": 0}]
    assert approved["approvals"]["nodes"] == [{"approverGroups": ["ml-approvers"]}]
