"""Governed promotion: requesting, approving, rejecting and cancelling transitions, and rolling back production.

Every change of a version's stage happens here. Each use case that may change stages or aliases locks the
model row first (``find_model(..., for_update=True)``; SQLite's writers are serialised anyway), so two racing
approvals apply a request once and a model never has two versions in PRODUCTION (a partial unique index backs
this up).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.domain.audit import AuditTarget, model_target, version_target
from app.domain.entities import ModelVersion, RegisteredModel, Stage
from app.domain.errors import FailedPrecondition, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.governance import (
    COMMENT_MAX,
    Decision,
    GateResult,
    NewTransition,
    StageChange,
    TransitionKind,
    TransitionRequest,
    TransitionStatus,
    request_public_id,
)
from app.domain.identity import Permission, Principal
from app.domain.promotion import PromotionPolicy, StageRule, evaluate
from app.domain.rules import check_text
from app.domain.transitions import (
    alias_of,
    applies_at_once,
    approvals_complete,
    check_gates_for_request,
    check_may_approve,
    check_may_cancel,
    check_may_reject,
    check_move_now,
    check_new_transition,
    check_no_open_duplicate,
    checks_before_apply,
    counting_groups,
    displaced_from_production,
    gates_pass,
    group_approvals,
    missing_groups_text,
    move_reason,
    needs_free_production,
    plan_rollback,
    production_changed,
    replaced_in_production,
    request_events,
    restorable_numbers,
    rule_for_move,
    stage_of,
    status_after_approvals,
)

from . import idempotency
from .audit import Attempt, AuditTrail
from .common import find_model, utc_now
from .ports import ANYWHERE, Authorizer, Clock, UnitOfWork

if TYPE_CHECKING:
    from .deployments import DeploymentService


def request_target(request_id: int, request: TransitionRequest | None = None) -> AuditTarget:
    if request is None:
        return AuditTarget("TransitionRequest", str(request_id))
    return AuditTarget("TransitionRequest", str(request.id), request.model_name, request.version)


def request_state(request: TransitionRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "kind": request.kind,
        "fromStage": request.from_stage,
        "toStage": request.to_stage,
        "alias": request.alias,
        "status": request.status,
        "requiredApprovals": request.required_approvals,
        "archiveExistingProduction": request.archive_existing_production,
        "gates": [{"gate": g.gate, "passed": g.passed} for g in request.gate_results],
    } | ({"requiredGroups": dict(request.required_groups)} if request.required_groups else {})


_CLOSED_EVENTS = {
    TransitionStatus.REJECTED: EventType.TRANSITION_REJECTED,
    TransitionStatus.CANCELLED: EventType.TRANSITION_CANCELLED,
}


async def _close(
    uow: UnitOfWork,
    attempt: Attempt,
    request: TransitionRequest,
    status: TransitionStatus,
    by: str,
    now: datetime,
    comment: str | None,
) -> TransitionRequest:
    """End an open request without applying it (rejected, cancelled) and record the decision."""
    await uow.transitions.resolve(request.id, status, by=by, at=now, comment=comment)
    updated = await _reread(uow, request.id)
    attempt.record(
        before={"status": request.status},
        after=request_state(updated),
        target=request_target(request.id, request),
        events=request_events(_CLOSED_EVENTS[status], updated),
    )
    return updated


def _comment(comment: str | None, *, required: bool = False, what: str = "comment") -> str | None:
    return check_text(comment, what, COMMENT_MAX, required=required)


async def _reread(uow: UnitOfWork, request_id: int) -> TransitionRequest:
    """The request as this transaction sees it now; it exists, since the transaction wrote or locked it."""
    request = await uow.transitions.get(request_id)
    assert request is not None, f"transition request {request_public_id(request_id)} vanished inside its transaction"
    return request


class TransitionService:
    def __init__(
        self,
        authorizer: Authorizer,
        policy: PromotionPolicy,
        trail: AuditTrail,
        clock: Clock = utc_now,
        serving: DeploymentService | None = None,
    ) -> None:
        self._authorizer = authorizer
        self.policy = policy
        self._trail = trail
        self._clock = clock
        # Serving follows a production rollback (docs/deployments.md, "Stages and serving", rule 3).
        self._serving = serving

    # Requests.

    async def request(
        self, principal: Principal, name: str, number: int, new: NewTransition, idempotency_key: str | None = None
    ) -> TransitionRequest:
        """Ask for a stage move (or a protected alias move). The move must be one the stage machine allows and
        the version must pass the target's gates now; with no approvals required, it applies at once."""
        async with self._trail.attempt(principal, "transition.request", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_REQUEST, name)
            check_new_transition(new, self.policy)
            now = self._clock()
            async with attempt.transaction() as uow:
                # idempotency key (issue 14): a retry with the same key answers the request the first call made
                mutation = "requestAliasTransition" if new.kind is TransitionKind.ALIAS else "requestStageTransition"
                asked = {"name": name, "version": number, "transition": new}
                done = await idempotency.replay(
                    attempt,
                    uow,
                    mutation,
                    idempotency_key,
                    asked,
                    now,
                    uow.transitions.get_many,
                    lambda request: request_target(request.id, request),
                )
                if done is not None:
                    return done
                model = await find_model(uow, name, for_update=True)
                version = await uow.versions.get(model.id, number)
                if version is None:
                    raise NotFound(f"model {name!r} has no version {number}", field="version")
                rule = rule_for_move(self.policy, model.name, new)
                await self._check_move(uow, model, version, new)
                gates = await self._gates(uow, rule, version)
                check_gates_for_request(name, number, new, gates)
                check_no_open_duplicate(await uow.transitions.open_duplicate(version.id, new))
                replaced = await self._replaced(uow, model, version, new)
                request = await uow.transitions.add(
                    model,
                    version,
                    new,
                    rule.required_approvals,
                    gates,
                    principal.subject,
                    now,
                    replaced,
                    required_groups=rule.approver_groups,
                )
                if applies_at_once(rule):
                    await self._apply(uow, model, version, request, principal.subject, now)
                    await uow.transitions.resolve(request.id, TransitionStatus.APPLIED, by=principal.subject, at=now)
                request = await _reread(uow, request.id)
                attempt.record(
                    after=request_state(request),
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_REQUESTED, request),
                )
                await idempotency.remember(uow, principal, mutation, idempotency_key, request.id)
        return request

    async def approve(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Approve a request as an approver who neither made it nor registered the version. When the approvals
        are complete the checks run again and the move applies in the same transaction; if a check fails the
        request stays APPROVED, and approving it again retries (FAILED_PRECONDITION while it still fails)."""
        async with self._trail.attempt(principal, "transition.approve", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_APPROVE, ANYWHERE)
            _comment(comment)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, model, version = await self._locked(uow, request_id)
                self._authorizer.require(principal, Permission.TRANSITION_APPROVE, model.name)  # scoped approvers
                decisions = (await uow.transitions.decisions([request.id]))[request.id]
                tally = check_may_approve(principal.subject, request, version, decisions)
                decided, approvals = tally.decided, tally.approvals
                groups = counting_groups(request, principal.groups)  # recorded: what this approval counted for
                if not decided:
                    await uow.transitions.add_decision(
                        request.id, principal.subject, Decision.APPROVE, comment, now, groups
                    )
                    if request.required_groups:
                        decisions = (await uow.transitions.decisions([request.id]))[request.id]
                by_group = group_approvals(request, decisions)
                if approvals_complete(request, approvals, by_group):
                    if request.status is TransitionStatus.APPROVED:
                        # Approving an APPROVED request again is consent to what PRODUCTION holds now.
                        replaced = await self._replaced(uow, model, version, request)
                        if replaced is not None:
                            await uow.transitions.acknowledge_production(request.id, replaced)
                            request = await _reread(uow, request.id)
                    applied, gates = await self._try_apply(uow, model, version, request, principal.subject, now)
                    status = status_after_approvals(request, applied, gates)
                    await uow.transitions.resolve(
                        request.id,
                        status,
                        gates,
                        by=principal.subject if applied else None,
                        at=now if applied else None,
                    )
                updated = await _reread(uow, request.id)
                explained = {}
                if request.required_groups:  # docs/authorization.md, "Approver groups"
                    explained = {
                        "approverGroups": list(groups),
                        "groupApprovals": {g.group: g.approvals for g in by_group},
                        "missingGroupApprovals": missing_groups_text(by_group) or None,
                    }
                attempt.record(
                    before={"status": request.status, "approvals": approvals - (not decided)},
                    after={**request_state(updated), "approvals": approvals, **explained},
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_APPROVED, updated),
                )
        return updated

    async def reject(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Reject a request (one rejection is enough), saying why. The same separation of duties holds."""
        async with self._trail.attempt(principal, "transition.reject", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_APPROVE, ANYWHERE)
            _comment(comment, required=True)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, model, version = await self._locked(uow, request_id)
                self._authorizer.require(principal, Permission.TRANSITION_APPROVE, model.name)  # scoped approvers
                decisions = (await uow.transitions.decisions([request.id]))[request.id]
                check_may_reject(principal.subject, request, version, decisions)
                await uow.transitions.add_decision(request.id, principal.subject, Decision.REJECT, comment, now)
                updated = await _close(
                    uow, attempt, request, TransitionStatus.REJECTED, principal.subject, now, comment
                )
        return updated

    async def cancel(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Withdraw an open request: one's own with transition:cancel, anyone's with transition:cancel-any too."""
        async with self._trail.attempt(principal, "transition.cancel", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_CANCEL, ANYWHERE)
            _comment(comment)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, model, _ = await self._locked(uow, request_id)
                self._authorizer.require(principal, Permission.TRANSITION_CANCEL, model.name)
                check_may_cancel(
                    principal.subject,
                    request,
                    self._authorizer.allows(principal, Permission.TRANSITION_CANCEL_ANY, model.name),
                )
                updated = await _close(
                    uow, attempt, request, TransitionStatus.CANCELLED, principal.subject, now, comment
                )
        return updated

    async def rollback(
        self, principal: Principal, name: str, reason: str, from_version: int | None = None
    ) -> tuple[ModelVersion, ModelVersion]:
        """Emergency path, no approvals: put the previous PRODUCTION version back and archive the current one,
        provided the one in PRODUCTION is still ``from_version`` when given. Returns (restored, archived)."""
        async with self._trail.attempt(principal, "production.rollback", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.PRODUCTION_ROLLBACK, name)
            _comment(reason, required=True, what="reason")
            now = self._clock()
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                serving = await uow.versions.in_stage(model.id, Stage.PRODUCTION)
                history = await uow.transitions.model_history(model.id)
                numbers = restorable_numbers(history)
                found = await uow.versions.find_by_model_number([(model.name, n) for n in numbers]) if numbers else {}
                plan = plan_rollback(
                    name, serving, history, {number: v for (_, number), v in found.items()}, from_version
                )
                current, previous = plan.archive, plan.restore
                await self._move(uow, model, current, Stage.ARCHIVED, principal.subject, now, f"rolled back: {reason}")
                restored = await self._move(
                    uow, model, previous, Stage.PRODUCTION, principal.subject, now, f"restored by rollback: {reason}"
                )
                archived = await uow.versions.get(model.id, current.version)
                assert archived is not None, "archiving keeps the version"
                await uow.models.touch(model.id, now)
                # Rule 3 of docs/deployments.md: production environments serving the archived version follow.
                deployed = {}
                if self._serving is not None:
                    deployed = await self._serving.follow_production_rollback(
                        uow, model.id, name, archived, restored, principal.subject, now
                    )
                attempt.record(
                    before={"production": current.version},
                    after={"production": previous.version, "archived": current.version, "reason": reason}
                    | ({"deployments": deployed} if deployed else {}),
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.PRODUCTION_ROLLED_BACK, name)]
                    + ([EventDraft(EventType.DEPLOYMENT_CHANGED, name)] if deployed else []),
                )
        return restored, archived

    # Checks and moves.

    async def _check_move(
        self, uow: UnitOfWork, model: RegisteredModel, version: ModelVersion, new: NewTransition | TransitionRequest
    ) -> None:
        """Reads what ``check_move_now`` needs (the alias's version, or who is in PRODUCTION) and calls it."""
        if new.kind is TransitionKind.ALIAS:
            current = await uow.aliases.get(model.id, alias_of(new))
            check_move_now(model.name, version, new, alias_version_id=current.version_id if current else None)
            return
        in_production = await uow.versions.in_stage(model.id, Stage.PRODUCTION) if needs_free_production(new) else []
        check_move_now(model.name, version, new, in_production=in_production)

    async def _replaced(
        self, uow: UnitOfWork, model: RegisteredModel, version: ModelVersion, move: NewTransition | TransitionRequest
    ) -> tuple[int, ...] | None:
        """The versions in PRODUCTION that ``move`` would replace now (None unless it goes to PRODUCTION)."""
        if move.to_stage is not Stage.PRODUCTION:
            return None
        return replaced_in_production(move, version, await uow.versions.in_stage(model.id, Stage.PRODUCTION))

    async def _gates(self, uow: UnitOfWork, rule: StageRule, version: ModelVersion) -> list[GateResult]:
        metrics = (await uow.versions.metrics([version.id]))[version.id]
        return evaluate(rule, version, metrics, await uow.documents.kinds(version.id))

    async def _locked(
        self, uow: UnitOfWork, request_id: int
    ) -> tuple[TransitionRequest, RegisteredModel, ModelVersion]:
        """The request, its model (row locked) and version, read after the lock."""
        found = await uow.transitions.get(request_id)
        if found is None:
            raise NotFound(f"transition request {request_public_id(request_id)} does not exist", field="id")
        model = await find_model(uow, found.model_name, for_update=True)
        # Whoever held the lock before us may have deleted the version, and its requests with it.
        request = await uow.transitions.get(request_id)
        version = (await uow.versions.get_many([request.version_id])).get(request.version_id) if request else None
        if request is None or version is None:
            raise NotFound(
                f"transition request {request_public_id(request_id)} does not exist: its version was deleted",
                field="id",
            )
        return request, model, version

    async def _try_apply(
        self,
        uow: UnitOfWork,
        model: RegisteredModel,
        version: ModelVersion,
        request: TransitionRequest,
        actor: str,
        now: datetime,
    ) -> tuple[bool, list[GateResult]]:
        """Check everything again and apply when it all passes; the checks' results either way."""
        gates = await self._gates(uow, rule_for_move(self.policy, model.name, request), version)
        refusal = None
        try:
            await self._check_move(uow, model, version, request)
        except FailedPrecondition as error:
            refusal = error.message
        changed = production_changed(request, await self._replaced(uow, model, version, request))
        gates = checks_before_apply(gates, refusal, changed)
        if not gates_pass(gates):
            return False, gates
        await self._apply(uow, model, version, request, actor, now)
        return True, gates

    async def _apply(
        self,
        uow: UnitOfWork,
        model: RegisteredModel,
        version: ModelVersion,
        request: TransitionRequest,
        actor: str,
        now: datetime,
    ) -> None:
        if request.kind is TransitionKind.ALIAS:
            await uow.aliases.set(version, alias_of(request), actor, now)
            await uow.models.touch(model.id, now)
            return
        if request.to_stage is Stage.PRODUCTION:
            for serving in displaced_from_production(version, await uow.versions.in_stage(model.id, Stage.PRODUCTION)):
                await self._move(
                    uow,
                    model,
                    serving,
                    Stage.ARCHIVED,
                    actor,
                    now,
                    f"replaced in PRODUCTION by version {version.version}",
                    request.id,
                )
        decisions = (await uow.transitions.decisions([request.id]))[request.id]
        reason = move_reason(request, decisions)
        await self._move(uow, model, version, stage_of(request), actor, now, reason, request.id)
        await uow.models.touch(model.id, now)

    async def _move(
        self,
        uow: UnitOfWork,
        model: RegisteredModel,
        version: ModelVersion,
        stage: Stage,
        actor: str,
        now: datetime,
        reason: str | None,
        request_id: int | None = None,
    ) -> ModelVersion:
        moved = await uow.versions.set_stage(version.id, stage, now)
        await uow.transitions.record_stage_change(
            StageChange(
                model_id=model.id,
                model_name=model.name,
                version=version.version,
                from_stage=version.stage,
                to_stage=stage,
                changed_at=now,
                changed_by=actor,
                reason=reason,
                request_id=request_id,
            )
        )
        return moved
