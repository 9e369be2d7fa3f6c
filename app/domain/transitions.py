"""The rules of governed promotion as pure functions: what a request may ask for, who may decide or cancel it,
how approvals count, when it applies, and what a production rollback restores and archives.

``services/transitions.py`` reads what a rule needs (under the model's row lock), calls the rule and persists the
outcome; each function here takes data and returns a decision or raises the domain error the caller sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .entities import ModelVersion, Stage
from .errors import BadUserInput, Conflict, FailedPrecondition, Forbidden
from .events import EventDraft, EventType
from .governance import (
    COMMENT_MAX,
    OPEN_STATUSES,
    Approval,
    Decision,
    GateResult,
    GroupApprovals,
    NewTransition,
    StageChange,
    TransitionKind,
    TransitionRequest,
    TransitionStatus,
    check_move,
    failed_gates_message,
    request_public_id,
)
from .identity import Permission
from .promotion import PromotionPolicy, StageRule
from .rules import check_alias, check_text

Move = NewTransition | TransitionRequest


def stage_of(move: Move) -> Stage:
    """The target of a stage move (``check_new_transition`` made sure a STAGE request names one)."""
    assert move.to_stage is not None, "a STAGE transition has a target stage"
    return move.to_stage


def alias_of(move: Move) -> str:
    """The alias an ALIAS move sets (``check_new_transition`` made sure an ALIAS request names one)."""
    assert move.alias is not None, "an ALIAS transition names its alias"
    return move.alias


def move_target(move: Move) -> str:
    """How messages name where a move goes: ``@champion`` or ``PRODUCTION``."""
    return f"@{move.alias}" if move.kind is TransitionKind.ALIAS else stage_of(move).value


# What may be requested.


def check_new_transition(new: NewTransition, policy: PromotionPolicy) -> None:
    """BAD_USER_INPUT unless the request is well formed: a comment within its limit, and either a protected alias
    (unprotected ones move with setModelAlias) or a target stage other than NONE."""
    check_text(new.comment, "comment", COMMENT_MAX)
    if new.kind is TransitionKind.ALIAS:
        alias = check_alias(new.alias or "")
        if not policy.is_protected(alias):
            raise BadUserInput(f"alias {alias!r} is not protected; move it with setModelAlias", field="alias")
    elif new.to_stage is Stage.NONE or new.to_stage is None:
        raise BadUserInput("toStage must be STAGING, PRODUCTION or ARCHIVED", field="toStage")


def check_alias_unprotected(policy: PromotionPolicy, alias: str) -> None:
    """FAILED_PRECONDITION for a protected alias: it moves only through an approved request, and is never removed."""
    if policy.is_protected(alias):
        raise FailedPrecondition(
            f"alias {alias!r} is protected by the promotion policy: move it with requestAliasTransition, "
            "which needs the approvals a move to PRODUCTION needs",
            field="alias",
        )


def rule_for_move(policy: PromotionPolicy, model_name: str, move: Move) -> StageRule:
    """The approvals and gates a move takes: a protected alias takes what a move to PRODUCTION takes."""
    if move.kind is TransitionKind.ALIAS:
        return policy.alias_rule(model_name)
    return policy.rule_for(model_name, stage_of(move))


def needs_free_production(move: Move) -> bool:
    """Whether the move needs PRODUCTION free of other versions (it goes there without archiving the one there)."""
    return move.to_stage is Stage.PRODUCTION and not move.archive_existing_production


def check_move_now(
    model_name: str,
    version: ModelVersion,
    move: Move,
    *,
    alias_version_id: int | None = None,
    in_production: Sequence[ModelVersion] = (),
) -> None:
    """FAILED_PRECONDITION unless the move can happen now: the stage machine allows it, the PRODUCTION slot is
    free or may be freed (``in_production`` is read only when ``needs_free_production``), a protected alias does
    not already point at the version (``alias_version_id``: the version it points at now, if any)."""
    what = f"version {version.version} of {model_name!r}"
    if move.kind is TransitionKind.ALIAS:
        if alias_version_id is not None and alias_version_id == version.id:
            raise FailedPrecondition(f"@{move.alias} already points at {what}")
        return
    check_move(version.stage, stage_of(move), what)
    if needs_free_production(move):
        serving = [v.version for v in in_production if v.id != version.id]
        if serving:
            raise FailedPrecondition(
                f"version {serving[0]} of {model_name!r} is in PRODUCTION; pass archiveExistingProduction: true "
                "to archive it when this move applies, or archive it first"
            )


def gates_pass(gates: Iterable[GateResult]) -> bool:
    """Whether every check passed (an empty list passes)."""
    return all(gate.passed for gate in gates)


def check_gates_for_request(model_name: str, number: int, move: Move, gates: list[GateResult]) -> None:
    """FAILED_PRECONDITION listing the failed gates: a request is refused unless the version passes them now."""
    if not gates_pass(gates):
        raise FailedPrecondition(
            failed_gates_message(f"version {number} of {model_name!r} cannot move to {move_target(move)}", gates)
        )


def check_no_open_duplicate(duplicate: int | None) -> None:
    """CONFLICT when an open request (``duplicate``, its key) already asks for the same move."""
    if duplicate is not None:
        raise Conflict(
            f"transition request {request_public_id(duplicate)} asks for the same move and is still open; "
            "wait for its decision or cancel it first"
        )


def applies_at_once(rule: StageRule) -> bool:
    """A move that needs no approvals applies when it is requested."""
    return rule.required_approvals == 0 and not rule.approver_groups


# Who decides, and how approvals count.


def check_separation_of_duties(subject: str, request: TransitionRequest, version: ModelVersion) -> None:
    """FORBIDDEN when the decider made the request or registered the version: someone else must approve or
    reject it."""
    if subject == request.requested_by:
        raise Forbidden(
            f"separation of duties: you made transition request {request.public_id}; another approver must decide it"
        )
    if subject == version.created_by:
        raise Forbidden(
            f"separation of duties: you registered version {version.version} of "
            f"{version.model_name!r}; another approver must decide transition request {request.public_id}"
        )


def check_open(request: TransitionRequest, verb: str) -> None:
    """FAILED_PRECONDITION unless the request is still open (PENDING, or APPROVED waiting for a retry)."""
    if request.status not in OPEN_STATUSES:
        raise FailedPrecondition(
            f"transition request {request.public_id} is {request.status.value}; only PENDING or "
            f"APPROVED requests can be {verb}"
        )


def check_may_cancel(subject: str, request: TransitionRequest, may_cancel_any: bool) -> None:
    """FORBIDDEN unless the caller made the request or may cancel anyone's (``transition:cancel-any``), then
    FAILED_PRECONDITION unless the request is still open: what ``cancelTransitionRequest`` checks of the request
    after the caller's transition:cancel."""
    if request.requested_by != subject and not may_cancel_any:
        raise Forbidden(
            f"missing permission {Permission.TRANSITION_CANCEL_ANY.value}: you can cancel only "
            f"your own requests, and transition request {request.public_id} was made by {request.requested_by}"
        )
    check_open(request, "cancelled")


