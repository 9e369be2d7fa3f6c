"""Domain events: what changed in the registry, as CI/CD and serving systems see it (docs/events.md).

Each use case states the events its change emits, as ``EventDraft`` objects handed to the audit trail with the
change (services/audit.py). The trail writes them to the outbox in the change's transaction, next to its audit
event; webhooks and subscriptions deliver them from there.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .entities import ModelVersion
from .read_scope import EVERYTHING, ReadScope


class EventType(StrEnum):
    """The kinds of event, by the names receivers see (``type`` in a webhook body)."""

    MODEL_CREATED = "model.created"
    MODEL_UPDATED = "model.updated"
    MODEL_DELETED = "model.deleted"
    MODEL_TAGS_CHANGED = "model.tags.changed"
    VERSION_CREATED = "version.created"
    VERSION_READY = "version.ready"
    VERSION_FAILED = "version.failed"
    VERSION_UPDATED = "version.updated"
    VERSION_DELETED = "version.deleted"
    VERSION_TAGS_CHANGED = "version.tags.changed"
    ALIAS_MOVED = "alias.moved"
    TRANSITION_REQUESTED = "transition.requested"
    TRANSITION_APPROVED = "transition.approved"
    TRANSITION_REJECTED = "transition.rejected"
    TRANSITION_CANCELLED = "transition.cancelled"
    TRANSITION_APPLIED = "transition.applied"
    PRODUCTION_ROLLED_BACK = "production.rolled_back"
    DOCUMENT_ATTACHED = "document.attached"
    LINEAGE_CHANGED = "lineage.changed"
    DEPLOYMENT_CHANGED = "deployment.changed"
    WEBHOOK_PING = "webhook.ping"  # sent to one webhook by pingWebhook, whatever its filter


PING = EventType.WEBHOOK_PING
ALL_EVENT_TYPES = frozenset(event_type.value for event_type in EventType)


@dataclass(frozen=True)
class EventDraft:
    """An event a use case emits, before the outbox gives it an id: its type and the model and version it is about
    (the outbox adds that version's state after the change)."""

    type: EventType
    model_name: str | None = None
    version: int | None = None
    # What the use case holds already of the version's state after the change (read again when not given): the
    # version, and its aliases (a version the change created has none).
    version_after: ModelVersion | None = None
    aliases_after: tuple[str, ...] | None = None


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
    scope: ReadScope = EVERYTHING  # what the subscriber may read (scoped reads): events about other models are not

    def matches(self, event: DomainEvent) -> bool:
        if self.types and event.type not in self.types:
            return False
        if not self.scope.covers(event.model_name):
            return False
        if self.model_name_pattern is None:
            return True
        return event.model_name is not None and fnmatch.fnmatchcase(event.model_name, self.model_name_pattern)
