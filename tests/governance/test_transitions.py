"""Governed promotion through the API: requests, approvals with separation of duties, rejection, cancellation,
gates, rollback and protected aliases."""

from __future__ import annotations

import pytest

from tests.governance.conftest import api_with_promotion, call, error, ok

REGISTER = """
mutation Register($name: String!, $metrics: [MetricInput!]) {
  createModelVersion(input: {name: $name, createModelIfMissing: true, metrics: $metrics}) {
    modelVersion { version }
  }
}
"""
ATTACH_CARD = """
mutation AttachCard($name: String!, $version: Int!) {
  attachDocument(input: {name: $name, version: $version, kind: MODEL_CARD, title: "Card", markdown: "# card"}) {
    modelDocument { kind title revision }
  }
}
"""
REQUEST = """
mutation Request($name: String!, $version: Int!, $to: Stage!, $archive: Boolean! = true) {
  requestStageTransition(input: {name: $name, version: $version, toStage: $to, comment: "please",
                                 archiveExistingProduction: $archive}) {
    transitionRequest { id status fromStage toStage requiredApprovals requestedBy { subject }
                        gateResults { gate passed detail } }
  }
}
"""
REQUEST_ALIAS = """
mutation RequestAlias($name: String!, $version: Int!, $alias: String!) {
  requestAliasTransition(input: {name: $name, version: $version, alias: $alias}) {
    transitionRequest { id status kind alias requiredApprovals }
  }
}
"""
APPROVE = """
mutation Approve($id: ID!) {
  approveTransitionRequest(input: {id: $id, comment: "ok"}) {
    transitionRequest {
      status resolvedBy { subject } approvals { nodes { decidedBy { subject } decision comment } }
      gateResults { gate passed detail }
    }
  }
}
"""
REJECT = """
mutation Reject($id: ID!, $comment: String!) {
  rejectTransitionRequest(input: {id: $id, comment: $comment}) {
    transitionRequest {
      status resolvedBy { subject } resolutionComment approvals { nodes { decidedBy { subject } decision } }
    }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) { cancelTransitionRequest(input: {id: $id, comment: "never mind"}) { transitionRequest { status } } }
"""
ROLLBACK = """
mutation Rollback($name: String!) {
  rollbackProduction(input: {name: $name, reason: "error rate doubled"}) {
    restored { version stage } archived { version stage }
  }
}
"""
SET_ALIAS = """
mutation SetAlias($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(input: {name: $name, alias: $alias, version: $version}) { modelAlias { alias } }
}
"""
DELETE_ALIAS = 'mutation DeleteAlias($name: String!) { deleteModelAlias(input: {name: $name, alias: "champion"}) { alias } }'
STAGES = """
query Stages($name: String!) {
  registeredModel(name: $name) {
    aliases { alias version }
    versions(first: 50, orderBy: {field: VERSION, direction: ASC}) {
      nodes { version stage stageHistory { nodes { fromStage toStage changedBy { subject } reason } } }
    }
  }
}
"""
REQUESTS_OF = """
query RequestsOf($name: String!, $status: [TransitionStatus!]) {
  transitionRequests(filter: {name: $name, status: $status}) {
    totalCount nodes { version status requestedBy { subject } }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on TransitionRequest { status version name } } }"


def by(subject: str) -> dict[str, str]:
    """An Actor as the API answers it (the kind of caller is not recorded with transitions)."""
    return {"subject": subject}


def history(version: dict) -> list[dict]:
    """A version's stage history (newest first), with who moved it by subject."""
    return [{**change, "changedBy": change["changedBy"]["subject"]} for change in version["stageHistory"]["nodes"]]


def decisions(request: dict) -> list[dict]:
    """A request's decisions (newest first), with who decided by subject."""
    return [{**decision, "decidedBy": decision["decidedBy"]["subject"]} for decision in request["approvals"]["nodes"]]


async def stages(api, name="m") -> dict[int, str]:
    data = await ok(api, STAGES, {"name": name}, "auditor", "reader")
    return {v["version"]: v["stage"] for v in data["registeredModel"]["versions"]["nodes"]}