def _already_decided(request: TransitionRequest) -> Conflict:
    return Conflict(
        f"you already decided on transition request {request.public_id}; each approver counts once", field="id"
    )


@dataclass(frozen=True)
class Tally:
    """An approval counted: whether the approver had approved before (a retry), and the approvals it makes."""

    decided: bool
    approvals: int


def tally_approval(request: TransitionRequest, decisions: Iterable[Approval], approver: str) -> Tally:
    """Count ``approver``'s approval with the earlier ``decisions``: each approver counts once. Approving a PENDING
    request twice is a CONFLICT; approving an APPROVED one again retries it (and adds no decision)."""
    decisions = list(decisions)
    decided = any(d.approver == approver for d in decisions)
    if decided and request.status is TransitionStatus.PENDING:
        raise _already_decided(request)
    approvals = len({d.approver for d in decisions if d.decision is Decision.APPROVE} | {approver})
    return Tally(decided, approvals)


def check_may_approve(
    subject: str, request: TransitionRequest, version: ModelVersion, decisions: Iterable[Approval]
) -> Tally:
    """What ``approveTransitionRequest`` checks of the request after the caller's transition:approve, in its order:
    separation of duties (FORBIDDEN), the request still open (FAILED_PRECONDITION), one decision per approver
    (CONFLICT; approving an APPROVED request again is a retry). Returns the approval counted."""
    check_separation_of_duties(subject, request, version)
    check_open(request, "approved")
    return tally_approval(request, decisions, subject)


