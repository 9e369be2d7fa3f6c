"""The Casbin authorizer against the role matrix of the issue, cell by cell, with grouping rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.auth.authorizer import CasbinAuthorizer
from app.config import Settings
from app.domain.errors import ErrorCode, Forbidden
from app.domain.identity import Permission, Principal

pytestmark = pytest.mark.backend_independent

P = Permission
ROLES = ("data-scientist", "mlops", "approver", "auditor", "ci")

# The table, written out by hand so that a drifting policy.csv fails here.
MATRIX: dict[str, frozenset[Permission]] = {
    "data-scientist": frozenset({P.REGISTRY_READ, P.MODEL_WRITE, P.VERSION_WRITE, P.ALIAS_WRITE,
                                 P.ARTIFACT_READ, P.ARTIFACT_WRITE, P.TRANSITION_REQUEST, P.TRANSITION_CANCEL,
                                 P.DOCUMENT_WRITE, P.LINEAGE_WRITE}),
    "mlops": frozenset(Permission) - {P.TRANSITION_APPROVE, P.AUDIT_READ},
    "approver": frozenset({P.REGISTRY_READ, P.ARTIFACT_READ, P.TRANSITION_APPROVE}),
    "auditor": frozenset({P.REGISTRY_READ, P.ARTIFACT_READ, P.AUDIT_READ}),
    # least privilege for pipelines (issue 16): register, upload, request transitions; no alias, delete, deploy
    "ci": frozenset({P.REGISTRY_READ, P.MODEL_WRITE, P.VERSION_WRITE, P.ARTIFACT_READ, P.ARTIFACT_WRITE,
                     P.TRANSITION_REQUEST, P.DOCUMENT_WRITE, P.LINEAGE_WRITE}),
}


@pytest.fixture(scope="module")
def authorizer() -> CasbinAuthorizer:
    return CasbinAuthorizer(Settings().policy_dir)


def as_roles(*roles: str) -> Principal:
    return Principal(subject="someone", roles=frozenset(roles))


def test_matrix_covers_every_permission():
    assert set(MATRIX) == set(ROLES)
    assert set().union(*MATRIX.values()) == set(Permission)


@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.value)
@pytest.mark.parametrize("role", ROLES)
def test_each_cell(authorizer, role, permission):
    assert authorizer.allows(as_roles(role), permission) is (permission in MATRIX[role])


@pytest.mark.parametrize("role", ROLES)
def test_permissions_of_each_role(authorizer, role):
    assert authorizer.permissions_of(as_roles(role)) == MATRIX[role]


def test_policy_knows_exactly_the_five_roles(authorizer):
    assert authorizer.roles == frozenset(ROLES)


@pytest.mark.parametrize("roles", [(), ("nobody",), ("registry",), ("admin",), ("MLOPS",), ("mlops ",)])
def test_unknown_or_no_role_holds_nothing(authorizer, roles):
    assert authorizer.permissions_of(as_roles(*roles)) == frozenset()


def test_several_roles_hold_the_union(authorizer):
    assert authorizer.permissions_of(as_roles("approver", "data-scientist")) == \
        MATRIX["approver"] | MATRIX["data-scientist"]
    assert authorizer.permissions_of(as_roles("auditor", "nobody")) == MATRIX["auditor"]


def test_require_names_the_missing_permission(authorizer):
    with pytest.raises(Forbidden) as caught:
        authorizer.require(as_roles("auditor"), P.MODEL_DELETE)
    assert caught.value.code is ErrorCode.FORBIDDEN
    assert "model:delete" in caught.value.message and "auditor" in caught.value.message
    with pytest.raises(Forbidden, match="registry:read.*no registry role"):
        authorizer.require(as_roles(), P.REGISTRY_READ)
    authorizer.require(as_roles("mlops"), P.MODEL_DELETE)  # allowed: no exception


def test_roles_for_keeps_only_registry_roles(authorizer):
    assert authorizer.roles_for(["mlops", "offline_access", "uma_authorization"]) == {"mlops"}
    assert authorizer.roles_for(["auditor", "approver"]) == {"auditor", "approver"}
    assert authorizer.roles_for([]) == frozenset()
    assert authorizer.roles_for(["nobody", "group:ml-platform"]) == frozenset()  # no grouping rule by default
    # Names from the policy that are not roles (resources, actions) grant nothing.
    assert authorizer.roles_for(["registry", "read", "model", "write"]) == frozenset()


# Grouping rules: identity-provider groups mapped onto registry roles in a policy directory of one's own.


def policy_dir_with(tmp_path: Path, *lines: str) -> Path:
    source = Settings().policy_dir
    shutil.copy(source / "model.conf", tmp_path / "model.conf")
    text = (source / "policy.csv").read_text(encoding="utf-8")
    (tmp_path / "policy.csv").write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_group_mapped_onto_a_role(tmp_path):
    authorizer = CasbinAuthorizer(policy_dir_with(tmp_path, "g, group:ml-platform, mlops"))
    roles = authorizer.roles_for(["group:ml-platform"])
    assert roles == {"mlops"}
    assert authorizer.permissions_of(Principal(subject="g", roles=roles)) == MATRIX["mlops"]
    assert authorizer.roles_for(["group:ml-platform", "auditor"]) == {"mlops", "auditor"}
    assert authorizer.roles_for(["group:other"]) == frozenset()


def test_nested_groups_and_several_groups(tmp_path):
    authorizer = CasbinAuthorizer(policy_dir_with(
        tmp_path,
        "g, group:fraud-team, group:ml-engineers",
        "g, group:ml-engineers, data-scientist",
        "g, group:model-risk, approver",
    ))
    assert authorizer.roles_for(["group:fraud-team"]) == {"data-scientist"}
    assert authorizer.roles_for(["group:model-risk", "group:ml-engineers"]) == {"approver", "data-scientist"}


def test_group_names_are_not_registry_roles(tmp_path):
    authorizer = CasbinAuthorizer(policy_dir_with(tmp_path, "g, group:ml-platform, mlops"))
    assert authorizer.roles == frozenset(ROLES)


def test_shipped_policy_has_no_active_grouping_rule():
    """Group mappings are deployment-specific; the shipped policy only shows them as comments."""
    lines = (Settings().policy_dir / "policy.csv").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.strip().startswith("g")] == []
