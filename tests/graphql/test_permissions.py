"""The issue's permission table through the API, cell by cell; what ``viewer`` tells a frontend; callers without
a known role; identity-provider groups mapped onto roles by grouping rules in a policy directory of one's own."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from app.config import Settings
from app.domain.identity import Permission
from app.main import create_app
from tests.graphql.test_schema_coverage import assert_forbidden, error, gql, holds, ok, snapshot, token
from tests.support.client import Api

P = Permission
ROLES = ("data-scientist", "mlops", "approver", "auditor", "ci")

# The table: each row names the permissions behind it and the roles that may do it.
TABLE: dict[str, tuple[frozenset[Permission], frozenset[str]]] = {
    "read models, versions, aliases, tags, metrics": (
        frozenset({P.REGISTRY_READ}), frozenset({"data-scientist", "mlops", "approver", "auditor", "ci"})),
    "create/update model, create/update version, tags": (
        frozenset({P.MODEL_WRITE, P.VERSION_WRITE}), frozenset({"data-scientist", "mlops", "ci"})),
    "set/delete alias": (frozenset({P.ALIAS_WRITE}), frozenset({"data-scientist", "mlops"})),
    "delete version or model": (frozenset({P.MODEL_DELETE, P.VERSION_DELETE}), frozenset({"mlops"})),
    "upload artifact files": (frozenset({P.ARTIFACT_WRITE}), frozenset({"data-scientist", "mlops", "ci"})),
    "download artifact files": (frozenset({P.ARTIFACT_READ}),
                                frozenset({"data-scientist", "mlops", "approver", "auditor", "ci"})),
    "request a transition": (frozenset({P.TRANSITION_REQUEST}), frozenset({"data-scientist", "mlops", "ci"})),
    "approve or reject": (frozenset({P.TRANSITION_APPROVE}), frozenset({"approver"})),
    "cancel a request (own only without cancel-any)": (frozenset({P.TRANSITION_CANCEL}),
                                                       frozenset({"data-scientist", "mlops"})),
    "cancel anyone's request": (frozenset({P.TRANSITION_CANCEL_ANY}), frozenset({"mlops"})),
    "rollback production": (frozenset({P.PRODUCTION_ROLLBACK}), frozenset({"mlops"})),
    "attach documents": (frozenset({P.DOCUMENT_WRITE}), frozenset({"data-scientist", "mlops", "ci"})),
    "register datasets, runs, commits, external nodes; add lineage edges": (
        frozenset({P.LINEAGE_WRITE}), frozenset({"data-scientist", "mlops", "ci"})),
    "manage webhooks, read their deliveries": (frozenset({P.WEBHOOK_MANAGE}), frozenset({"mlops"})),
    "deploy, canaries, shadows, rollbacks": (frozenset({P.DEPLOYMENT_WRITE}), frozenset({"mlops"})),
    "read audit log, integrity, export": (frozenset({P.AUDIT_READ}), frozenset({"auditor"})),
    "import a registry from MLflow": (frozenset({P.REGISTRY_IMPORT}), frozenset({"mlops"})),
}


def permissions_of(role: str) -> list[str]:
    return sorted(p.value for permissions, roles in TABLE.values() if role in roles for p in permissions)


@pytest.mark.backend_independent
def test_table_rows_cover_every_permission_once():
    rows = [permissions for permissions, _ in TABLE.values()]
    assert sorted(p.value for row in rows for p in row) == sorted(p.value for p in Permission)


@pytest.mark.backend_independent
@pytest.mark.parametrize("role", [*ROLES, "nobody"])
@pytest.mark.parametrize("row", list(TABLE))
def test_cell(row, role):
    """The policy grants the role every permission of the row, or none of them. That each field enforces its
    permission as the policy says, role by role, is the field walk's job (test_field_enforces_its_permission)."""
    allowed = role in TABLE[row][1]
    assert {p.value: holds(role, p) for p in TABLE[row][0]} == {p.value: allowed for p in TABLE[row][0]}


VIEWER = "query Viewer { viewer { subject kind roles permissions } }"
LIST_MODELS = "query ListModels { registeredModels { totalCount } }"
CREATE_MODEL = """
mutation CreateModel($name: String!) { createRegisteredModel(input: {name: $name}) { registeredModel { name } } }
"""
DELETE_MODEL = "mutation DeleteModel($name: String!) { deleteRegisteredModel(input: {name: $name}) { name } }"
CREATE_VERSION_AND_MODEL = """
mutation CreateVersionAndModel($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { name version } }
}
"""
CREATE_VERSION = """
mutation CreateVersion($name: String!) { createModelVersion(input: {name: $name}) { modelVersion { version } } }
"""
MODEL_BY_FOREIGN_ID = 'query ModelByForeignId { node(id: "Rm9vOjE") { id } }'  # "Foo:1"


@pytest.mark.parametrize("role", ROLES)
async def test_viewer_shows_roles_and_permissions(api, role):
    viewer = (await ok(api, VIEWER, None, role, sub="alice"))["viewer"]
    assert viewer == {"subject": "alice", "kind": "USER", "roles": [role], "permissions": permissions_of(role)}