def check_may_reject(
    subject: str, request: TransitionRequest, version: ModelVersion, decisions: Iterable[Approval]
) -> None:
    """What ``rejectTransitionRequest`` checks of the request after the caller's transition:approve: separation of
    duties, the request still open, and CONFLICT when ``subject`` decided on it already (one rejection rejects
    it)."""
    check_separation_of_duties(subject, request, version)
    check_open(request, "rejected")
    if any(d.approver == subject for d in decisions):
        raise _already_decided(request)


def passes(check: Callable[..., object], *args: object, **kwargs: object) -> bool:
    """Whether ``check`` lets the call through: False when it refuses (FORBIDDEN, FAILED_PRECONDITION, CONFLICT).
    ``viewer.can(..., id:)`` answers with the very checks the mutations run, through this."""
    try:
        check(*args, **kwargs)
    except (Forbidden, FailedPrecondition, Conflict):
        return False
    return True


def approvals_complete(request: TransitionRequest, approvals: int, groups: Sequence[GroupApprovals] = ()) -> bool:
    """Whether ``approvals`` reach what the request requires, and no group requirement (``group_approvals``) misses
    an approval, so it is to apply now."""
    return approvals >= request.required_approvals and not any(group.missing for group in groups)


def counting_groups(request: TransitionRequest, groups: Iterable[str]) -> tuple[str, ...]:
    """The approver's groups (their token's ``groups`` claim) that the request's group requirements name: what is
    recorded with the approval, in the requirements' order."""
    held = set(groups)
    return tuple(group for group, _ in request.required_groups if group in held)


def group_approvals(request: TransitionRequest, decisions: Iterable[Approval]) -> list[GroupApprovals]:
    """Each group requirement of the request with the approvals its members gave (each approver once, by the groups
    recorded with their approval), in policy order."""
    approved = [d for d in decisions if d.decision is Decision.APPROVE]
    return [
        GroupApprovals(group, count, len({d.approver for d in approved if group in d.groups}))
        for group, count in request.required_groups
    ]


def missing_groups_text(groups: Sequence[GroupApprovals]) -> str:
    """``risk-office: 1 more approval``, for messages and the audit log; empty when none is missing."""
    return "; ".join(
        f"{g.group}: {g.missing} more approval{'s' if g.missing != 1 else ''}" for g in groups if g.missing
    )


PRODUCTION_UNCHANGED = "PRODUCTION unchanged since the request"


def replaced_in_production(
    move: Move, version: ModelVersion, in_production: Iterable[ModelVersion]
) -> tuple[int, ...] | None:
    """For a move into PRODUCTION, the version numbers there now that it would replace (recorded with the request
    and compared when it applies); None for other moves."""
    if move.to_stage is not Stage.PRODUCTION:
        return None
    return tuple(sorted(serving.version for serving in in_production if serving.id != version.id))


def _versions(numbers: Sequence[int]) -> str:
    if not numbers:
        return "no version"
    return f"version {numbers[0]}" if len(numbers) == 1 else "versions " + ", ".join(map(str, numbers))


def production_changed(request: TransitionRequest, now_replaced: tuple[int, ...] | None) -> GateResult | None:
    """A failed check when PRODUCTION holds other versions than when the request was made (or last approved
    again): approving it then would replace a version nobody who approved it saw there. None when unchanged, or
    for requests that replace nothing in PRODUCTION or were made before the versions were recorded."""
    recorded = request.production_versions
    if recorded is None or now_replaced is None or tuple(recorded) == now_replaced:
        return None
    return GateResult(
        PRODUCTION_UNCHANGED,
        False,
        f"PRODUCTION holds {_versions(now_replaced)} now, {_versions(recorded)} when requested: approve again to "
        "replace it",
    )


