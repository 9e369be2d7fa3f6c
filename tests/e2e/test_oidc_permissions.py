"""Real access tokens from the OpenID provider (client credentials, RFC 9068 JWTs, one client per role) carry
each role through to the authorizer, and claims map onto roles for groups, service principals and GitHub
Actions-style CI tokens from a second trusted issuer.

The full permission matrix (field x role) runs once, in tests/graphql/test_schema_coverage.py, with development
tokens: how a role reaches the authorizer does not change what it may do. Here a handful of its operations run as
each role with the provider's tokens, through an application configured with the provider as issuer.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from app.config import Settings
from app.domain.identity import Permission
from app.main import create_app
from tests.graphql.test_permissions import permissions_of
from tests.graphql.test_schema_coverage import (
    OPERATIONS,
    ROLES,
    assert_forbidden,
    assert_outcome,
    gql,
    holds,
    seed,
    stored,
)
from tests.support.client import Api
from tests.support.databases import wipe
from tests.support.oidc import OidcProvider, issuers_file, policy_dir

pytestmark = pytest.mark.e2e

VIEWER = "query Viewer { viewer { subject kind roles permissions } }"
CAN = """
query Can {
  viewer {
    deleteModel: can(action: "delete", resource: "model")
    writeVersion: can(action: "write", resource: "version")
    read: can(action: "read", resource: "registry")
    cancelAny: can(action: "cancel-any", resource: "transition")
  }
}
"""
CREATE_MODEL = """
mutation CreateModel($name: String!) { createRegisteredModel(input: {name: $name}) { registeredModel { name owner } } }
"""


class OidcApi(Api):
    """An Api whose callers hold real client-credentials tokens: roles R -> the provider's client svc-R."""

    def __init__(self, client: httpx.AsyncClient, data_dir: Path, idp: OidcProvider, database_url: str) -> None:
        super().__init__(client, data_dir, database_url=database_url)
        self.idp = idp

    def token(self, *roles: str, sub: str = "tester", service: bool = False, ttl: int = 3600) -> str:
        if len(roles) != 1:
            raise AssertionError(f"the provider has one client per single role, not for {roles}")
        return self.idp.role_token(roles[0])


@pytest.fixture(scope="module")
async def oidc_app(settings: Settings, idp: OidcProvider, tmp_path_factory) -> AsyncIterator[object]:
    folder = tmp_path_factory.mktemp("oidc-app")
    configured = settings.with_overrides(
        oidc_issuers_file=issuers_file(folder, idp), policy_dir=policy_dir(folder / "policies", settings.policy_dir),
        oidc_jwks_refresh_interval=1)
    application = create_app(configured)
    yield application
    await application.state.database.dispose()


@pytest.fixture
async def api(oidc_app: object, database_url: str, tmp_path_factory, idp: OidcProvider) -> AsyncIterator[OidcApi]:
    """Overrides the suite's ``api``: same database, wiped; the provider's tokens."""
    wipe(database_url)
    transport = httpx.ASGITransport(app=oidc_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield OidcApi(client, tmp_path_factory.getbasetemp() / "oidc-tokens", idp, database_url)


# A read, the writes of each role and the reads only auditors hold: every role is allowed some and refused others.
TOKEN_PATH_OPERATIONS = ("registeredModels", "createModelVersion", "deleteRegisteredModel",
                         "approveTransitionRequest", "deploy", "auditEvents")


@pytest.mark.parametrize("role", ROLES)
async def test_real_tokens_carry_each_role_to_the_authorizer(api, role):
    """Each operation as the role, on fresh seed data: allowed ones succeed, refused ones are FORBIDDEN naming the
    permission and write nothing."""
    assert {holds(role, OPERATIONS[name].permission) for name in TOKEN_PATH_OPERATIONS} == (
        {True, False} if role != "nobody" else {False})
    for name in TOKEN_PATH_OPERATIONS:
        op, allowed = OPERATIONS[name], holds(role, OPERATIONS[name].permission)
        seeded = await seed(api)
        before = stored(api)
        assert_outcome(await gql(api, op.document, op.variables(seeded), role), name, allowed)
        if not allowed:
            assert stored(api) == before, f"a denied {name} changed the data"


async def body(api: OidcApi, document: str, token: str, variables: dict | None = None) -> dict:
    response = await api.post(document, variables, token=token)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("role", ["data-scientist", "mlops", "approver", "auditor"])
async def test_viewer_of_a_client_credentials_token(api, idp, role):
    viewer = (await body(api, VIEWER, idp.role_token(role)))["data"]["viewer"]
    assert viewer == {"subject": f"svc-{role}", "kind": "SERVICE", "roles": [role],
                      "permissions": permissions_of(role)}


@pytest.mark.parametrize("role, expected", [
    ("mlops", {"deleteModel": True, "writeVersion": True, "read": True, "cancelAny": True}),
    ("data-scientist", {"deleteModel": False, "writeVersion": True, "read": True, "cancelAny": False}),
    ("auditor", {"deleteModel": False, "writeVersion": False, "read": True, "cancelAny": False}),
    ("nobody", {"deleteModel": False, "writeVersion": False, "read": False, "cancelAny": False}),
])
async def test_viewer_can_answers_from_the_policy(api, idp, role, expected):
    assert (await body(api, CAN, idp.role_token(role)))["data"]["viewer"] == expected


async def test_groups_claim_maps_through_grouping_rules(api, idp):
    token = idp.client_token("svc-groups")  # groups: [ml-platform]; policy: g, group:ml-platform, mlops
    assert (await body(api, VIEWER, token))["data"]["viewer"]["roles"] == ["mlops"]


async def test_service_principal_maps_by_client_id_and_is_the_owner(api, idp):
    token = idp.client_token("svc-ci")  # no role claim; policy: g, client:svc-ci, data-scientist
    viewer = (await body(api, VIEWER, token))["data"]["viewer"]
    assert (viewer["kind"], viewer["roles"]) == ("SERVICE", ["data-scientist"])
    created = await body(api, CREATE_MODEL, token, {"name": "ci/model"})
    assert created["data"]["createRegisteredModel"]["registeredModel"] == {"name": "ci/model", "owner": "svc-ci"}


async def test_github_actions_token_maps_by_repository_and_ref(api, idp):
    main = idp.client_token("gha-fraud-main", "gha")  # ES256, from the second trusted issuer
    viewer = (await body(api, VIEWER, main))["data"]["viewer"]
    assert viewer == {"subject": "github:gha-fraud-main", "kind": "SERVICE", "roles": ["mlops"],
                      "permissions": permissions_of("mlops")}
    created = await body(api, CREATE_MODEL, main, {"name": "fraud"})
    assert created["data"]["createRegisteredModel"]["registeredModel"]["owner"] == "github:gha-fraud-main"

    branch = idp.client_token("gha-fraud-branch", "gha")  # same repository, another ref: no rule, no role
    assert (await body(api, VIEWER, branch))["data"]["viewer"]["roles"] == []
    assert_forbidden(await body(api, CREATE_MODEL, branch, {"name": "sneaky"}), Permission.MODEL_WRITE)

