"""The event outbox: every audited change also becomes domain events, in the same transaction, fanned out to
the webhooks that want them (one PENDING delivery each). Dispatchers deliver them from the database, so a crash
after the commit loses nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from app.domain.audit import OUTCOME_OK, AuditDraft
from app.domain.events import DomainEvent, event_types_for

from .ports import UnitOfWork


async def _version_state(uow: UnitOfWork, name: str | None, number: int | None) -> dict[str, Any]:
    """The version's stage, status, aliases and manifest digest right after the change (empty when it is gone)."""
    if name is None or number is None:
        return {}
    version = (await uow.versions.find_by_model_number([(name, number)])).get((name, number))
    if version is None:
        return {}
    aliases = (await uow.aliases.for_versions([version.id]))[version.id]
    return {
        "uri": f"models:/{name}/{number}",
        "stage": version.stage.value,
        "status": version.status.value,
        "aliases": sorted(alias.alias for alias in aliases),
        "manifestDigest": version.artifact.digest if version.artifact else None,
    }


def _subject(draft: AuditDraft) -> tuple[str | None, int | None]:
    """The model and version a change is about (an alias move: the version it points at now, or pointed at)."""
    target = draft.target
    if target.type == "Deployment" and target.name:  # "model@environment"; the entries are in the change
        return target.name.rsplit("@", 1)[0], None
    if target.type == "ModelAlias" and target.name:
        versions = [state.get("version") for state in (draft.after, draft.before) if isinstance(state, dict)]
        return target.name.rsplit("@", 1)[0], next((v for v in versions if v is not None), None)
    if target.type in ("RegisteredModel", "ModelVersion", "TransitionRequest"):
        return target.name, target.version
    return None, None


class EventOutbox:
    """Turns successful audit drafts into outbox events and their webhook deliveries.

    Written events are announced for subscriptions (services/event_feed.py): other processes hear a NOTIFY sent
    in the same transaction (PostgreSQL), this process calls ``on_commit`` (the feed's ``wake``) after the commit.
    """

    def __init__(self, on_commit: Callable[[], None] | None = None) -> None:
        self._on_commit = on_commit

    async def publish(self, uow: UnitOfWork, draft: AuditDraft) -> list[DomainEvent]:
        if draft.outcome != OUTCOME_OK:
            return []
        types = event_types_for(draft.action, draft.after)
        if not types:
            return []
        target = draft.target
        model_name, version = _subject(draft)
        state = await _version_state(uow, model_name, version)
        written = []
        webhooks = [webhook for webhook in await uow.webhooks.list() if webhook.active]
        for event_type in types:
            event = await uow.events.add(
                DomainEvent(
                    id=str(uuid.uuid4()),
                    type=event_type,
                    occurred_at=draft.occurred_at,
                    actor_subject=draft.actor_subject,
                    actor_kind=draft.actor_kind,
                    model_name=model_name,
                    version=version,
                    payload={
                        "modelName": model_name,
                        "version": version,
                        **state,
                        "action": draft.action,
                        "target": {"type": target.type, "id": target.id, "name": target.name},
                        "change": {"before": draft.before, "after": draft.after},
                    },
                )
            )
            wanted = [webhook.id for webhook in webhooks if webhook.filter.matches(event)]
            if wanted:
                await uow.webhooks.add_deliveries(event.position, wanted, draft.occurred_at)
            written.append(event)
        await uow.events.notify()
        if self._on_commit is not None:
            uow.after_commit(self._on_commit)
        return written
