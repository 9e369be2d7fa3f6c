"""Approver groups (issue 18): the promotion policy requires approvals from members of named groups per model
pattern. ``fraud/*`` to PRODUCTION needs two approvals, one of them from a member of ``risk-office`` (the group in
the approver's token ``groups`` claim); other models need the usual one. The request says which group approvals are
missing, each approval records the approver's groups that counted, and the audit log explains the decision."""

from __future__ import annotations

from typing import Any

from app.auth import dev_issuer
from tests.governance.conftest import api_with_promotion
from tests.support.client import Api

POLICY = """\
version: 1
protected_aliases: [champion]
stages:
  STAGING: {required_approvals: 0}
  PRODUCTION: {required_approvals: 1, gates: {version_ready: true, documents: []}}
  ARCHIVED: {required_approvals: 0}
overrides:
  - models: "fraud/*"
    stages:
      PRODUCTION:
        required_approvals: 2
        approver_groups: {risk-office: 1}
"""
REGISTER = """
mutation Register($name: String!) {
  createModelVersion(input: {name: $name, createModelIfMissing: true}) { modelVersion { version } }
}
"""
REQUEST = """
mutation Request($name: String!, $to: Stage!) {
  requestStageTransition(input: {name: $name, version: 1, toStage: $to}) {
    transitionRequest { id status requiredApprovals groupApprovals { group required approvals missing } }
  }
}
"""
REQUEST_ALIAS = """
mutation RequestAlias($name: String!) {
  requestAliasTransition(input: {name: $name, version: 1, alias: "champion"}) {
    transitionRequest { id status groupApprovals { group required approvals missing } }
  }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveTransitionRequest(input: {id: $id}) {
    transitionRequest {
      status
      groupApprovals { group required approvals missing }
      approvals { nodes { decidedBy { subject } approverGroups } }
    }
  }
}
"""
APPROVALS_AUDIT = """
query Audit {
  auditEvents(first: 20, filter: {action: "transition.approve"}) {
    nodes { actor { subject } outcome after }
  }
}
"""


def token(api: Api, sub: str, roles: list[str], groups: list[str] | None) -> str:
    return dev_issuer.mint_token(api.data_dir, subject=sub, roles=roles, audience=api.audience, groups=groups)


async def run(api: Api, document: str, variables: dict[str, Any], sub: str, roles: list[str],
              groups: list[str] | None = None) -> dict[str, Any]:
    response = await api.post(document, variables, token=token(api, sub, roles, groups))
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def production_request(api: Api, name: str) -> dict[str, Any]:
    await run(api, REGISTER, {"name": name}, "ds", ["data-scientist"])
    await run(api, REQUEST, {"name": name, "to": "STAGING"}, "ds", ["data-scientist"])
    return (await run(api, REQUEST, {"name": name, "to": "PRODUCTION"}, "ds", ["data-scientist"]))[
        "requestStageTransition"]["transitionRequest"]


def approve(api: Api, request_id: str, sub: str, groups: list[str] | None, roles: tuple[str, ...] = ("approver",)):
    return run(api, APPROVE, {"id": request_id}, sub, list(roles), groups)


async def test_a_group_approval_is_required_besides_the_count(settings, api, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, POLICY) as api:
        request = await production_request(api, "fraud/scorer")
        assert request["status"] == "PENDING" and request["requiredApprovals"] == 2
        assert request["groupApprovals"] == [{"group": "risk-office", "required": 1, "approvals": 0, "missing": 1}]

        # Two approvals, neither from risk-office: the count is there, the group approval is not.
        await approve(api, request["id"], "a1", ["staff"])
        second = (await approve(api, request["id"], "a2", None))["approveTransitionRequest"]["transitionRequest"]
        assert second["status"] == "PENDING"
        assert second["groupApprovals"] == [{"group": "risk-office", "required": 1, "approvals": 0, "missing": 1}]

        # A member of risk-office approves: it counts for the group, and the move applies.
        third = (await approve(api, request["id"], "risk-1", ["staff", "risk-office"]))[
            "approveTransitionRequest"]["transitionRequest"]
        assert third["status"] == "APPLIED"
        assert third["groupApprovals"] == [{"group": "risk-office", "required": 1, "approvals": 1, "missing": 0}]
        recorded = {n["decidedBy"]["subject"]: n["approverGroups"] for n in third["approvals"]["nodes"]}
        assert recorded == {"a1": [], "a2": [], "risk-1": ["risk-office"]}  # only the groups that counted

        # The audit log explains each approval: the approver's counting groups, the tally, what was missing.
        events = (await api.ok(APPROVALS_AUDIT, None, "auditor"))["auditEvents"]["nodes"]
        after = {e["actor"]["subject"]: e["after"] for e in events if e["outcome"] == "OK"}
        assert after["a2"]["approverGroups"] == [] and after["a2"]["status"] == "PENDING"
        assert after["a2"]["missingGroupApprovals"] == "risk-office: 1 more approval"
        assert after["a2"]["requiredGroups"] == {"risk-office": 1}
        assert after["risk-1"]["approverGroups"] == ["risk-office"]
        assert after["risk-1"]["groupApprovals"] == {"risk-office": 1}
        assert after["risk-1"]["missingGroupApprovals"] is None and after["risk-1"]["status"] == "APPLIED"


