"""The audit log for auditors: events with filters, and the integrity check of the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.domain import audit

from ..context import Info
from ..relay import After, Before, Connection, First, Last, page_request, to_connection, wants_total
from .common import OrderDirection, PrincipalKind, _aware


@strawberry.type(description="Who did something.")
class AuditActor:
    subject: str = strawberry.field(description="Subject of the caller's token (`modelreg` for the server itself).")
    kind: PrincipalKind = strawberry.field(description="A person or a machine identity.")
    roles: list[str] = strawberry.field(description="Registry roles the caller held.")


@strawberry.type(description="What an event is about.")
class AuditTargetRef:
    type: str = strawberry.field(
        description="RegisteredModel, ModelVersion, ModelAlias, TransitionRequest, "
        "ArtifactBlob, ArtifactUpload, AuditLog..."
    )
    id: str | None = strawberry.field(description="Its database key, when it exists.")
    name: str | None = strawberry.field(description="Its name: the model name, `name@alias`, a digest...")
    version: int | None = strawberry.field(description="The version number, for versions and requests.")


@strawberry.type(description="One audit event: an attempted change or a denied attempt, in the hash chain.")
class AuditEvent:
    entity: strawberry.Private[audit.AuditEvent]

    @strawberry.field(description="Sequence number in the log: 1, 2, 3... without gaps.")
    def sequence(self) -> float:
        return self.entity.seq

    @strawberry.field(description="When it happened.")
    def occurred_at(self) -> datetime:
        return self.entity.draft.occurred_at

    @strawberry.field(description="Who did it.")
    def actor(self) -> AuditActor:
        draft = self.entity.draft
        return AuditActor(
            subject=draft.actor_subject, kind=PrincipalKind(draft.actor_kind), roles=list(draft.actor_roles)
        )

    @strawberry.field(description="What was attempted, such as `model.create` or `transition.approve`.")
    def action(self) -> str:
        return self.entity.draft.action

    @strawberry.field(description="What it was about.")
    def target(self) -> AuditTargetRef:
        t = self.entity.draft.target
        return AuditTargetRef(type=t.type, id=t.id, name=t.name, version=t.version)

    @strawberry.field(description="What changed, as it was before (null for creations and failures).")
    def before(self) -> JSON | None:
        return self.entity.draft.before

    @strawberry.field(description="What changed, as it is after (null for deletions and failures).")
    def after(self) -> JSON | None:
        return self.entity.draft.after

    @strawberry.field(description="`ok`, or the error code the caller got (FORBIDDEN, NOT_FOUND...).")
    def outcome(self) -> str:
        return self.entity.draft.outcome

    @strawberry.field(description="The error message, for failures.")
    def detail(self) -> str | None:
        return self.entity.draft.detail

    @strawberry.field(description="Request id (also in the server log and the X-Request-ID response header).")
    def request_id(self) -> str | None:
        return self.entity.draft.request_id

    @strawberry.field(description="Client address as the server saw it.")
    def client_address(self) -> str | None:
        return self.entity.draft.client_address

    @strawberry.field(description="The client's User-Agent.")
    def user_agent(self) -> str | None:
        return self.entity.draft.user_agent

    @strawberry.field(description="sha256 of the previous event (64 zeros for the first).")
    def prev_hash(self) -> str:
        return self.entity.prev_hash

    @strawberry.field(description="sha256 of this event's canonical JSON, which includes prevHash.")
    def hash(self) -> str:
        return self.entity.hash


@strawberry.input(description="Conditions on audit events, combined with AND.")
class AuditEventFilter:
    actor: str | None = strawberry.field(default=None, description="Done by this subject.")
    action: str | None = strawberry.field(default=None, description="This action; `transition.*` for a prefix.")
    target_type: str | None = strawberry.field(default=None, description="About this type, such as ModelVersion.")
    target: str | None = strawberry.field(
        default=None, description="About this target name (such as a model name) or key."
    )
    outcome: str | None = strawberry.field(default=None, description="`ok` or an error code such as FORBIDDEN.")
    from_: datetime | None = strawberry.field(default=None, name="from", description="At or after this time.")
    to: datetime | None = strawberry.field(default=None, description="Before this time.")

    def to_domain(self) -> audit.AuditFilter:
        return audit.AuditFilter(
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target=self.target,
            outcome=self.outcome,
            occurred_from=_aware(self.from_),
            occurred_to=_aware(self.to),
        )


@strawberry.type(description="The result of recomputing the audit log's hash chain.")
class AuditIntegrity:
    ok: bool = strawberry.field(description="True when every event matches its hash and links to the one before.")
    checked_events: int = strawberry.field(description="Events checked (up to the first broken one).")
    first_broken_sequence: float | None = strawberry.field(description="Sequence number of the first broken event.")
    problem: str | None = strawberry.field(description="What is wrong with it.")
    head_sequence: float | None = strawberry.field(
        description="Last intact event: anchor it outside the database to detect a truncated tail later."
    )
    head_hash: str | None = strawberry.field(description="Hash of the last intact event.")


@strawberry.type(description="Audit log queries (auditors only).")
class AuditQueries:
    @strawberry.field(description="Audit events, newest first unless ordered otherwise. Requires audit:read.")
    async def audit_events(
        self,
        info: Info,
        filter: Annotated[AuditEventFilter | None, strawberry.argument(description="Conditions.")] = None,
        direction: Annotated[
            OrderDirection, strawberry.argument(description="By sequence number.")
        ] = OrderDirection.DESC,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEvent] | None:
        page = await info.context.services.audit_log.events(
            info.context.principal,
            (filter or AuditEventFilter()).to_domain(),
            page_request(first, after, last, before),
            with_total=wants_total(info),
            direction=direction.to_domain(),
        )
        return to_connection(page, lambda e: AuditEvent(entity=e))

    @strawberry.field(description="Recompute the hash chain and report the first broken event. Requires audit:read.")
    async def audit_integrity(self, info: Info) -> AuditIntegrity | None:
        report = await info.context.services.audit_log.integrity(info.context.principal)
        return AuditIntegrity(
            ok=report.ok,
            checked_events=report.checked,
            first_broken_sequence=report.first_broken_seq,
            problem=report.problem,
            head_sequence=report.head_seq,
            head_hash=report.head_hash,
        )
