"""The audit log for auditors: events with filters, and the integrity check of the hash chain."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from app.domain import audit
from app.domain.errors import BadUserInput
from app.observability.metrics import AUDIT_VERIFICATIONS

from ..context import Info
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    fetches_node,
    from_global_id,
    page_request,
    to_connection,
    to_global_id,
    wants_total,
)
from .common import Actor, Long, OrderDirection, PrincipalKind, _aware, long_or_none


@strawberry.type(description="What an event is about.")
class AuditTargetRef:
    type: str = strawberry.field(
        description="RegisteredModel, ModelVersion, ModelAlias, TransitionRequest, Deployment, Webhook, Dataset, "
        "Run, ArtifactBlob, ArtifactUpload, AuditLog..."
    )
    id: strawberry.ID | None = strawberry.field(
        description="Its global id, for `node(id:)`; for ModelAlias and Deployment targets the id of their "
        "RegisteredModel (`name` says which alias or environment). ArtifactUpload and ArtifactBlob targets have "
        "their upload id and digest. Null when no object was identified: an attempt that failed before finding "
        "or creating one, or a target without an id (AuditLog, EventSubscription, LineageEdge). Computed when "
        "read: the log stores, and hashes, the object's database key."
    )
    name: str | None = strawberry.field(description="Its name: the model name, `name@alias`, a digest...")
    version: int | None = strawberry.field(description="The version number, for versions and requests.")


@strawberry.enum(description="How an attempt ended: `OK`, or the error code the caller got (`extensions.code`).")
class AuditOutcome(Enum):
    OK = strawberry.enum_value(audit.OUTCOME_OK, description="It succeeded (stored and exported as `ok`).")
    UNAUTHENTICATED = strawberry.enum_value("UNAUTHENTICATED", description="The caller had no valid token.")
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="The caller's roles do not allow it.")
    BAD_USER_INPUT = strawberry.enum_value("BAD_USER_INPUT", description="The input was refused.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="What it named does not exist.")
    CONFLICT = strawberry.enum_value("CONFLICT", description="It clashed with the current state (a duplicate...).")
    FAILED_PRECONDITION = strawberry.enum_value(
        "FAILED_PRECONDITION", description="The state did not allow it (a rule or gate refused it)."
    )
    INTERNAL = strawberry.enum_value("INTERNAL", description="The server failed; the request id finds the log line.")


@strawberry.type(description="One audit event: an attempted change or a denied attempt, in the hash chain.")
class AuditEvent(Node):
    entity: strawberry.Private[audit.AuditEvent]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("AuditEvent", self.entity.seq)

    @strawberry.field(description="Sequence number in the log: 1, 2, 3... without gaps.")
    def sequence(self) -> Long:
        return Long(self.entity.seq)

    @strawberry.field(description="When it happened.")
    def occurred_at(self) -> datetime:
        return self.entity.draft.occurred_at

    @strawberry.field(description="Who did it.")
    def actor(self) -> Actor:
        draft = self.entity.draft
        return Actor.of(draft.actor_subject, PrincipalKind(draft.actor_kind))

    @strawberry.field(description="Registry roles the actor held at the time, sorted.")
    def actor_roles(self) -> list[str]:
        return list(self.entity.draft.actor_roles)

    @strawberry.field(description="What was attempted, such as `model.create` or `transition.approve`.")
    def action(self) -> str:
        return self.entity.draft.action

    @strawberry.field(description="What it was about.")
    def target(self) -> AuditTargetRef:
        t = self.entity.draft.target
        public_id = t.public_id
        return AuditTargetRef(
            type=t.type, id=strawberry.ID(public_id) if public_id else None, name=t.name, version=t.version
        )

    @strawberry.field(description="What changed, as it was before (null for creations and failures).")
    def before(self) -> JSON | None:
        return self.entity.draft.before

    @strawberry.field(description="What changed, as it is after (null for deletions and failures).")
    def after(self) -> JSON | None:
        return self.entity.draft.after

    @strawberry.field(description="`OK`, or the error code the caller got (FORBIDDEN, NOT_FOUND...).")
    def outcome(self) -> AuditOutcome:
        return AuditOutcome(self.entity.draft.outcome)

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
        default=None,
        description="About this target: its `name` (a model name, `name@alias`...) or its `id`, as `target` shows "
        "them (a model's global id also finds the events about its aliases and deployments).",
    )
    outcome: AuditOutcome | None = strawberry.field(default=None, description="Ended so: `OK` or an error code.")
    from_: datetime | None = strawberry.field(default=None, name="from", description="At or after this time.")
    to: datetime | None = strawberry.field(default=None, description="Before this time.")

    def to_domain(self) -> audit.AuditFilter:
        return audit.AuditFilter(
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target=self.target,
            target_key=_target_key(self.target),
            outcome=cast(str, self.outcome.value) if self.outcome else None,
            occurred_from=_aware(self.from_),
            occurred_to=_aware(self.to),
        )


def _target_key(target: str | None) -> audit.TargetKey | None:
    """The targets a global id names, when ``target`` is one (else it is a name or another kind of id)."""
    if target is None:
        return None
    try:
        type_name, key = from_global_id(target)
    except BadUserInput:
        return None
    return audit.targets_keyed_by(type_name, key)


@strawberry.enum(description="Fields audit events can be ordered by.")
class AuditEventOrderField(Enum):
    SEQUENCE = strawberry.enum_value("SEQUENCE", description="Sequence number: the order they were recorded in.")


@strawberry.input(description="Order of an audit event listing.")
class AuditEventOrder:
    field: AuditEventOrderField = strawberry.field(
        default=AuditEventOrderField.SEQUENCE, description="What to order by (default: sequence number)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Sort direction (default: DESC, newest first)."
    )


@strawberry.type(description="The result of recomputing the audit log's hash chain.")
class AuditIntegrity:
    ok: bool = strawberry.field(description="True when every event matches its hash and links to the one before.")
    checked_events: Long = strawberry.field(description="Events checked (up to the first broken one).")
    first_broken_sequence: Long | None = strawberry.field(description="Sequence number of the first broken event.")
    problem: str | None = strawberry.field(description="What is wrong with it.")
    head_sequence: Long | None = strawberry.field(
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
        order_by: Annotated[
            AuditEventOrder | None, strawberry.argument(description="Sort order (default: newest first).")
        ] = None,
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
            direction=(order_by or AuditEventOrder()).direction.to_domain(),
        )
        return to_connection(page, lambda e: AuditEvent(entity=e))

    @strawberry.field(description="Recompute the hash chain and report the first broken event. Requires audit:read.")
    async def audit_integrity(self, info: Info) -> AuditIntegrity | None:
        report = await info.context.services.audit_log.integrity(info.context.principal)
        AUDIT_VERIFICATIONS.labels("ok" if report.ok else "broken").inc()
        return AuditIntegrity(
            ok=report.ok,
            checked_events=Long(report.checked),
            first_broken_sequence=long_or_none(report.first_broken_seq),
            problem=report.problem,
            head_sequence=long_or_none(report.head_seq),
            head_hash=report.head_hash,
        )


@fetches_node("AuditEvent")
async def _audit_event_node(info: Info, key: int) -> AuditEvent | None:
    found = await info.context.services.audit_log.event(info.context.principal, key)
    return AuditEvent(entity=found) if found else None