async def register(api, name="m", count=1, card=True, sub="dana", metrics=None) -> None:
    for _ in range(count):
        number = (await ok(api, REGISTER, {"name": name, "metrics": metrics}, "data-scientist", sub))[
            "createModelVersion"]["modelVersion"]["version"]
        if card:
            await ok(api, ATTACH_CARD, {"name": name, "version": number}, "data-scientist", sub)


async def request(api, version, to, name="m", sub="dana", role="data-scientist", archive=True) -> dict:
    data = await ok(api, REQUEST, {"name": name, "version": version, "to": to, "archive": archive}, role, sub)
    return data["requestStageTransition"]["transitionRequest"]


async def approve(api, request_id, sub="alice") -> dict:
    return (await ok(api, APPROVE, {"id": request_id}, "approver", sub))["approveTransitionRequest"][
        "transitionRequest"]


async def to_production(api, version, name="m") -> None:
    await request(api, version, "STAGING", name)
    pending = await request(api, version, "PRODUCTION", name)
    assert (await approve(api, pending["id"]))["status"] == "APPLIED"


async def test_the_whole_way_to_production(api):
    await register(api, count=2)
    staging = await request(api, 1, "STAGING")
    assert (staging["status"], staging["fromStage"], staging["toStage"], staging["requiredApprovals"]) == (
        "APPLIED", "NONE", "STAGING", 0)
    pending = await request(api, 1, "PRODUCTION")
    assert (pending["status"], pending["requiredApprovals"]) == ("PENDING", 1)
    assert pending["gateResults"] == [
        {"gate": "version READY", "passed": True, "detail": "READY"},
        {"gate": "document MODEL_CARD", "passed": True, "detail": "attached"}]
    assert await stages(api) == {1: "STAGING", 2: "NONE"}
    applied = await approve(api, pending["id"])
    assert (applied["status"], applied["resolvedBy"]) == ("APPLIED", by("alice"))
    assert decisions(applied) == [{"decidedBy": "alice", "decision": "APPROVE", "comment": "ok"}]
    assert await stages(api) == {1: "PRODUCTION", 2: "NONE"}

    await to_production(api, 2)  # archives version 1 (archiveExistingProduction defaults to true)
    assert await stages(api) == {1: "ARCHIVED", 2: "PRODUCTION"}
    versions = (await ok(api, STAGES, {"name": "m"}, "approver", "x"))["registeredModel"]["versions"]["nodes"]
    assert history(versions[0]) == [
        {"fromStage": "PRODUCTION", "toStage": "ARCHIVED", "changedBy": "alice",
         "reason": "replaced in PRODUCTION by version 2"},
        {"fromStage": "STAGING", "toStage": "PRODUCTION", "changedBy": "alice", "reason": "requested by dana: please; approved by alice: ok"},
        {"fromStage": "NONE", "toStage": "STAGING", "changedBy": "dana", "reason": "requested by dana: please"}]
    found = await ok(api, NODE, {"id": pending["id"]}, "auditor", "x")
    assert found["node"] == {"id": pending["id"], "status": "APPLIED", "version": 1, "name": "m"}
    listed = (await ok(api, REQUESTS_OF, {"name": "m", "status": ["APPLIED"]}, "auditor", "x"))["transitionRequests"]
    assert listed["totalCount"] == 4


@pytest.mark.parametrize("current,target,allowed", [
    ("NONE", "PRODUCTION", "NONE -> STAGING, NONE -> ARCHIVED"),
    ("ARCHIVED", "PRODUCTION", "ARCHIVED -> STAGING"),
    ("STAGING", "STAGING", "STAGING -> PRODUCTION, STAGING -> ARCHIVED"),
])
async def test_moves_outside_the_machine_say_which_are_allowed(api, current, target, allowed):
    await register(api)
    if current != "NONE":
        await request(api, 1, current)
    refused = await error(api, REQUEST, {"name": "m", "version": 1, "to": target}, "data-scientist", "dana")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    assert f"allowed from {current}: {allowed}" in refused["message"]


async def test_demotion_and_unarchiving_follow_the_machine(api):
    await register(api)
    await to_production(api, 1)
    await request(api, 1, "STAGING")  # PRODUCTION -> STAGING: demotion, no approval by default
    await request(api, 1, "ARCHIVED")
    await request(api, 1, "STAGING")  # ARCHIVED -> STAGING
    assert await stages(api) == {1: "STAGING"}


# Separation of duties.


