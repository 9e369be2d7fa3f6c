"""Domain events: what changed in the registry, as CI/CD and serving systems see it (docs/events.md).

Every successful change that the audit log records as an action of ``EVENT_TYPES`` also produces one or more
events, written to the outbox in the same transaction. Webhooks and subscriptions deliver them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Audit action -> event type. A transition action may also apply the transition (see ``event_types_for``).
EVENT_TYPES: dict[str, str] = {
    "model.create": "model.created",
    "model.update": "model.updated",
    "model.delete": "model.deleted",
    "model.tag.set": "model.tags.changed",
    "model.tag.delete": "model.tags.changed",
    "version.create": "version.created",
    "version.update": "version.updated",
    "version.delete": "version.deleted",
    "version.tag.set": "version.tags.changed",
    "version.tag.delete": "version.tags.changed",
    "alias.set": "alias.moved",
    "alias.delete": "alias.moved",
    "transition.request": "transition.requested",
    "transition.approve": "transition.approved",
    "transition.reject": "transition.rejected",
    "transition.cancel": "transition.cancelled",
    "production.rollback": "production.rolled_back",
    "document.attach": "document.attached",
    "dataset.register": "lineage.changed",
    "run.register": "lineage.changed",
    "code_commit.register": "lineage.changed",
    "external_node.register": "lineage.changed",
    "lineage.edge.add": "lineage.changed",
    **{
        f"deployment.{action}": "deployment.changed"
        for action in (
            "deploy",
            "start_canary",
            "set_canary_traffic",
            "promote_canary",
            "abort_canary",
            "add_shadow",
            "remove_shadow",
            "rollback",
        )
    },
}
# Actions that change nothing a subscriber follows (an upload slot is not registry state).
NO_EVENT_ACTIONS = frozenset(
    {
        "artifact.upload.create",
        "webhook.create",
        "webhook.update",
        "webhook.delete",
        "webhook.redeliver",
        "webhook.ping",
    }
)
READY, FAILED = "version.ready", "version.failed"
TRANSITION_APPLIED = "transition.applied"
PING = "webhook.ping"  # sent to one webhook by pingWebhook, whatever its filter
ALL_EVENT_TYPES = frozenset({*EVENT_TYPES.values(), READY, FAILED, TRANSITION_APPLIED, PING})


def event_types_for(action: str, after: Any) -> list[str]:
    """The event types one successful audited action produces, in order."""
    state = after if isinstance(after, dict) else {}
    if action == "version.registration.finish":
        return [READY if state.get("status") == "READY" else FAILED]
    types = [EVENT_TYPES[action]] if action in EVENT_TYPES else []
    if action == "version.create" and state.get("modelCreated"):  # createModelIfMissing made the model too
        types.insert(0, "model.created")
    if action == "version.create" and state.get("status") == "READY":
        types.append(READY)
    if action in ("transition.request", "transition.approve") and state.get("status") == "APPLIED":
        types.append(TRANSITION_APPLIED)
    return types


@dataclass(frozen=True)
class DomainEvent:
    """One change: who did what to which model and version, with the version's state right after it."""

    id: str
    type: str
    occurred_at: datetime
    actor_subject: str
    actor_kind: str
    model_name: str | None
    version: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None  # position in the outbox, once written

    @property
    def position(self) -> int:
        """``seq`` of an event written to or read from the outbox (a ValueError for one that was not)."""
        if self.seq is None:
            raise ValueError(f"event {self.id} has no outbox position: it was never written to the outbox")
        return self.seq


@dataclass(frozen=True)
class EventFilter:
    """Which events a subscriber wants: types (empty: all) and a model name pattern (``*`` and ``?`` globs)."""

    types: frozenset[str] = frozenset()
    model_name_pattern: str | None = None

    def matches(self, event: DomainEvent) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.model_name_pattern is None:
            return True
        return event.model_name is not None and fnmatch.fnmatchcase(event.model_name, self.model_name_pattern)