def checks_before_apply(
    gates: list[GateResult], move_refusal: str | None, changed: GateResult | None = None
) -> list[GateResult]:
    """The checks run again when the approvals are complete: the gates, led by a failed "move allowed" when the
    move itself can no longer happen (``move_refusal``, the reason) and by ``changed`` (``production_changed``)."""
    leading = [GateResult("move allowed", False, move_refusal)] if move_refusal is not None else []
    if changed is not None:
        leading.append(changed)
    return [*leading, *gates]


def status_after_approvals(request: TransitionRequest, applied: bool, gates: list[GateResult]) -> TransitionStatus:
    """APPLIED when the move applied; else APPROVED, waiting for a retry. Retrying an APPROVED request that still
    cannot apply is FAILED_PRECONDITION naming the failed checks."""
    if not applied and request.status is TransitionStatus.APPROVED:
        raise FailedPrecondition(
            failed_gates_message(f"transition request {request.public_id} still cannot apply", gates)
        )
    return TransitionStatus.APPLIED if applied else TransitionStatus.APPROVED


def displaced_from_production(version: ModelVersion, in_production: Iterable[ModelVersion]) -> list[ModelVersion]:
    """The versions a move of ``version`` into PRODUCTION archives: every other version there."""
    return [serving for serving in in_production if serving.id != version.id]


# Rolling production back.


@dataclass(frozen=True)
class RollbackPlan:
    """What a production rollback does: archive the version in PRODUCTION and restore an earlier one."""

    archive: ModelVersion
    restore: ModelVersion


def restorable_numbers(history: Sequence[StageChange]) -> list[int]:
    """The version numbers that were once moved into PRODUCTION, the latest move first, each once: the versions a
    rollback may need to look up."""
    numbers: list[int] = []
    for change in reversed(history):
        if change.to_stage is Stage.PRODUCTION and change.version not in numbers:
            numbers.append(change.version)
    return numbers


def plan_rollback(
    model_name: str,
    in_production: Sequence[ModelVersion],
    history: Sequence[StageChange],
    versions: Mapping[int, ModelVersion],
    from_version: int | None = None,
) -> RollbackPlan:
    """Archive the version in PRODUCTION and restore the one most recently moved into PRODUCTION before it that
    still exists (``versions``: the model's versions by number, at least those ``restorable_numbers`` names;
    ``history``: the model's stage moves, oldest first). FAILED_PRECONDITION when either is missing, or when
    ``from_version`` (the version the caller means to roll back) is no longer the one in PRODUCTION: a retried or
    double-clicked rollback must not put the bad version back."""
    current = in_production[0] if in_production else None
    if from_version is not None and (current is None or current.version != from_version):
        now = f"version {current.version} is" if current else "no version is"
        raise FailedPrecondition(
            f"model {model_name!r}: {now} in PRODUCTION, not version {from_version}; it was rolled back or changed "
            "already, so nothing was done",
            field="fromVersion",
        )
    if current is None:
        raise FailedPrecondition(f"model {model_name!r} has no version in PRODUCTION to roll back")
    for number in restorable_numbers(history):
        if number != current.version and number in versions:
            return RollbackPlan(archive=current, restore=versions[number])
    raise FailedPrecondition(f"model {model_name!r} has no earlier PRODUCTION version to restore")


def move_reason(request: TransitionRequest, decisions: Sequence[Approval]) -> str | None:
    """What the stage history records as the reason of a move a request made: the request's comment, then each
    approval's, oldest first (None when nobody said anything)."""
    said = [f"requested by {request.requested_by}: {request.comment}"] if request.comment else []
    said += [
        f"approved by {decision.approver}: {decision.comment}"
        for decision in decisions
        if decision.decision is Decision.APPROVE and decision.comment
    ]
    return "; ".join(said) or None


def request_events(decided: EventType, request: TransitionRequest) -> list[EventDraft]:
    """The events a decision on ``request`` emits: the decision, then ``transition.applied`` when the move applied."""
    events = [EventDraft(decided, request.model_name, request.version)]
    if request.status is TransitionStatus.APPLIED:
        events.append(EventDraft(EventType.TRANSITION_APPLIED, request.model_name, request.version))
    return events
