"""The registry event types as a GraphQL enum (VERSION_CREATED for `version.created`), for subscriptions and
webhook filters. Webhook bodies, the outbox and the domain keep the dotted names (app/domain/events.py)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import cast

import strawberry

from app.domain.events import EventType

_ = strawberry.enum_value


@strawberry.enum(
    description="Kinds of registry event (docs/events.md). Webhook bodies and the `Modelreg-Event-Type` header "
    "name them in dotted form: VERSION_CREATED is `version.created`."
)
class RegistryEventType(Enum):
    MODEL_CREATED = _("model.created", description="A registered model was created (`model.created`).")
    MODEL_UPDATED = _("model.updated", description="A model's description or metadata changed (`model.updated`).")
    MODEL_DELETED = _("model.deleted", description="A registered model was deleted (`model.deleted`).")
    MODEL_TAGS_CHANGED = _("model.tags.changed", description="A model tag was set or deleted (`model.tags.changed`).")
    VERSION_CREATED = _("version.created", description="A model version was created (`version.created`).")
    VERSION_READY = _(
        "version.ready",
        description="A version became usable, at once or after its staged uploads were verified (`version.ready`).",
    )
    VERSION_FAILED = _("version.failed", description="A version failed registration (`version.failed`).")
    VERSION_UPDATED = _("version.updated", description="A version's description changed (`version.updated`).")
    VERSION_DELETED = _("version.deleted", description="A model version was deleted (`version.deleted`).")
    VERSION_TAGS_CHANGED = _(
        "version.tags.changed", description="A version tag was set or deleted (`version.tags.changed`)."
    )
    ALIAS_MOVED = _("alias.moved", description="An alias was set, moved or deleted (`alias.moved`).")
    TRANSITION_REQUESTED = _(
        "transition.requested", description="A stage or alias transition was requested (`transition.requested`)."
    )
    TRANSITION_APPROVED = _(
        "transition.approved", description="An approver approved a transition request (`transition.approved`)."
    )
    TRANSITION_REJECTED = _(
        "transition.rejected", description="An approver rejected a transition request (`transition.rejected`)."
    )
    TRANSITION_CANCELLED = _(
        "transition.cancelled", description="A transition request was cancelled (`transition.cancelled`)."
    )
    TRANSITION_APPLIED = _(
        "transition.applied",
        description="A requested move was made; follows the request or approval that applied it "
        "(`transition.applied`).",
    )
    PRODUCTION_ROLLED_BACK = _(
        "production.rolled_back",
        description="rollbackProduction restored an earlier version (`production.rolled_back`).",
    )
    DOCUMENT_ATTACHED = _(
        "document.attached", description="A model card or another document was attached (`document.attached`)."
    )
    LINEAGE_CHANGED = _(
        "lineage.changed",
        description="A dataset, run, commit or external node was registered, or an edge added (`lineage.changed`).",
    )
    DEPLOYMENT_CHANGED = _(
        "deployment.changed",
        description="A deployment changed: deploy, canary, traffic, shadow, rollback (`deployment.changed`).",
    )
    WEBHOOK_PING = _(
        "webhook.ping",
        description="pingWebhook's test event, sent only to that webhook whatever its filter; never to "
        "subscribers (`webhook.ping`).",
    )

    def to_domain(self) -> EventType:
        return EventType(cast(str, self.value))  # the member's value is the text given to enum_value

    @classmethod
    def of(cls, event_type: str) -> RegistryEventType:
        """The enum value of a dotted event type (an ``EventType`` or its text, as stored)."""
        return cls(str(event_type))


def domain_event_types(types: Iterable[RegistryEventType] | None) -> list[EventType] | None:
    """A list argument of enum values as domain event types (None stays None)."""
    return None if types is None else [event_type.to_domain() for event_type in types]


def registry_event_types(types: Iterable[str]) -> list[RegistryEventType]:
    """Stored dotted event types as enum values, in the order given."""
    return [RegistryEventType.of(event_type) for event_type in types]
