"""Governed promotion: transition requests, their approvals and gate results, and a version's requests, stage history
and documents."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import governance
from app.domain.errors import BadUserInput
from app.domain.queries import PageRequest
from app.domain.transitions import group_approvals

from ..context import Info
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    connection_from_list,
    fetches_node,
    from_global_id,
    page_request,
    to_connection,
    to_global_id,
    wants_total,
)
from .common import Actor, Stage
from .documents import Document, DocumentKind
from .stage_history import StageChange

if TYPE_CHECKING:
    from app.domain import entities

    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


@strawberry.enum(description="Where a transition request stands.")
class TransitionStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Waiting for approvals.")
    APPROVED = strawberry.enum_value(
        "APPROVED",
        description="Approvals complete, but a check failed when it was to apply (see gateResults); "
        "approving again retries.",
    )
    REJECTED = strawberry.enum_value("REJECTED", description="An approver rejected it.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Withdrawn before it applied.")
    APPLIED = strawberry.enum_value("APPLIED", description="The move happened.")


@strawberry.enum(description="What a transition request moves.")
class TransitionKind(Enum):
    STAGE = strawberry.enum_value("STAGE", description="The version to another stage.")
    ALIAS = strawberry.enum_value("ALIAS", description="A protected alias (such as `champion`) to the version.")


@strawberry.enum(description="An approver's decision.")
class Decision(Enum):
    APPROVE = strawberry.enum_value("APPROVE", description="Approved.")
    REJECT = strawberry.enum_value("REJECT", description="Rejected.")


@strawberry.type(description="One gate of the promotion policy checked against the version.")
class GateResult:
    gate: str = strawberry.field(
        description="The gate, such as `version READY`, `metric accuracy >= 0.9` or `document MODEL_CARD`."
    )
    passed: bool = strawberry.field(description="Whether the version passed it.")
    detail: str = strawberry.field(description="What was found.")


@strawberry.type(description="One approver's decision on a transition request.")
class Approval(Node):
    entity: strawberry.Private[governance.Approval]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("Approval", self.entity.id)

    @strawberry.field(description="The approver who decided.")
    def decided_by(self) -> Actor:
        return Actor.of(self.entity.approver)

    @strawberry.field(description="Approve or reject.")
    def decision(self) -> Decision:
        return Decision(self.entity.decision.value)

    @strawberry.field(description="What the approver said.")
    def comment(self) -> str | None:
        return self.entity.comment

    @strawberry.field(description="When.")
    def decided_at(self) -> datetime:
        return self.entity.decided_at

    @strawberry.field(
        description="The approver's groups (from their token's `groups` claim) that the request's group "
        "requirements name, as recorded when they decided: the groups this approval counted for. Empty when the "
        "request requires no group."
    )
    def approver_groups(self) -> list[str]:
        return list(self.entity.groups)


@strawberry.type(description="Approvals the promotion policy requires from members of one group, and those given.")
class GroupApprovals:
    group: str = strawberry.field(
        description="The group, as tokens' `groups` claim names it (for Microsoft Entra ID, the group's object id)."
    )
    required: int = strawberry.field(description="Approvals required from its members.")
    approvals: int = strawberry.field(description="Approvals its members gave so far (each approver once).")
    missing: int = strawberry.field(description="Approvals from its members still missing (0 when satisfied).")


@strawberry.type(
    description="A request to move a version to a stage, or a protected alias to a version, under the "
    "promotion policy's approvals and gates."
)
class TransitionRequest(Node):
    entity: strawberry.Private[governance.TransitionRequest]

    @strawberry.field(description="Globally unique opaque id; pass it to approve, reject or cancel.")
    def id(self) -> strawberry.ID:
        return to_global_id("TransitionRequest", self.entity.id)

    @strawberry.field(description="Stage move or protected alias move.")
    def kind(self) -> TransitionKind:
        return TransitionKind(self.entity.kind.value)

    @strawberry.field(description="Model name.")
    def name(self) -> str:
        return self.entity.model_name

    @strawberry.field(description="Version number the request is about.")
    def version(self) -> int:
        return self.entity.version

    @strawberry.field(description="The version the request is about.")
    async def model_version(self, info: Info) -> ModelVersionRef | None:
        from .versions import ModelVersion

        found = await info.context.loaders.version.load(self.entity.version_id)
        return ModelVersion(entity=found) if found else None

    @strawberry.field(description="The version's stage when the request was made.")
    def from_stage(self) -> Stage:
        return Stage(self.entity.from_stage.value)

    @strawberry.field(description="The stage asked for (stage moves).")
    def to_stage(self) -> Stage | None:
        return Stage(self.entity.to_stage.value) if self.entity.to_stage else None

    @strawberry.field(description="The protected alias to move (alias moves).")
    def alias(self) -> str | None:
        return self.entity.alias

    @strawberry.field(description="Where the request stands.")
    def status(self) -> TransitionStatus:
        return TransitionStatus(self.entity.status.value)

    @strawberry.field(description="Who made the request.")
    def requested_by(self) -> Actor:
        return Actor.of(self.entity.requested_by)

    @strawberry.field(description="When the request was made.")
    def requested_at(self) -> datetime:
        return self.entity.requested_at

    @strawberry.field(description="The requester's comment.")
    def comment(self) -> str | None:
        return self.entity.comment

    @strawberry.field(description="Approvals the promotion policy requires for this move.")
    def required_approvals(self) -> int:
        return self.entity.required_approvals

    @strawberry.field(
        description="Approvals the promotion policy requires from members of named groups for this move (such as one "
        "from `risk-office`), among requiredApprovals, with how many each group gave and how many are still "
        "missing; the request applies when none is missing. Empty when no group is required."
    )
    async def group_approvals(self, info: Info) -> list[GroupApprovals]:
        if not self.entity.required_groups:
            return []
        found = await info.context.loaders.approvals.load(self.entity.id)
        return [
            GroupApprovals(group=g.group, required=g.required, approvals=g.approvals, missing=g.missing)
            for g in group_approvals(self.entity, found)
        ]

    @strawberry.field(description="Whether the version in PRODUCTION is archived when this one replaces it.")
    def archive_existing_production(self) -> bool:
        return self.entity.archive_existing_production

    @strawberry.field(description="Every decision so far (approvals and a rejection), newest first.")
    async def approvals(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[Approval]:
        found = await info.context.loaders.approvals.load(self.entity.id)  # oldest first
        items = [Approval(entity=a) for a in reversed(found)]
        return connection_from_list(items, "approvals", page_request(first, after, last, before), newest_first=True)

    @strawberry.field(description="The gates as last checked: when requested, then when it applied or failed to.")
    def gate_results(self) -> list[GateResult]:
        return [GateResult(gate=g.gate, passed=g.passed, detail=g.detail) for g in self.entity.gate_results]

    @strawberry.field(description="When it was applied, rejected or cancelled.")
    def resolved_at(self) -> datetime | None:
        return self.entity.resolved_at

    @strawberry.field(description="Who applied (the last approver), rejected or cancelled it.")
    def resolved_by(self) -> Actor | None:
        return Actor.of(self.entity.resolved_by) if self.entity.resolved_by else None

    @strawberry.field(description="The rejection's or cancellation's comment.")
    def resolution_comment(self) -> str | None:
        return self.entity.resolution_comment


def request_key(global_id: str) -> int:
    """The database key in a TransitionRequest's global id; another type's id is BAD_USER_INPUT."""
    type_name, key = from_global_id(global_id)
    if type_name != "TransitionRequest":
        raise BadUserInput(f"id {global_id[:100]!r} is not the id of a transition request", field="id")
    return key


@strawberry.input(description="Conditions on transition requests, combined with AND.")
class TransitionRequestFilter:
    name: str | None = strawberry.field(default=None, description="Requests about this model.")
    version: int | None = strawberry.field(default=None, description="Requests about this version number.")
    status: list[TransitionStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    requested_by: str | None = strawberry.field(default=None, description="Made by this subject.")
    to_stage: Stage | None = strawberry.field(default=None, description="Asking for this stage.")
    alias: str | None = strawberry.field(default=None, description="Asking for this protected alias.")

    def to_domain(self, version_id: int | None = None) -> governance.TransitionFilter:
        return governance.TransitionFilter(
            model_name=self.name,
            version=self.version,
            version_id=version_id,
            statuses=tuple(governance.TransitionStatus(s.value) for s in self.status or ()),
            requested_by=self.requested_by,
            to_stage=self.to_stage.to_domain() if self.to_stage else None,
            alias=self.alias,
        )


async def list_requests(
    info: Info, filter: TransitionRequestFilter | None, page: PageRequest, version_id: int | None = None
) -> Connection[TransitionRequest]:
    found = await info.context.services.governance.requests(
        info.context.principal,
        (filter or TransitionRequestFilter()).to_domain(version_id),
        page,
        with_total=wants_total(info),
    )
    return to_connection(found, lambda r: TransitionRequest(entity=r))


@strawberry.type(description="A version's requests, stage history and documents.")
class VersionGovernanceFields:
    if TYPE_CHECKING:  # declared by ModelVersion, which this mixin is part of
        entity: entities.ModelVersion

    @strawberry.field(description="Transition requests about this version, newest first.")
    async def transition_requests(
        self,
        info: Info,
        filter: Annotated[TransitionRequestFilter | None, strawberry.argument(description="Conditions.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[TransitionRequest]:
        return await list_requests(info, filter, page_request(first, after, last, before), version_id=self.entity.id)

    @strawberry.field(description="Every stage move of this version, newest first.")
    async def stage_history(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[StageChange]:
        items = [StageChange(entity=c) for c in await info.context.loaders.stage_history.load(self.entity.id)]
        return connection_from_list(items, "stage-history", page_request(first, after, last, before), newest_first=True)

    @strawberry.field(description="Documents attached to this version (every revision), newest first.")
    async def documents(
        self,
        info: Info,
        kind: Annotated[DocumentKind | None, strawberry.argument(description="Only documents of this kind.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Document]:
        found = await info.context.loaders.documents.load(self.entity.id)  # oldest first
        items = [Document(entity=d) for d in reversed(found) if kind is None or d.kind.value == kind.value]
        list_name = f"documents-{kind.value}" if kind else "documents"  # a filtered list has its own cursors
        return connection_from_list(items, list_name, page_request(first, after, last, before), newest_first=True)


@strawberry.type(description="Transition request queries.")
class GovernanceQueries:
    @strawberry.field(description="Transition requests across all models, newest first.")
    async def transition_requests(
        self,
        info: Info,
        filter: Annotated[TransitionRequestFilter | None, strawberry.argument(description="Conditions.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[TransitionRequest] | None:
        return await list_requests(info, filter, page_request(first, after, last, before))


@fetches_node("TransitionRequest")
async def _request_node(info: Info, key: int) -> TransitionRequest | None:
    found = await info.context.services.governance.request(info.context.principal, key)
    return TransitionRequest(entity=found) if found else None


@fetches_node("Approval")
async def _approval_node(info: Info, key: int) -> Approval | None:
    found = await info.context.services.governance.approval(info.context.principal, key)
    return Approval(entity=found) if found else None
