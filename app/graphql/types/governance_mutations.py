"""Transition request and rollback mutations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import governance

from ..context import Info
from .common import Stage
from .governance import TransitionRequest, request_key

if TYPE_CHECKING:
    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


_IDEMPOTENCY_KEY = (
    "Optional, 1-255 printable characters chosen by the caller (a CI job id, a UUID): a retry with the same key "
    "within 24 hours returns what the first call did instead of doing it again; the same key with another input is "
    "CONFLICT. Keys are per caller and per mutation."
)


@strawberry.input(description="Ask for a version to move to a stage.")
class RequestStageTransitionInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number.")
    to_stage: Stage = strawberry.field(description="STAGING, PRODUCTION or ARCHIVED, as the stage machine allows.")
    comment: str | None = strawberry.field(default=None, description="Why (shown to approvers).")
    archive_existing_production: bool = strawberry.field(
        default=True,
        description="Archive the version in PRODUCTION when this one replaces it (otherwise the "
        "request cannot apply while another version is in PRODUCTION).",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY_KEY)


@strawberry.input(description="Ask for a protected alias (such as `champion`) to point at a version.")
class RequestAliasTransitionInput:
    name: str = strawberry.field(description="Model name.")
    version: int = strawberry.field(description="Version number the alias should point at.")
    alias: str = strawberry.field(description="A protected alias of the promotion policy.")
    comment: str | None = strawberry.field(default=None, description="Why (shown to approvers).")
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY_KEY)


@strawberry.input(description="Approve a transition request.")
class ApproveTransitionRequestInput:
    id: strawberry.ID = strawberry.field(description="The request's id.")
    comment: str | None = strawberry.field(default=None, description="What the approver says.")


@strawberry.input(description="Reject a transition request.")
class RejectTransitionRequestInput:
    id: strawberry.ID = strawberry.field(description="The request's id.")
    comment: str = strawberry.field(description="Why it is rejected (required).")


@strawberry.input(description="Cancel a transition request.")
class CancelTransitionRequestInput:
    id: strawberry.ID = strawberry.field(description="The request's id.")
    comment: str | None = strawberry.field(default=None, description="Why it is withdrawn.")


@strawberry.input(description="Put the previous PRODUCTION version of a model back at once.")
class RollbackProductionInput:
    name: str = strawberry.field(description="Model name.")
    reason: str = strawberry.field(description="Why (required; recorded in the stage history and the audit log).")
    from_version: int | None = strawberry.field(
        default=None,
        description="The version in PRODUCTION you mean to roll back. Give it: when PRODUCTION holds another version "
        "by then (the rollback already happened: a retry, a second click), the call is FAILED_PRECONDITION and "
        "changes nothing, instead of rolling back again.",
    )


@strawberry.type(description="Result of a transition request mutation.")
class TransitionRequestPayload:
    transition_request: TransitionRequest = strawberry.field(description="The request as it is now.")


@strawberry.type(description="Result of a rollback.")
class RollbackProductionPayload:
    restored: ModelVersionRef = strawberry.field(description="The version back in PRODUCTION.")
    archived: ModelVersionRef = strawberry.field(description="The version that was in PRODUCTION, now ARCHIVED.")


def _payload(request: governance.TransitionRequest) -> TransitionRequestPayload:
    return TransitionRequestPayload(transition_request=TransitionRequest(entity=request))


@strawberry.type(description="Governed promotion mutations.")
class GovernanceMutations:
    @strawberry.mutation(
        description="Request a stage move; it must pass the promotion policy's gates now, and "
        "applies at once when the target needs no approval. Requires "
        "transition:request."
    )
    async def request_stage_transition(
        self, info: Info, input: Annotated[RequestStageTransitionInput, strawberry.argument(description="The move.")]
    ) -> TransitionRequestPayload:
        new = governance.NewTransition(
            kind=governance.TransitionKind.STAGE,
            to_stage=input.to_stage.to_domain(),
            comment=input.comment,
            archive_existing_production=input.archive_existing_production,
        )
        return _payload(
            await info.context.services.transitions.request(
                info.context.principal, input.name, input.version, new, input.idempotency_key
            )
        )

    @strawberry.mutation(
        description="Request a protected alias move; it takes what a move to PRODUCTION takes. "
        "Requires transition:request."
    )
    async def request_alias_transition(
        self, info: Info, input: Annotated[RequestAliasTransitionInput, strawberry.argument(description="The move.")]
    ) -> TransitionRequestPayload:
        new = governance.NewTransition(kind=governance.TransitionKind.ALIAS, alias=input.alias, comment=input.comment)
        return _payload(
            await info.context.services.transitions.request(
                info.context.principal, input.name, input.version, new, input.idempotency_key
            )
        )

    @strawberry.mutation(
        description="Approve a request (never one's own, nor one about a version one registered); "
        "the move applies when the approvals are complete and the gates pass. "
        "Requires transition:approve."
    )
    async def approve_transition_request(
        self, info: Info, input: Annotated[ApproveTransitionRequestInput, strawberry.argument(description="Which.")]
    ) -> TransitionRequestPayload:
        return _payload(
            await info.context.services.transitions.approve(
                info.context.principal, request_key(input.id), input.comment
            )
        )

    @strawberry.mutation(
        description="Reject a request, saying why; one rejection is final. Requires transition:approve."
    )
    async def reject_transition_request(
        self, info: Info, input: Annotated[RejectTransitionRequestInput, strawberry.argument(description="Which.")]
    ) -> TransitionRequestPayload:
        return _payload(
            await info.context.services.transitions.reject(info.context.principal, request_key(input.id), input.comment)
        )

    @strawberry.mutation(
        description="Withdraw an open request: one's own, or anyone's with transition:cancel-any. "
        "Requires transition:cancel."
    )
    async def cancel_transition_request(
        self, info: Info, input: Annotated[CancelTransitionRequestInput, strawberry.argument(description="Which.")]
    ) -> TransitionRequestPayload:
        return _payload(
            await info.context.services.transitions.cancel(info.context.principal, request_key(input.id), input.comment)
        )

    @strawberry.mutation(
        description="Emergency path without approvals: restore the previous PRODUCTION version "
        "and archive the current one. Requires production:rollback."
    )
    async def rollback_production(
        self, info: Info, input: Annotated[RollbackProductionInput, strawberry.argument(description="Which model.")]
    ) -> RollbackProductionPayload:
        from .versions import ModelVersion

        restored, archived = await info.context.services.transitions.rollback(
            info.context.principal, input.name, input.reason, input.from_version
        )
        return RollbackProductionPayload(restored=ModelVersion(entity=restored), archived=ModelVersion(entity=archived))