async def test_approver_cannot_approve_their_own_request_or_their_own_version(api):
    await register(api, sub="dana")
    await request(api, 1, "STAGING")
    # A person holding both roles requested it: they cannot approve it.
    both = await call(api, REQUEST, {"name": "m", "version": 1, "to": "PRODUCTION"}, "data-scientist", "carol")
    request_id = both["data"]["requestStageTransition"]["transitionRequest"]["id"]
    own = await error(api, APPROVE, {"id": request_id}, "approver", "carol")
    assert own["extensions"]["code"] == "FORBIDDEN" and "you made transition request" in own["message"]
    creator = await error(api, APPROVE, {"id": request_id}, "approver", "dana")
    assert creator["extensions"]["code"] == "FORBIDDEN" and "you registered version 1" in creator["message"]
    rejected = await error(api, REJECT, {"id": request_id, "comment": "mine"}, "approver", "dana")
    assert rejected["extensions"]["code"] == "FORBIDDEN"
    assert await stages(api) == {1: "STAGING"}
    assert (await approve(api, request_id, sub="alice"))["status"] == "APPLIED"


@pytest.mark.parametrize("role", ["data-scientist", "mlops", "auditor"])
async def test_only_approvers_decide(api, role):
    await register(api)
    await request(api, 1, "STAGING")
    pending = await request(api, 1, "PRODUCTION")
    refused = await error(api, APPROVE, {"id": pending["id"]}, role, "eve")
    assert refused["extensions"]["code"] == "FORBIDDEN" and "transition:approve" in refused["message"]


TWO_APPROVALS = """
version: 1
stages:
  PRODUCTION:
    required_approvals: 2
"""


async def test_each_approver_counts_once_and_one_rejection_rejects(api, settings, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, TWO_APPROVALS) as governed:
        await register(governed, count=2)
        await request(governed, 1, "STAGING")
        first = await request(governed, 1, "PRODUCTION")
        assert first["requiredApprovals"] == 2
        assert (await approve(governed, first["id"], "alice"))["status"] == "PENDING"
        again = await error(governed, APPROVE, {"id": first["id"]}, "approver", "alice")
        assert again["extensions"]["code"] == "CONFLICT" and "counts once" in again["message"]
        assert await stages(governed) == {1: "STAGING", 2: "NONE"}
        done = await approve(governed, first["id"], "bob")
        assert done["status"] == "APPLIED"
        assert [d["decidedBy"] for d in decisions(done)] == ["bob", "alice"]  # newest first
        assert await stages(governed) == {1: "PRODUCTION", 2: "NONE"}

        await request(governed, 2, "STAGING")
        second = await request(governed, 2, "PRODUCTION")
        await approve(governed, second["id"], "alice")
        rejected = (await ok(governed, REJECT, {"id": second["id"], "comment": "latency regressed"}, "approver",
                             "bob"))["rejectTransitionRequest"]["transitionRequest"]
        assert (rejected["status"], rejected["resolvedBy"], rejected["resolutionComment"]) == (
            "REJECTED", by("bob"), "latency regressed")
        assert decisions(rejected) == [{"decidedBy": "bob", "decision": "REJECT"},
                                       {"decidedBy": "alice", "decision": "APPROVE"}]
        late = await error(governed, APPROVE, {"id": second["id"]}, "approver", "carol")
        assert late["extensions"]["code"] == "FAILED_PRECONDITION" and "REJECTED" in late["message"]
        assert await stages(governed) == {1: "PRODUCTION", 2: "STAGING"}


# Cancelling.


async def test_data_scientists_cancel_their_own_requests_only_and_mlops_any(api):
    await register(api, count=2)
    await request(api, 1, "STAGING")
    await request(api, 2, "STAGING")
    mine = await request(api, 1, "PRODUCTION", sub="dana")
    theirs = await request(api, 2, "PRODUCTION", sub="dana")
    refused = await error(api, CANCEL, {"id": mine["id"]}, "data-scientist", "frank")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert "transition:cancel-any" in refused["message"] and "made by dana" in refused["message"]
    assert (await ok(api, CANCEL, {"id": mine["id"]}, "data-scientist", "dana"))["cancelTransitionRequest"][
        "transitionRequest"]["status"] == "CANCELLED"
    assert (await ok(api, CANCEL, {"id": theirs["id"]}, "mlops", "olga"))["cancelTransitionRequest"][
        "transitionRequest"]["status"] == "CANCELLED"
    for role in ("approver", "auditor"):
        assert (await error(api, CANCEL, {"id": theirs["id"]}, role, "x"))["extensions"]["code"] == "FORBIDDEN"
    closed = await error(api, APPROVE, {"id": mine["id"]}, "approver", "alice")
    assert closed["extensions"]["code"] == "FAILED_PRECONDITION"
    assert closed["message"].startswith(f"transition request {mine['id']} is CANCELLED")  # its global id


