"""The one write pattern (services/audit.py): a change commits only through ``attempt.transaction()``, together with
its audit event and the events it emits; a use case that forgets to say what it changed commits nothing."""

from __future__ import annotations

import pytest

from app.domain.audit import model_target
from app.domain.commands import NewModel
from app.domain.events import EventDraft, EventType
from app.domain.identity import Principal
from app.services.audit import AuditTrail
from app.services.common import utc_now
from app.services.events import EventOutbox

CALLER = Principal("writer", roles=frozenset({"mlops"}))


@pytest.fixture
def trail(api, app) -> AuditTrail:  # ``api`` empties the database first
    return AuditTrail(app.state.uow, EventOutbox())


async def stored(app) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Model names, (action, outcome) of audit events, and event types, as the database holds them now."""
    async with app.state.uow(write=False) as uow:
        models = ["ghost"] if await uow.models.get_by_name("ghost") is not None else []
        audit = [(event.draft.action, event.draft.outcome) for event in await uow.audit.chunk(0, 100)]
        events = [event.type for event in await uow.events.after(0, 100)]
    return models, audit, events


async def test_a_recorded_change_commits_with_its_audit_event_and_events(app, trail):
    async with trail.attempt(CALLER, "model.create", model_target("ghost")) as attempt:
        async with attempt.transaction() as uow:
            model = await uow.models.add(NewModel(name="ghost"), "writer", "writer", utc_now())
            attempt.record(after={"name": model.name}, events=[EventDraft(EventType.MODEL_CREATED, model.name)])
    assert await stored(app) == (["ghost"], [("model.create", "ok")], ["model.created"])


async def test_a_change_not_recorded_commits_nothing_and_is_audited_as_internal(app, trail):
    with pytest.raises(RuntimeError, match="without record"):
        async with trail.attempt(CALLER, "model.create", model_target("ghost")) as attempt:
            async with attempt.transaction() as uow:
                await uow.models.add(NewModel(name="ghost"), "writer", "writer", utc_now())
    assert await stored(app) == ([], [("model.create", "INTERNAL")], [])


async def test_a_use_case_that_never_opens_its_transaction_fails_and_is_audited_as_internal(app, trail):
    with pytest.raises(RuntimeError, match="without committing"):
        async with trail.attempt(CALLER, "model.create", model_target("ghost")):
            pass
    assert await stored(app) == ([], [("model.create", "INTERNAL")], [])
