"""Governed promotion: requesting, approving, rejecting and cancelling transitions, and rolling back production.

Every change of a version's stage happens here. Each use case that may change stages or aliases locks the
model row first (``find_model(..., for_update=True)``; SQLite's writers are serialised anyway), so two racing
approvals apply a request once and a model never has two versions in PRODUCTION (a partial unique index backs
this up).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.audit import AuditTarget, model_target, version_target
from app.domain.entities import ModelVersion, RegisteredModel, Stage
from app.domain.errors import BadUserInput, Conflict, FailedPrecondition, Forbidden, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.governance import (
    COMMENT_MAX,
    OPEN_STATUSES,
    Decision,
    GateResult,
    NewTransition,
    StageChange,
    TransitionKind,
    TransitionRequest,
    TransitionStatus,
    check_move,
    failed_gates_message,
)
from app.domain.identity import Permission, Principal
from app.domain.promotion import PromotionPolicy, StageRule, evaluate
from app.domain.rules import check_alias, check_text

from .audit import AuditTrail
from .common import find_model, utc_now
from .ports import Authorizer, Clock, UnitOfWork


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
    }


def request_events(decided: EventType, request: TransitionRequest) -> list[EventDraft]:
    """What a decision on ``request`` emits: the decision, then ``transition.applied`` when the move applied."""
    events = [EventDraft(decided, request.model_name, request.version)]
    if request.status is TransitionStatus.APPLIED:
        events.append(EventDraft(EventType.TRANSITION_APPLIED, request.model_name, request.version))
    return events


def _comment(comment: str | None, *, required: bool = False, what: str = "comment") -> str | None:
    return check_text(comment, what, COMMENT_MAX, required=required)


def _stage_of(move: NewTransition | TransitionRequest) -> Stage:
    """The target of a stage move (``_check_new`` made sure a STAGE request names one)."""
    assert move.to_stage is not None, "a STAGE transition has a target stage"
    return move.to_stage


def _alias_of(move: NewTransition | TransitionRequest) -> str:
    """The alias an ALIAS move sets (``_check_new`` made sure an ALIAS request names one)."""
    assert move.alias is not None, "an ALIAS transition names its alias"
    return move.alias


async def _reread(uow: UnitOfWork, request_id: int) -> TransitionRequest:
    """The request as this transaction sees it now; it exists, since the transaction wrote or locked it."""
    request = await uow.transitions.get(request_id)
    assert request is not None, f"transition request {request_id} vanished inside its transaction"
    return request


class TransitionService:
    def __init__(
        self,
        authorizer: Authorizer,
        policy: PromotionPolicy,
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        self._authorizer = authorizer
        self.policy = policy
        self._trail = trail
        self._clock = clock

    # Requests.

    async def request(self, principal: Principal, name: str, number: int, new: NewTransition) -> TransitionRequest:
        """Ask for a stage move (or a protected alias move). The move must be one the stage machine allows and
        the version must pass the target's gates now; with no approvals required, it applies at once."""
        async with self._trail.attempt(principal, "transition.request", version_target(name, number)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_REQUEST)
            self._check_new(new)
            now = self._clock()
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                version = await uow.versions.get(model.id, number)
                if version is None:
                    raise NotFound(f"model {name!r} has no version {number}", field="version")
                rule = self._rule(model, new)
                await self._check_move(uow, model, version, new)
                gates = await self._gates(uow, rule, version)
                if not all(gate.passed for gate in gates):
                    raise FailedPrecondition(
                        failed_gates_message(f"version {number} of {name!r} cannot move to {self._target(new)}", gates)
                    )
                duplicate = await uow.transitions.open_duplicate(version.id, new)
                if duplicate is not None:
                    raise Conflict(
                        f"transition request {duplicate} asks for the same move and is still open; "
                        "wait for its decision or cancel it first"
                    )
                request = await uow.transitions.add(
                    model, version, new, rule.required_approvals, gates, principal.subject, now
                )
                if rule.required_approvals == 0:
                    await self._apply(uow, model, version, request, principal.subject, now)
                    await uow.transitions.resolve(request.id, TransitionStatus.APPLIED, by=principal.subject, at=now)
                request = await _reread(uow, request.id)
                attempt.record(
                    after=request_state(request),
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_REQUESTED, request),
                )
        return request

    async def approve(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Approve a request as an approver who neither made it nor registered the version. When the approvals
        are complete the checks run again and the move applies in the same transaction; if a check fails the
        request stays APPROVED, and approving it again retries (FAILED_PRECONDITION while it still fails)."""
        async with self._trail.attempt(principal, "transition.approve", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_APPROVE)
            _comment(comment)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, model, version = await self._locked(uow, request_id)
                self._check_duties(principal, request, version)
                self._check_open(request, "approved")
                decisions = (await uow.transitions.decisions([request.id]))[request.id]
                decided = any(d.approver == principal.subject for d in decisions)
                if decided and request.status is TransitionStatus.PENDING:
                    raise Conflict(
                        f"you already decided on transition request {request.id}; each approver counts once", field="id"
                    )
                if not decided:
                    await uow.transitions.add_decision(request.id, principal.subject, Decision.APPROVE, comment, now)
                approvals = len({d.approver for d in decisions if d.decision is Decision.APPROVE} | {principal.subject})
                if approvals >= request.required_approvals:
                    applied, gates = await self._try_apply(uow, model, version, request, principal.subject, now)
                    if not applied and request.status is TransitionStatus.APPROVED:
                        raise FailedPrecondition(
                            failed_gates_message(f"transition request {request.id} still cannot apply", gates)
                        )
                    status = TransitionStatus.APPLIED if applied else TransitionStatus.APPROVED
                    await uow.transitions.resolve(
                        request.id,
                        status,
                        gates,
                        by=principal.subject if applied else None,
                        at=now if applied else None,
                    )
                updated = await _reread(uow, request.id)
                attempt.record(
                    before={"status": request.status, "approvals": approvals - (not decided)},
                    after={**request_state(updated), "approvals": approvals},
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_APPROVED, updated),
                )
        return updated

    async def reject(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Reject a request (one rejection is enough), saying why. The same separation of duties holds."""
        async with self._trail.attempt(principal, "transition.reject", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_APPROVE)
            _comment(comment, required=True)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, _, version = await self._locked(uow, request_id)
                self._check_duties(principal, request, version)
                self._check_open(request, "rejected")
                decisions = (await uow.transitions.decisions([request.id]))[request.id]
                if any(d.approver == principal.subject for d in decisions):
                    raise Conflict(
                        f"you already decided on transition request {request.id}; each approver counts once", field="id"
                    )
                await uow.transitions.add_decision(request.id, principal.subject, Decision.REJECT, comment, now)
                await uow.transitions.resolve(
                    request.id, TransitionStatus.REJECTED, by=principal.subject, at=now, comment=comment
                )
                updated = await _reread(uow, request.id)
                attempt.record(
                    before={"status": request.status},
                    after=request_state(updated),
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_REJECTED, updated),
                )
        return updated

    async def cancel(self, principal: Principal, request_id: int, comment: str | None) -> TransitionRequest:
        """Withdraw an open request: one's own with transition:cancel, anyone's with transition:cancel-any too."""
        async with self._trail.attempt(principal, "transition.cancel", request_target(request_id)) as attempt:
            self._authorizer.require(principal, Permission.TRANSITION_CANCEL)
            _comment(comment)
            now = self._clock()
            async with attempt.transaction() as uow:
                request, _, _ = await self._locked(uow, request_id)
                if request.requested_by != principal.subject and not self._authorizer.allows(
                    principal, Permission.TRANSITION_CANCEL_ANY
                ):
                    raise Forbidden(
                        f"missing permission {Permission.TRANSITION_CANCEL_ANY.value}: you can cancel only "
                        f"your own requests, and request {request.id} was made by {request.requested_by}"
                    )
                self._check_open(request, "cancelled")
                await uow.transitions.resolve(
                    request.id, TransitionStatus.CANCELLED, by=principal.subject, at=now, comment=comment
                )
                updated = await _reread(uow, request.id)
                attempt.record(
                    before={"status": request.status},
                    after=request_state(updated),
                    target=request_target(request.id, request),
                    events=request_events(EventType.TRANSITION_CANCELLED, updated),
                )
        return updated

    async def rollback(self, principal: Principal, name: str, reason: str) -> tuple[ModelVersion, ModelVersion]:
        """Emergency path, no approvals: put the previous PRODUCTION version back and archive the current one.
        Returns (restored, archived)."""
        async with self._trail.attempt(principal, "production.rollback", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.PRODUCTION_ROLLBACK)
            _comment(reason, required=True, what="reason")
            now = self._clock()
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                serving = await uow.versions.in_stage(model.id, Stage.PRODUCTION)
                current = serving[0] if serving else None
                if current is None:
                    raise FailedPrecondition(f"model {name!r} has no version in PRODUCTION to roll back")
                previous = None
                for change in reversed(await uow.transitions.model_history(model.id)):
                    if change.to_stage is Stage.PRODUCTION and change.version != current.version:
                        previous = await uow.versions.get(model.id, change.version)
                        if previous is not None:
                            break
                if previous is None:
                    raise FailedPrecondition(f"model {name!r} has no earlier PRODUCTION version to restore")
                await self._move(uow, model, current, Stage.ARCHIVED, principal.subject, now, f"rolled back: {reason}")
                restored = await self._move(
                    uow, model, previous, Stage.PRODUCTION, principal.subject, now, f"restored by rollback: {reason}"
                )
                archived = await uow.versions.get(model.id, current.version)
                assert archived is not None, "archiving keeps the version"
                await uow.models.touch(model.id, now)
                attempt.record(
                    before={"production": current.version},
                    after={"production": previous.version, "archived": current.version, "reason": reason},
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.PRODUCTION_ROLLED_BACK, name)],
                )
        return restored, archived

    # Checks and moves.

    def _check_new(self, new: NewTransition) -> None:
        _comment(new.comment)
        if new.kind is TransitionKind.ALIAS:
            alias = check_alias(new.alias or "")
            if not self.policy.is_protected(alias):
                raise BadUserInput(f"alias {alias!r} is not protected; move it with setModelAlias", field="alias")
        elif new.to_stage is Stage.NONE or new.to_stage is None:
            raise BadUserInput("toStage must be STAGING, PRODUCTION or ARCHIVED", field="toStage")

    def _rule(self, model: RegisteredModel, new: NewTransition | TransitionRequest) -> StageRule:
        if new.kind is TransitionKind.ALIAS:
            return self.policy.alias_rule(model.name)
        return self.policy.rule_for(model.name, _stage_of(new))

    @staticmethod
    def _target(new: NewTransition) -> str:
        return f"@{new.alias}" if new.kind is TransitionKind.ALIAS else _stage_of(new).value

    async def _check_move(
        self, uow: UnitOfWork, model: RegisteredModel, version: ModelVersion, new: NewTransition | TransitionRequest
    ) -> None:
        """FAILED_PRECONDITION unless the move can happen now: the stage machine allows it, a PRODUCTION slot
        is free or may be freed, a protected alias does not already point at the version."""
        what = f"version {version.version} of {model.name!r}"
        if new.kind is TransitionKind.ALIAS:
            current = await uow.aliases.get(model.id, _alias_of(new))
            if current is not None and current.version_id == version.id:
                raise FailedPrecondition(f"@{new.alias} already points at {what}")
            return
        check_move(version.stage, _stage_of(new), what)
        if new.to_stage is Stage.PRODUCTION and not new.archive_existing_production:
            serving = [v.version for v in await uow.versions.in_stage(model.id, Stage.PRODUCTION) if v.id != version.id]
            if serving:
                raise FailedPrecondition(
                    f"version {serving[0]} of {model.name!r} is in PRODUCTION; pass archiveExistingProduction: true "
                    "to archive it when this move applies, or archive it first"
                )

    async def _gates(self, uow: UnitOfWork, rule: StageRule, version: ModelVersion) -> list[GateResult]:
        metrics = (await uow.versions.metrics([version.id]))[version.id]
        return evaluate(rule, version, metrics, await uow.documents.kinds(version.id))

    async def _locked(
        self, uow: UnitOfWork, request_id: int
    ) -> tuple[TransitionRequest, RegisteredModel, ModelVersion]:
        """The request, its model (row locked) and version, read after the lock."""
        found = await uow.transitions.get(request_id)
        if found is None:
            raise NotFound(f"transition request {request_id} does not exist", field="id")
        model = await find_model(uow, found.model_name, for_update=True)
        request = await _reread(uow, request_id)
        version = (await uow.versions.get_many([request.version_id]))[request.version_id]
        return request, model, version

    @staticmethod
    def _check_duties(principal: Principal, request: TransitionRequest, version: ModelVersion) -> None:
        if principal.subject == request.requested_by:
            raise Forbidden(
                f"separation of duties: you made transition request {request.id}; another approver must decide it"
            )
        if principal.subject == version.created_by:
            raise Forbidden(
                f"separation of duties: you registered version {version.version} of "
                f"{version.model_name!r}; another approver must decide request {request.id}"
            )

    @staticmethod
    def _check_open(request: TransitionRequest, verb: str) -> None:
        if request.status not in OPEN_STATUSES:
            raise FailedPrecondition(
                f"transition request {request.id} is {request.status.value}; only PENDING or "
                f"APPROVED requests can be {verb}"
            )

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
        gates = await self._gates(uow, self._rule(model, request), version)
        try:
            await self._check_move(uow, model, version, request)
        except FailedPrecondition as error:
            gates.insert(0, GateResult("move allowed", False, error.message))
        if not all(gate.passed for gate in gates):
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
            await uow.aliases.set(version, _alias_of(request), actor, now)
            await uow.models.touch(model.id, now)
            return
        if request.to_stage is Stage.PRODUCTION:
            for serving in await uow.versions.in_stage(model.id, Stage.PRODUCTION):
                if serving.id != version.id:
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
        await self._move(uow, model, version, _stage_of(request), actor, now, None, request.id)
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