async def test_the_group_member_may_come_first(settings, api, tmp_path):
    """A member's approval counts for the group and for the total: one more approval from anyone completes it."""
    async with api_with_promotion(settings, api, tmp_path, POLICY) as api:
        request = await production_request(api, "fraud/early")
        first = (await approve(api, request["id"], "risk-1", ["risk-office"]))[
            "approveTransitionRequest"]["transitionRequest"]
        assert first["status"] == "PENDING" and first["groupApprovals"][0]["missing"] == 0
        second = (await approve(api, request["id"], "a1", []))["approveTransitionRequest"]["transitionRequest"]
        assert second["status"] == "APPLIED"


async def test_models_outside_the_pattern_and_protected_aliases(settings, api, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, POLICY) as api:
        churn = await production_request(api, "churn/scorer")
        assert churn["groupApprovals"] == [] and churn["requiredApprovals"] == 1
        applied = (await approve(api, churn["id"], "a1", ["staff"]))["approveTransitionRequest"]["transitionRequest"]
        assert applied["status"] == "APPLIED" and applied["approvals"]["nodes"][0]["approverGroups"] == []

        # Moving the protected alias of a fraud/ model takes what PRODUCTION takes: the group approval too.
        await run(api, REGISTER, {"name": "fraud/aliased"}, "ds", ["data-scientist"])
        alias = (await run(api, REQUEST_ALIAS, {"name": "fraud/aliased"}, "ds", ["data-scientist"]))[
            "requestAliasTransition"]["transitionRequest"]
        assert alias["groupApprovals"] == [{"group": "risk-office", "required": 1, "approvals": 0, "missing": 1}]
        await approve(api, alias["id"], "a1", None)
        assert (await approve(api, alias["id"], "a2", ["other"]))[
            "approveTransitionRequest"]["transitionRequest"]["status"] == "PENDING"


async def test_a_group_member_still_needs_the_approver_role_in_the_namespace(settings, api, tmp_path):
    """Membership of the group adds nothing to what the approver may do: a risk-office member whose approver role
    is held in churn/ is refused on a fraud/ request, and nothing is recorded."""
    async with api_with_promotion(settings, api, tmp_path, POLICY) as api:
        request = await production_request(api, "fraud/scoped")
        response = await api.post(APPROVE, {"id": request["id"]},
                                  token=token(api, "risk-2", ["approver@churn/"], ["risk-office"]))
        errors = response.json()["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN", errors
        scoped = (await approve(api, request["id"], "risk-3", ["risk-office"], roles=("approver@fraud/",)))[
            "approveTransitionRequest"]["transitionRequest"]
        assert scoped["groupApprovals"][0]["approvals"] == 1 and scoped["status"] == "PENDING"


async def test_the_mlflow_door_names_the_group_approvals_a_move_waits_for(settings, api, tmp_path):
    """MLflow's transition-stage makes the same request; its answer says which group's approval it waits for."""
    async with api_with_promotion(settings, api, tmp_path, POLICY) as api:
        await run(api, REGISTER, {"name": "fraud/via-mlflow"}, "ds", ["data-scientist"])
        headers = {"authorization": f"Bearer {token(api, 'ds', ['data-scientist'], None)}"}
        url = "/api/2.0/mlflow/model-versions/transition-stage"
        body = {"name": "fraud~via-mlflow", "version": "1"}
        assert (await api.client.post(url, json={**body, "stage": "Staging"}, headers=headers)).status_code == 200
        pending = await api.client.post(url, json={**body, "stage": "Production"}, headers=headers)
        assert pending.status_code == 400 and pending.json()["error_code"] == "INVALID_STATE", pending.text
        assert "needs 2 approvals (1 from members of risk-office)" in pending.json()["message"]