@pytest.mark.parametrize("roles", [("nobody",), ()], ids=["unknown role", "no roles claim values"])
async def test_caller_without_a_known_role_can_only_ask_who_they_are(api, roles):
    no_role = api.token(*roles, sub="stranger")
    viewer = (await api.post(VIEWER, token=no_role)).json()
    assert viewer == {"data": {"viewer": {"subject": "stranger", "kind": "USER", "roles": [], "permissions": []}}}
    listing = (await api.post(LIST_MODELS, token=no_role)).json()
    assert_forbidden(listing, P.REGISTRY_READ)
    assert "no registry role" in listing["errors"][0]["message"]
    created = (await api.post(CREATE_MODEL, {"name": "sneaky"}, token=no_role)).json()
    assert_forbidden(created, P.MODEL_WRITE)
    assert (await snapshot(api))["registeredModels"]["totalCount"] == 0


async def test_forbidden_message_says_what_is_missing_and_what_the_caller_has(api):
    await ok(api, CREATE_MODEL, {"name": "m"}, "mlops")
    refused = await error(api, DELETE_MODEL, {"name": "m"}, "data-scientist")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert refused["message"] == "missing permission model:delete (caller has data-scientist)"
    assert refused["path"] == ["deleteRegisteredModel"]


async def test_several_roles_hold_the_union(api):
    viewer = (await ok(api, VIEWER, None, "approver", "data-scientist"))["viewer"]
    assert viewer["roles"] == ["approver", "data-scientist"]
    assert viewer["permissions"] == sorted({*permissions_of("approver"), *permissions_of("data-scientist")})
    await ok(api, CREATE_MODEL, {"name": "m"}, "approver", "data-scientist")
    assert_forbidden(await gql(api, DELETE_MODEL, {"name": "m"}, "approver", "data-scientist"), P.MODEL_DELETE)


async def test_unknown_roles_next_to_a_known_one_are_ignored(api):
    viewer = (await ok(api, VIEWER, None, "auditor", "superuser", "offline_access"))["viewer"]
    assert viewer["roles"] == ["auditor"]
    assert viewer["permissions"] == permissions_of("auditor")


async def test_caller_without_a_role_cannot_use_node_either(api):
    assert_forbidden(await gql(api, MODEL_BY_FOREIGN_ID, None, "nobody"), P.REGISTRY_READ)


# Grouping rules, with an application built on a policy directory of the test's own.


@contextlib.asynccontextmanager
async def api_with_policy(settings: Settings, api: Api, tmp_path: Path, *lines: str) -> AsyncIterator[Api]:
    """An API on the same (freshly wiped) database whose policy.csv has ``lines`` appended."""
    policy_dir = tmp_path / "policies"
    shutil.copytree(settings.policy_dir, policy_dir)
    with (policy_dir / "policy.csv").open("a", encoding="utf-8") as policy:
        policy.write("\n" + "\n".join(lines) + "\n")
    application = create_app(settings.with_overrides(policy_dir=policy_dir))
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, api.data_dir, database_url=api.database_url)
    finally:
        await application.state.database.dispose()


async def test_group_from_the_identity_provider_maps_onto_a_role(api, settings, tmp_path):
    async with api_with_policy(settings, api, tmp_path, "g, group:ml-platform, mlops") as grouped:
        platform = token(grouped, "group:ml-platform", sub="platform-bot")
        viewer = (await grouped.post(VIEWER, token=platform)).json()["data"]["viewer"]
        assert viewer["roles"] == ["mlops"]
        assert viewer["permissions"] == permissions_of("mlops")
        created = (await grouped.post(CREATE_MODEL, {"name": "m"}, token=platform)).json()
        assert created == {"data": {"createRegisteredModel": {"registeredModel": {"name": "m"}}}}
        deleted = (await grouped.post(DELETE_MODEL, {"name": "m"}, token=platform)).json()
        assert deleted == {"data": {"deleteRegisteredModel": {"name": "m"}}}

        other_group = token(grouped, "group:marketing", sub="someone")
        assert (await grouped.post(VIEWER, token=other_group)).json()["data"]["viewer"]["roles"] == []
        assert_forbidden((await grouped.post(LIST_MODELS, token=other_group)).json(), P.REGISTRY_READ)


async def test_group_without_a_rule_means_nothing_in_the_shipped_policy(api):
    viewer = (await ok(api, VIEWER, None, "group:ml-platform"))["viewer"]
    assert viewer["roles"] == [] and viewer["permissions"] == []


async def test_creating_the_model_along_with_a_version_needs_model_write(api, settings, tmp_path):
    """A role with version:write alone (a CI pipeline, say) adds versions but does not register models."""
    async with api_with_policy(settings, api, tmp_path, "p, versions-only, registry, read",
                               "p, versions-only, version, write") as custom:
        ci = token(custom, "versions-only", sub="ci-bot")
        refused = (await custom.post(CREATE_VERSION_AND_MODEL, {"name": "new"}, token=ci)).json()
        assert_forbidden(refused, P.MODEL_WRITE)
        assert (await snapshot(api))["registeredModels"]["totalCount"] == 0

        await ok(api, CREATE_MODEL, {"name": "existing"}, "mlops")
        added = (await custom.post(CREATE_VERSION, {"name": "existing"}, token=ci)).json()
        assert added == {"data": {"createModelVersion": {"modelVersion": {"version": 1}}}}
