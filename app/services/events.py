"""The event outbox: the events a change emits are written in its transaction, fanned out to the webhooks that
want them (one PENDING delivery each). Dispatchers deliver them from the database, so a crash after the commit
loses nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from app.domain.audit import AuditDraft
from app.domain.entities import ModelVersion
from app.domain.events import DomainEvent, EventDraft

from .ports import UnitOfWork


async def _version_state(uow: UnitOfWork, draft: EventDraft) -> dict[str, Any]:
    """The version's stage, status, aliases and manifest digest right after the change (empty when it is gone)."""
    name, number = draft.model_name, draft.version
    if name is None or number is None:
        return {}
    version = draft.version_after
    if version is None:
        version = (await uow.versions.find_by_model_number([(name, number)])).get((name, number))
        if version is None:
            return {}
    aliases = draft.aliases_after
    if aliases is None:
        aliases = tuple(alias.alias for alias in (await uow.aliases.for_versions([version.id]))[version.id])
    return _state(version, aliases)


def _state(version: ModelVersion, aliases: tuple[str, ...]) -> dict[str, Any]:
    return {
        "uri": f"models:/{version.model_name}/{version.version}",
        "stage": version.stage.value,
        "status": version.status.value,
        "aliases": sorted(aliases),
        "manifestDigest": version.artifact.digest if version.artifact else None,
    }


class EventOutbox:
    """Writes the events of a change, with their webhook deliveries, in the change's transaction.

    Written events are announced for subscriptions (services/event_feed.py): other processes hear a NOTIFY sent
    in the same transaction (PostgreSQL), this process calls ``on_commit`` (the feed's ``wake``) after the commit.
    """

    def __init__(self, on_commit: Callable[[], None] | None = None) -> None:
        self._on_commit = on_commit

    async def publish(self, uow: UnitOfWork, change: AuditDraft, events: Sequence[EventDraft]) -> list[DomainEvent]:
        """Write ``events``; each carries the state of its version after the change and the change itself (the
        audit event's action, target, before and after), as docs/events.md describes."""
        if not events:
            return []
        target = change.target
        states: dict[tuple[str | None, int | None], dict[str, Any]] = {}
        drafted = []
        for draft in events:
            subject = (draft.model_name, draft.version)
            if subject not in states:
                states[subject] = await _version_state(uow, draft)
            drafted.append(
                DomainEvent(
                    id=str(uuid.uuid4()),
                    type=draft.type.value,
                    occurred_at=change.occurred_at,
                    actor_subject=change.actor_subject,
                    actor_kind=change.actor_kind,
                    model_name=draft.model_name,
                    version=draft.version,
                    payload={
                        "modelName": draft.model_name,
                        "version": draft.version,
                        **states[subject],
                        "action": change.action,
                        "target": {"type": target.type, "id": target.id, "name": target.name},
                        "change": {"before": change.before, "after": change.after},
                    },
                )
            )
        written, webhooks = await uow.events.add_all_with_webhooks(drafted)
        for event in written:
            wanted = [webhook_id for webhook_id, wants in webhooks if wants.matches(event)]
            if wanted:
                await uow.webhooks.add_deliveries(event.position, wanted, change.occurred_at)
        if self._on_commit is not None:
            uow.after_commit(self._on_commit)
        return written
