"""The rules of governed promotion (app/domain/transitions.py) as truth tables: what may be requested, separation of
duties, who may cancel, approval counting, when a request applies, and what a production rollback restores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.domain.entities import ModelVersion, Stage, VersionStatus
from app.domain.errors import BadUserInput, Conflict, FailedPrecondition, Forbidden, RegistryError
from app.domain.governance import (
    Approval,
    Decision,
    GateResult,
    NewTransition,
    StageChange,
    TransitionKind,
    TransitionRequest,
    TransitionStatus,
)
from app.domain.promotion import PromotionPolicy, parse_policy
from app.domain.transitions import (
    RollbackPlan,
    applies_at_once,
    approvals_complete,
    check_alias_unprotected,
    check_gates_for_request,
    check_may_approve,
    check_may_cancel,
    check_may_reject,
    check_move_now,
    check_new_transition,
    check_no_open_duplicate,
    check_open,
    check_separation_of_duties,
    checks_before_apply,
    counting_groups,
    displaced_from_production,
    gates_pass,
    group_approvals,
    missing_groups_text,
    move_reason,
    move_target,
    needs_free_production,
    passes,
    plan_rollback,
    restorable_numbers,
    rule_for_move,
    status_after_approvals,
    tally_approval,
)

pytestmark = pytest.mark.backend_independent

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PASSED, FAILED = GateResult("version READY", True, "READY"), GateResult("document MODEL_CARD", False, "none attached")
REQUEST_7 = "VHJhbnNpdGlvblJlcXVlc3Q6Nw"  # the global id of transition request 7: messages never name row numbers


def version(number: int = 3, stage: Stage = Stage.STAGING, created_by: str = "dana", id: int | None = None):
    return ModelVersion(id=id if id is not None else 100 + number, model_id=1, model_name="m", version=number,
                        status=VersionStatus.READY, stage=stage, description=None, flavor=None, signature=None,
                        run=None, code=None, artifact=None, params={}, created_at=NOW, created_by=created_by,
                        updated_at=NOW)


def request(status: TransitionStatus = TransitionStatus.PENDING, requested_by: str = "rita", required: int = 1,
            kind: TransitionKind = TransitionKind.STAGE, to_stage: Stage | None = Stage.PRODUCTION,
            alias: str | None = None, archive: bool = True) -> TransitionRequest:
    return TransitionRequest(id=7, model_id=1, model_name="m", version_id=103, version=3, kind=kind,
                             from_stage=Stage.STAGING, to_stage=to_stage, alias=alias, status=status,
                             requested_by=requested_by, requested_at=NOW, comment=None, required_approvals=required,
                             archive_existing_production=archive, gate_results=())


def approval(approver: str, decision: Decision = Decision.APPROVE) -> Approval:
    return Approval(id=1, request_id=7, approver=approver, decision=decision, comment=None, decided_at=NOW)


def refused(error: type[RegistryError], call, *args, **kwargs) -> RegistryError:
    with pytest.raises(error) as caught:
        call(*args, **kwargs)
    assert type(caught.value) is error
    return caught.value


# What may be requested.


@pytest.mark.parametrize("new,field,says", [
    (NewTransition(TransitionKind.STAGE, Stage.STAGING), None, None),
    (NewTransition(TransitionKind.STAGE, Stage.PRODUCTION, comment="x" * 5000), None, None),
    (NewTransition(TransitionKind.STAGE, Stage.ARCHIVED), None, None),
    (NewTransition(TransitionKind.ALIAS, alias="champion"), None, None),
    (NewTransition(TransitionKind.STAGE, Stage.NONE), "toStage", "toStage must be STAGING, PRODUCTION or ARCHIVED"),
    (NewTransition(TransitionKind.STAGE, None), "toStage", "toStage must be STAGING, PRODUCTION or ARCHIVED"),
    (NewTransition(TransitionKind.STAGE, Stage.STAGING, comment="x" * 5001), "comment", "comment"),
    (NewTransition(TransitionKind.ALIAS, alias="challenger"), "alias",
     "alias 'challenger' is not protected; move it with setModelAlias"),
    (NewTransition(TransitionKind.ALIAS, alias=None), "alias", "must start with a letter"),
    (NewTransition(TransitionKind.ALIAS, alias="latest"), "alias", "is reserved"),
    # the comment is checked first
    (NewTransition(TransitionKind.ALIAS, alias="challenger", comment="x" * 5001), "comment", "comment"),
])
def test_what_may_be_requested(new, field, says):
    if field is None:
        check_new_transition(new, PromotionPolicy())
        return
    error = refused(BadUserInput, check_new_transition, new, PromotionPolicy())
    assert error.field == field and says in error.message


@pytest.mark.parametrize("alias,protected", [("champion", True), ("challenger", False), ("gold", True)])
def test_protected_aliases_move_only_through_requests(alias, protected):
    policy = parse_policy({"protected_aliases": ["champion", "gold"]})
    new = NewTransition(TransitionKind.ALIAS, alias=alias)
    if not protected:  # setModelAlias moves it; a request may not
        check_alias_unprotected(policy, alias)
        assert refused(BadUserInput, check_new_transition, new, policy).field == "alias"
        return
    error = refused(FailedPrecondition, check_alias_unprotected, policy, alias)
    assert error.field == "alias" and error.message == (
        f"alias {alias!r} is protected by the promotion policy: move it with requestAliasTransition, "
        "which needs the approvals a move to PRODUCTION needs")
    check_new_transition(new, policy)


@pytest.mark.parametrize("move,approvals", [
    (NewTransition(TransitionKind.STAGE, Stage.STAGING), 0),
    (NewTransition(TransitionKind.STAGE, Stage.PRODUCTION), 2),
    (NewTransition(TransitionKind.STAGE, Stage.ARCHIVED), 0),
    (NewTransition(TransitionKind.ALIAS, alias="champion"), 2),  # what PRODUCTION takes
    (request(kind=TransitionKind.ALIAS, to_stage=None, alias="champion"), 2),
])
def test_the_rule_of_a_move(move, approvals):
    policy = parse_policy({"stages": {"PRODUCTION": {"required_approvals": 2}},
                           "overrides": [{"models": "fraud/*", "stages": {"PRODUCTION": {"required_approvals": 3}}}]})
    assert rule_for_move(policy, "m", move).required_approvals == approvals
    fraud = 3 if approvals == 2 else approvals
    assert rule_for_move(policy, "fraud/x", move).required_approvals == fraud
    assert applies_at_once(rule_for_move(policy, "m", move)) is (approvals == 0)


@pytest.mark.parametrize("to_stage,archive,needs", [
    (Stage.PRODUCTION, False, True), (Stage.PRODUCTION, True, False),
    (Stage.STAGING, False, False), (Stage.ARCHIVED, False, False), (None, False, False),
])
def test_which_moves_need_production_free(to_stage, archive, needs):
    assert needs_free_production(NewTransition(TransitionKind.STAGE, to_stage, archive_existing_production=archive)) \
        is needs


@pytest.mark.parametrize("stage,to,archive,others,says", [
    (Stage.STAGING, Stage.PRODUCTION, True, [2], None),  # the one there will be archived
    (Stage.STAGING, Stage.PRODUCTION, False, [], None),
    (Stage.STAGING, Stage.PRODUCTION, False, [3], None),  # only the version itself
    (Stage.STAGING, Stage.PRODUCTION, False, [2], "version 2 of 'm' is in PRODUCTION; pass "
                                                  "archiveExistingProduction: true to archive it when this move "
                                                  "applies, or archive it first"),
    (Stage.NONE, Stage.PRODUCTION, False, [2], "version 3 of 'm' is in NONE and cannot move to PRODUCTION; "
                                               "allowed from NONE: NONE -> STAGING, NONE -> ARCHIVED"),
    (Stage.ARCHIVED, Stage.ARCHIVED, True, [], "version 3 of 'm' is in ARCHIVED and cannot move to ARCHIVED"),
    (Stage.PRODUCTION, Stage.STAGING, True, [], None),
])
def test_a_stage_move_now(stage, to, archive, others, says):
    move = NewTransition(TransitionKind.STAGE, to, archive_existing_production=archive)
    in_production = [version(n, Stage.PRODUCTION) for n in others]
    if says is None:
        check_move_now("m", version(3, stage), move, in_production=in_production)
        return
    assert refused(FailedPrecondition, check_move_now, "m", version(3, stage), move,
                   in_production=in_production).message.startswith(says)


@pytest.mark.parametrize("points_at,says", [
    (None, None), (999, None), (103, "@champion already points at version 3 of 'm'"),
])
def test_an_alias_move_now(points_at, says):
    move = NewTransition(TransitionKind.ALIAS, alias="champion")
    if says is None:
        check_move_now("m", version(3, Stage.NONE), move, alias_version_id=points_at)  # any stage: no stage machine
        return
    assert refused(FailedPrecondition, check_move_now, "m", version(3), move, alias_version_id=points_at).message \
        == says


@pytest.mark.parametrize("gates,says", [
    ([], None),
    ([PASSED], None),
    ([PASSED, FAILED], "version 3 of 'm' cannot move to PRODUCTION: 1 gate(s) failed: "
                       "document MODEL_CARD: none attached"),
])
def test_a_request_must_pass_the_gates_now(gates, says):
    assert gates_pass(gates) is (says is None)
    move = NewTransition(TransitionKind.STAGE, Stage.PRODUCTION)
    if says is None:
        check_gates_for_request("m", 3, move, gates)
        return
    assert refused(FailedPrecondition, check_gates_for_request, "m", 3, move, gates).message == says
    alias = NewTransition(TransitionKind.ALIAS, alias="champion")
    assert "cannot move to @champion:" in refused(FailedPrecondition, check_gates_for_request, "m", 3, alias,
                                                  gates).message
    assert move_target(alias) == "@champion" and move_target(move) == "PRODUCTION"


def test_one_open_request_per_move():
    check_no_open_duplicate(None)
    assert refused(Conflict, check_no_open_duplicate, 12).message == (
        "transition request VHJhbnNpdGlvblJlcXVlc3Q6MTI asks for the same move and is still open; wait for its decision or cancel it first")


# Who decides, and how approvals count.


@pytest.mark.parametrize("subject,requested_by,created_by,says", [
    ("alex", "rita", "dana", None),
    ("rita", "rita", "dana", f"separation of duties: you made transition request {REQUEST_7}; another approver must "
                             "decide it"),
    ("dana", "rita", "dana", "separation of duties: you registered version 3 of 'm'; another approver must decide "
                             f"transition request {REQUEST_7}"),
    ("dana", "dana", "dana", f"separation of duties: you made transition request {REQUEST_7}"),  # the request first
])
def test_separation_of_duties(subject, requested_by, created_by, says):
    args = (subject, request(requested_by=requested_by), version(3, created_by=created_by))
    if says is None:
        check_separation_of_duties(*args)
        return
    assert refused(Forbidden, check_separation_of_duties, *args).message.startswith(says)


@pytest.mark.parametrize("subject,may_cancel_any,allowed", [
    ("rita", False, True), ("rita", True, True), ("alex", True, True), ("alex", False, False),
])
def test_who_may_cancel(subject, may_cancel_any, allowed):
    if allowed:
        check_may_cancel(subject, request(requested_by="rita"), may_cancel_any)
        return
    assert refused(Forbidden, check_may_cancel, subject, request(requested_by="rita"), may_cancel_any).message == (
        "missing permission transition:cancel-any: you can cancel only your own requests, and transition request "
        f"{REQUEST_7} was made by rita")


@pytest.mark.parametrize("status", list(TransitionStatus))
def test_only_open_requests_are_cancelled(status):
    own = request(status, requested_by="rita")
    assert type(refused(Forbidden, check_may_cancel, "alex", own, False)) is Forbidden  # who first, whatever status
    if status in (TransitionStatus.PENDING, TransitionStatus.APPROVED):
        check_may_cancel("rita", own, False)
        return
    assert refused(FailedPrecondition, check_may_cancel, "rita", own, False).message == (
        f"transition request {REQUEST_7} is {status.value}; only PENDING or APPROVED requests can be cancelled")


@pytest.mark.parametrize("status", list(TransitionStatus))
@pytest.mark.parametrize("verb", ["approved", "rejected", "cancelled"])
def test_only_open_requests_are_decided(status, verb):
    if status in (TransitionStatus.PENDING, TransitionStatus.APPROVED):
        check_open(request(status), verb)
        return
    assert refused(FailedPrecondition, check_open, request(status), verb).message == (
        f"transition request {REQUEST_7} is {status.value}; only PENDING or APPROVED requests can be {verb}")


A, R = Decision.APPROVE, Decision.REJECT


@pytest.mark.parametrize("status,earlier,approver,decided,approvals", [
    (TransitionStatus.PENDING, [], "alex", False, 1),
    (TransitionStatus.PENDING, [("bo", A)], "alex", False, 2),
    (TransitionStatus.PENDING, [("bo", A), ("bo", A)], "alex", False, 2),  # each approver counts once
    (TransitionStatus.PENDING, [("bo", R)], "alex", False, 1),  # a rejection is no approval
    (TransitionStatus.APPROVED, [("alex", A)], "alex", True, 1),  # a retry: counted already
    (TransitionStatus.APPROVED, [("alex", A), ("bo", A)], "cy", False, 3),
    (TransitionStatus.PENDING, [("alex", A)], "alex", None, None),  # approving twice
    (TransitionStatus.PENDING, [("alex", R)], "alex", None, None),
])
def test_approval_counting(status, earlier, approver, decided, approvals):
    decisions = [approval(who, what) for who, what in earlier]
    if decided is None:
        error = refused(Conflict, tally_approval, request(status), decisions, approver)
        assert (error.message, error.field) == (
            f"you already decided on transition request {REQUEST_7}; each approver counts once", "id")
        return
    tally = tally_approval(request(status), iter(decisions), approver)
    assert (tally.decided, tally.approvals) == (decided, approvals)


@pytest.mark.parametrize("earlier,allowed", [([], True), ([("bo", A)], True), ([("alex", A)], False),
                                             ([("alex", R)], False)])
def test_one_decision_per_approver_when_rejecting(earlier, allowed):
    decisions = [approval(who, what) for who, what in earlier]
    if allowed:
        check_may_reject("alex", request(), version(), decisions)
        return
    assert refused(Conflict, check_may_reject, "alex", request(), version(), decisions).field == "id"


@pytest.mark.parametrize("required,approvals,complete", [
    (0, 1, True), (1, 0, False), (1, 1, True), (2, 1, False), (2, 2, True), (2, 3, True), (20, 19, False),
])
def test_when_approvals_are_complete(required, approvals, complete):
    assert approvals_complete(request(required=required), approvals) is complete


def test_group_approvals_count_each_member_once_and_only_approvals():
    """risk-office needs 1 and model-validation 2 of 3 approvals; the groups recorded with each decision count."""
    grouped = replace(request(required=3), required_groups=(("risk-office", 1), ("model-validation", 2)))
    assert counting_groups(grouped, ["staff", "model-validation", "risk-office"]) == ("risk-office",
                                                                                        "model-validation")
    assert counting_groups(request(), ["risk-office"]) == ()  # a request naming no group records none
    decisions = [replace(approval("v1"), groups=("model-validation",)),
                 replace(approval("r1", Decision.REJECT), groups=("risk-office",)),  # a rejection is no approval
                 replace(approval("a1"), groups=())]
    tally = group_approvals(grouped, decisions)
    assert [(g.group, g.approvals, g.missing) for g in tally] == [("risk-office", 0, 1), ("model-validation", 1, 1)]
    assert not approvals_complete(grouped, 3, tally)  # the count is there, the groups are not
    assert missing_groups_text(tally) == "risk-office: 1 more approval; model-validation: 1 more approval"
    decisions.append(replace(approval("v2"), groups=("risk-office", "model-validation")))  # one counts for both
    tally = group_approvals(grouped, decisions)
    assert [g.missing for g in tally] == [0, 0] and approvals_complete(grouped, 3, tally)
    assert missing_groups_text(tally) == ""
    assert not applies_at_once(parse_policy({"stages": {"PRODUCTION": {
        "required_approvals": 1, "approver_groups": {"risk-office": 1}}}}).rule_for("m", Stage.PRODUCTION))


@pytest.mark.parametrize("refusal,gates,expected", [
    (None, [PASSED], [("version READY", True)]),
    (None, [], []),
    ("it moved", [PASSED], [("move allowed", False), ("version READY", True)]),
    ("it moved", [], [("move allowed", False)]),
])
def test_checks_run_again_before_applying(refusal, gates, expected):
    checks = checks_before_apply(gates, refusal)
    assert [(g.gate, g.passed) for g in checks] == expected
    assert gates_pass(checks) is all(passed for _, passed in expected)
    if refusal:
        assert checks[0].detail == refusal


@pytest.mark.parametrize("status,applied,outcome", [
    (TransitionStatus.PENDING, True, TransitionStatus.APPLIED),
    (TransitionStatus.PENDING, False, TransitionStatus.APPROVED),  # waits for a retry
    (TransitionStatus.APPROVED, True, TransitionStatus.APPLIED),
    (TransitionStatus.APPROVED, False, None),  # a retry that still fails
])
def test_status_after_the_approvals(status, applied, outcome):
    gates = [PASSED] if applied else [PASSED, FAILED]
    if outcome is not None:
        assert status_after_approvals(request(status), applied, gates) is outcome
        return
    assert refused(FailedPrecondition, status_after_approvals, request(status), applied, gates).message == (
        f"transition request {REQUEST_7} still cannot apply: 1 gate(s) failed: document MODEL_CARD: none attached")


def test_a_move_into_production_archives_every_other_version_there():
    moving = version(3)
    assert displaced_from_production(moving, []) == []
    assert [v.version for v in displaced_from_production(moving, [version(1), moving, version(2)])] == [1, 2]


# What `viewer.can(action, resource, id)` answers for one request: the mutation's own checks, through `passes`.

PENDING, APPROVED, APPLIED, REJECTED, CANCELLED = (TransitionStatus.PENDING, TransitionStatus.APPROVED,
                                                   TransitionStatus.APPLIED, TransitionStatus.REJECTED,
                                                   TransitionStatus.CANCELLED)


@pytest.mark.parametrize("subject,status,earlier,allowed,error", [
    ("alex", PENDING, [], True, None),
    ("alex", PENDING, [("bo", A)], True, None),
    ("alex", APPROVED, [("alex", A)], True, None),  # approving an APPROVED request again retries it
    ("alex", APPROVED, [("bo", A)], True, None),
    ("rita", PENDING, [], False, Forbidden),  # the requester: own request
    ("dana", PENDING, [], False, Forbidden),  # registered the version
    ("rita", APPLIED, [], False, Forbidden),  # separation of duties is checked first
    ("alex", PENDING, [("alex", A)], False, Conflict),  # counts once
    ("alex", PENDING, [("alex", R)], False, Conflict),
    ("alex", APPLIED, [], False, FailedPrecondition),
    ("alex", REJECTED, [("bo", R)], False, FailedPrecondition),
    ("alex", CANCELLED, [], False, FailedPrecondition),
])
def test_who_may_approve_a_request(subject, status, earlier, allowed, error):
    args = (subject, request(status, requested_by="rita"), version(3, created_by="dana"),
            [approval(who, what) for who, what in earlier])
    assert passes(check_may_approve, *args) is allowed
    if error is not None:  # the refusal the approve mutation answers with
        refused(error, check_may_approve, *args)


@pytest.mark.parametrize("subject,may_cancel_any,status,allowed,error", [
    ("rita", False, PENDING, True, None),
    ("rita", False, APPROVED, True, None),
    ("alex", True, PENDING, True, None),
    ("alex", False, PENDING, False, Forbidden),
    ("alex", False, APPLIED, False, Forbidden),
    ("rita", False, APPLIED, False, FailedPrecondition),
    ("rita", True, REJECTED, False, FailedPrecondition),
    ("alex", True, CANCELLED, False, FailedPrecondition),
])
def test_who_may_cancel_a_request(subject, may_cancel_any, status, allowed, error):
    args = (subject, request(status, requested_by="rita"), may_cancel_any)
    assert passes(check_may_cancel, *args) is allowed
    if error is not None:
        refused(error, check_may_cancel, *args)


def test_passes_answers_refusals_and_lets_other_errors_through():
    assert passes(check_open, request(PENDING), "approved") is True
    assert passes(check_open, request(APPLIED), "approved") is False
    assert passes(check_no_open_duplicate, 12) is False  # CONFLICT
    with pytest.raises(BadUserInput):  # a mistake in the question is no "no"
        passes(check_new_transition, NewTransition(TransitionKind.STAGE, Stage.NONE), PromotionPolicy())


# Rolling production back.


def moves(*changes: tuple[int, Stage]) -> list[StageChange]:
    return [StageChange(1, "m", number, Stage.STAGING, stage, NOW, "olga", None, None, id=index)
            for index, (number, stage) in enumerate(changes, 1)]


P, S, X = Stage.PRODUCTION, Stage.STAGING, Stage.ARCHIVED


@pytest.mark.parametrize("history,production,existing,plan,says", [
    ([], None, [], None, "model 'm' has no version in PRODUCTION to roll back"),
    (moves((1, P), (1, X)), None, [1], None, "model 'm' has no version in PRODUCTION to roll back"),
    (moves((1, P)), 1, [1], None, "model 'm' has no earlier PRODUCTION version to restore"),
    (moves((1, S), (2, P)), 2, [1, 2], None, "model 'm' has no earlier PRODUCTION version to restore"),
    (moves((1, P), (2, P), (1, X)), 2, [1, 2], (2, 1), None),
    (moves((1, P), (2, P), (3, P)), 3, [1, 2, 3], (3, 2), None),  # the latest before it, not the first
    (moves((1, P), (2, P), (2, X), (1, P)), 1, [1, 2], (1, 2), None),  # rolling back a rollback
    (moves((1, P), (2, P), (3, P)), 3, [1, 3], (3, 1), None),  # version 2 was deleted
    (moves((1, P), (2, P), (3, P)), 3, [3], None, "model 'm' has no earlier PRODUCTION version to restore"),
    (moves((2, P), (1, P), (2, S), (2, P)), 2, [1, 2], (2, 1), None),  # its own earlier stints do not count
])
def test_what_a_rollback_restores_and_archives(history, production, existing, plan, says):
    in_production = [version(production, Stage.PRODUCTION)] if production else []
    versions = {n: version(n, P if n == production else X) for n in existing}
    if says is not None:
        assert refused(FailedPrecondition, plan_rollback, "m", in_production, history, versions).message == says
        return
    chosen = plan_rollback("m", in_production, history, versions)
    assert isinstance(chosen, RollbackPlan)
    assert (chosen.archive.version, chosen.restore.version) == plan
    assert chosen.archive is in_production[0] and chosen.restore is versions[plan[1]]


@pytest.mark.parametrize("production,from_version,says", [
    (2, 2, None),  # still the version the caller means: rolled back
    (1, 2, "model 'm': version 1 is in PRODUCTION, not version 2; it was rolled back or changed already, so "
           "nothing was done"),
    (None, 2, "model 'm': no version is in PRODUCTION, not version 2; it was rolled back or changed already, so "
              "nothing was done"),
    (2, None, None),  # no precondition given
])
def test_a_rollback_checks_the_version_it_means_to_roll_back(production, from_version, says):
    history = moves((1, P), (2, P))
    in_production = [version(production, Stage.PRODUCTION)] if production else []
    versions = {n: version(n, P if n == production else X) for n in (1, 2)}
    if says is None:
        assert plan_rollback("m", in_production, history, versions, from_version).restore.version == 1
        return
    error = refused(FailedPrecondition, plan_rollback, "m", in_production, history, versions, from_version)
    assert (error.message, error.field) == (says, "fromVersion")


@pytest.mark.parametrize("history,numbers", [
    ([], []),
    (moves((1, S), (1, X)), []),
    (moves((1, P), (2, P), (2, X), (1, P), (3, S)), [1, 2]),
    (moves((1, P), (2, P), (3, P), (2, P)), [2, 3, 1]),
])
def test_which_versions_a_rollback_may_look_up(history, numbers):
    assert restorable_numbers(history) == numbers


@pytest.mark.parametrize("comment,decisions,reason", [
    (None, [], None),
    ("please", [], "requested by rita: please"),
    (None, [("alice", Decision.APPROVE, "ok")], "approved by alice: ok"),
    ("please", [("alice", Decision.APPROVE, "ok"), ("bob", Decision.APPROVE, None), ("carl", Decision.APPROVE, "go")],
     "requested by rita: please; approved by alice: ok; approved by carl: go"),
    (None, [("alice", Decision.REJECT, "no")], None),  # a rejection never applies a move
])
def test_the_reason_a_requested_move_records(comment, decisions, reason):
    from dataclasses import replace

    said = [replace(approval(who, decision), comment=text) for who, decision, text in decisions]
    assert move_reason(replace(request(), comment=comment), said) == reason


@pytest.mark.parametrize("recorded,now,detail", [
    (None, (2,), None),  # made before the versions were recorded: not checked
    ((1,), None, None),  # not a move into PRODUCTION
    ((1,), (1,), None),
    ((), (), None),
    ((1,), (2,), "PRODUCTION holds version 2 now, version 1 when requested: approve again to replace it"),
    ((), (2,), "PRODUCTION holds version 2 now, no version when requested: approve again to replace it"),
    ((1, 2), (), "PRODUCTION holds no version now, versions 1, 2 when requested: approve again to replace it"),
])
def test_a_request_applies_only_over_the_production_it_was_approved_for(recorded, now, detail):
    from dataclasses import replace

    from app.domain.transitions import PRODUCTION_UNCHANGED, production_changed

    changed = production_changed(replace(request(), production_versions=recorded), now)
    assert (changed is None) if detail is None else (changed == GateResult(PRODUCTION_UNCHANGED, False, detail))


def test_what_a_move_into_production_replaces():
    from app.domain.transitions import replaced_in_production

    serving = [version(1, Stage.PRODUCTION, id=101), version(3, Stage.PRODUCTION, id=103)]
    assert replaced_in_production(request(), version(2, id=102), serving) == (1, 3)
    assert replaced_in_production(request(), version(3, id=103), serving) == (1,)
    assert replaced_in_production(request(to_stage=Stage.STAGING), version(2, id=102), serving) is None
