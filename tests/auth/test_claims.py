"""Claims to names for the policy's grouping rules, and USER versus SERVICE, for the presets' token shapes."""

import pytest

from app.auth.claims import RoleSource, claim_values, kind_of, role_names
from app.domain.identity import PrincipalKind

pytestmark = pytest.mark.backend_independent

KEYCLOAK = {"sub": "3f2a", "azp": "modelreg-ui", "realm_access": {"roles": ["mlops", "offline_access"]},
            "resource_access": {"modelreg": {"roles": ["approver"]}}, "scope": "openid profile registry"}
ENTRA_APP = {"sub": "9d1e", "oid": "9d1e", "azp": "c0ffee", "idtyp": "app", "roles": ["Registry.Write"]}
AUTH0_M2M = {"sub": "abc@clients", "azp": "abc", "gty": "client-credentials", "scope": "write:models"}
AUTH0_USER = {"sub": "auth0|1", "azp": "spa", "https://modelreg.example.com/roles": ["approver"]}
GITHUB = {"sub": "repo:acme/fraud-model:ref:refs/heads/main", "repository": "acme/fraud-model",
          "ref": "refs/heads/main", "environment": "prod"}


@pytest.mark.parametrize("claims, path, expected", [
    (KEYCLOAK, "realm_access.roles", ["mlops", "offline_access"]),
    (KEYCLOAK, "resource_access.modelreg.roles", ["approver"]),
    (KEYCLOAK, "scope", ["openid", "profile", "registry"]),
    (AUTH0_USER, "https://modelreg.example.com/roles", ["approver"]),
    (KEYCLOAK, "realm_access.missing", []),
    ({"roles": ["a", 3, None, "", "b"]}, "roles", ["a", "b"]),
    ({"roles": {"nested": "x"}}, "roles", []),
])
def test_claim_values(claims, path, expected):
    assert claim_values(claims, path) == expected


def test_templates_prefix_and_combine():
    sources = tuple(RoleSource.parse(s) for s in ("roles", "group:{groups}", "repo:{repository}:ref:{ref}"))
    claims = {"roles": ["mlops"], "groups": ["a", "b"], **GITHUB}
    assert role_names(claims, sources) == ["mlops", "group:a", "group:b",
                                           "repo:acme/fraud-model:ref:refs/heads/main"]


def test_template_with_a_missing_claim_yields_nothing():
    assert RoleSource.parse("repo:{repository}:environment:{environment}").names({"repository": "x"}) == []


@pytest.mark.parametrize("bad", ["", "group:{}", "group:{groups", "x}"])
def test_bad_templates_are_refused(bad):
    with pytest.raises(ValueError):
        RoleSource.parse(bad)


def test_names_are_capped():
    many = {"groups": [f"g{i}" for i in range(5000)]}
    assert len(role_names(many, (RoleSource.parse("{groups}"), RoleSource.parse("x:{groups}")))) <= 2000


@pytest.mark.parametrize("claims, forced, service_when, kind", [
    ({"sub": "ci", "client_id": "ci"}, "auto", (), PrincipalKind.SERVICE),      # oidc-provider
    ({"sub": "0oa1", "cid": "0oa1", "scp": ["modelreg.write"]}, "auto", (), PrincipalKind.SERVICE),  # Okta
    ({"sub": "ann@example.com", "cid": "0oa2", "uid": "00u1"}, "auto", (), PrincipalKind.USER),      # Okta user
    (AUTH0_M2M, "auto", (), PrincipalKind.SERVICE),                            # gty
    (ENTRA_APP, "auto", (), PrincipalKind.SERVICE),                            # idtyp=app
    (AUTH0_USER, "auto", (), PrincipalKind.USER),
    (KEYCLOAK, "auto", (), PrincipalKind.USER),
    ({**KEYCLOAK, "client_id": "ci"}, "auto", ("client_id",), PrincipalKind.SERVICE),  # Keycloak service account
    (GITHUB, "service", (), PrincipalKind.SERVICE),
    ({"sub": "ci", "client_id": "ci"}, "user", (), PrincipalKind.USER),
])
def test_kind(claims, forced, service_when, kind):
    assert kind_of(claims, forced=forced, service_when=service_when) is kind