# Gates.

STRICT = """
version: 1
stages:
  STAGING:
    gates:
      metrics: ["accuracy >= 0.9"]
overrides:
  - models: "fraud/*"
    stages:
      STAGING:
        required_approvals: 0
        gates:
          version_ready: true
          metrics: ["accuracy[holdout] >= 0.95", "latency_ms <= 50", "auc"]
          documents: [MODEL_CARD, BIAS_AUDIT]
"""


async def test_failed_gates_are_all_listed(api, settings, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, STRICT) as governed:
        await register(governed, "fraud/scorer", card=False,
                       metrics=[{"name": "accuracy", "value": 0.97, "dataset": "train"},
                                {"name": "accuracy", "value": 0.93, "dataset": "holdout"},
                                {"name": "latency_ms", "value": 40}])
        refused = await error(governed, REQUEST, {"name": "fraud/scorer", "version": 1, "to": "STAGING"},
                              "data-scientist", "dana")
        assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
        message = refused["message"]
        assert message.startswith("version 1 of 'fraud/scorer' cannot move to STAGING: 4 gate(s) failed: ")
        for failure in ("metric accuracy[holdout] >= 0.95: recorded 0.93; none is >= 0.95",
                        "metric auc: the version has no 'auc' metric",
                        "document MODEL_CARD: no MODEL_CARD document is attached",
                        "document BIAS_AUDIT: no BIAS_AUDIT document is attached"):
            assert failure in message
        assert "latency_ms" not in message and "version READY" not in message
        assert await stages(governed, "fraud/scorer") == {1: "NONE"}

        # Models the override does not match get the defaults of this policy: accuracy >= 0.9, any dataset.
        await register(governed, "other", card=False, metrics=[{"name": "accuracy", "value": 0.91, "dataset": "a"}])
        assert (await request(governed, 1, "STAGING", name="other"))["gateResults"] == [
            {"gate": "version READY", "passed": True, "detail": "READY"},
            {"gate": "metric accuracy >= 0.9", "passed": True, "detail": "0.91 >= 0.9"}]


async def test_production_needs_a_model_card_by_default(api):
    await register(api, card=False)
    await request(api, 1, "STAGING")
    refused = await error(api, REQUEST, {"name": "m", "version": 1, "to": "PRODUCTION"}, "data-scientist", "dana")
    assert refused["message"].endswith("1 gate(s) failed: document MODEL_CARD: no MODEL_CARD document is attached")
    await ok(api, ATTACH_CARD, {"name": "m", "version": 1}, "mlops", "olga")
    assert (await request(api, 1, "PRODUCTION"))["status"] == "PENDING"


async def test_a_request_that_cannot_apply_stays_approved_until_it_can(api):
    await register(api, count=2)
    await request(api, 1, "STAGING")
    await request(api, 2, "STAGING")
    keep = await request(api, 1, "PRODUCTION", archive=False)  # fine now: nothing is in PRODUCTION
    other = await request(api, 2, "PRODUCTION")
    await approve(api, other["id"])  # version 2 takes PRODUCTION first
    stuck = await approve(api, keep["id"], "bob")
    assert stuck["status"] == "APPROVED"
    assert stuck["gateResults"][0]["gate"] == "move allowed" and not stuck["gateResults"][0]["passed"]
    assert "archiveExistingProduction" in stuck["gateResults"][0]["detail"]
    retry = await error(api, APPROVE, {"id": keep["id"]}, "approver", "carol")
    assert retry["extensions"]["code"] == "FAILED_PRECONDITION" and "still cannot apply" in retry["message"]
    await request(api, 2, "ARCHIVED")
    assert (await approve(api, keep["id"], "bob"))["status"] == "APPLIED"  # bob's approval is not counted twice
    assert await stages(api) == {1: "PRODUCTION", 2: "ARCHIVED"}


# Rollback.


async def test_rollback_restores_the_previous_production_version_at_once(api):
    await register(api, count=3)
    for number in (1, 2, 3):
        await to_production(api, number)
    assert await stages(api) == {1: "ARCHIVED", 2: "ARCHIVED", 3: "PRODUCTION"}
    rolled = (await ok(api, ROLLBACK, {"name": "m"}, "mlops", "olga"))["rollbackProduction"]
    assert rolled == {"restored": {"version": 2, "stage": "PRODUCTION"}, "archived": {"version": 3, "stage": "ARCHIVED"}}
    versions = (await ok(api, STAGES, {"name": "m"}, "auditor", "x"))["registeredModel"]["versions"]["nodes"]
    assert history(versions[1])[0] == {"fromStage": "ARCHIVED", "toStage": "PRODUCTION", "changedBy": "olga",
                                       "reason": "restored by rollback: error rate doubled"}
    assert history(versions[2])[0]["reason"] == "rolled back: error rate doubled"
    again = (await ok(api, ROLLBACK, {"name": "m"}, "mlops", "olga"))["rollbackProduction"]
    assert again["restored"]["version"] == 3  # the version before 2 in PRODUCTION was 3 (most recent other one)
    for role in ("data-scientist", "approver", "auditor"):
        refused = await error(api, ROLLBACK, {"name": "m"}, role, "x")
        assert refused["extensions"]["code"] == "FORBIDDEN" and "production:rollback" in refused["message"]


async def test_rollback_needs_an_earlier_production_version(api):
    await register(api)
    await to_production(api, 1)
    refused = await error(api, ROLLBACK, {"name": "m"}, "mlops", "olga")
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION" and "no earlier PRODUCTION" in refused["message"]


# Protected aliases.


async def test_protected_alias_moves_only_through_an_approved_request(api):
    await register(api, count=2)
    for role in ("data-scientist", "mlops"):
        refused = await error(api, SET_ALIAS, {"name": "m", "alias": "champion", "version": 1}, role, "dana")
        assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
        assert "protected" in refused["message"] and "requestAliasTransition" in refused["message"]
    await ok(api, SET_ALIAS, {"name": "m", "alias": "challenger", "version": 2}, "data-scientist", "dana")  # free

    pending = (await ok(api, REQUEST_ALIAS, {"name": "m", "version": 1, "alias": "champion"}, "data-scientist",
                        "dana"))["requestAliasTransition"]["transitionRequest"]
    assert (pending["status"], pending["kind"], pending["alias"], pending["requiredApprovals"]) == (
        "PENDING", "ALIAS", "champion", 1)
    assert (await approve(api, pending["id"]))["status"] == "APPLIED"
    aliases = (await ok(api, STAGES, {"name": "m"}, "auditor", "x"))["registeredModel"]["aliases"]
    assert aliases == [{"alias": "challenger", "version": 2}, {"alias": "champion", "version": 1}]
    assert (await error(api, DELETE_ALIAS, {"name": "m"}, "mlops", "olga"))["extensions"]["code"] == \
        "FAILED_PRECONDITION"
    already = await error(api, REQUEST_ALIAS, {"name": "m", "version": 1, "alias": "champion"}, "mlops", "olga")
    assert already["extensions"]["code"] == "FAILED_PRECONDITION" and "already points" in already["message"]
    free = await error(api, REQUEST_ALIAS, {"name": "m", "version": 1, "alias": "challenger"}, "mlops", "olga")
    assert free["extensions"]["code"] == "BAD_USER_INPUT" and "not protected" in free["message"]


async def test_protected_aliases_come_from_the_policy(api, settings, tmp_path):
    async with api_with_promotion(settings, api, tmp_path, "version: 1\nprotected_aliases: [prod]\n") as governed:
        await register(governed)
        await ok(governed, SET_ALIAS, {"name": "m", "alias": "champion", "version": 1}, "data-scientist", "dana")
        refused = await error(governed, SET_ALIAS, {"name": "m", "alias": "prod", "version": 1}, "data-scientist",
                              "dana")
        assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
