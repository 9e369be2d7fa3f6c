"""Event types are declared once (domain/events.py ``EventType``), and a decision on a transition request emits the
decision and, when the move applied, ``transition.applied``. Which events each mutation emits, with their bodies,
is pinned by test_payload_pins.py (its scenario runs every mutation)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.entities import Stage
from app.domain.events import ALL_EVENT_TYPES, EventDraft, EventType
from app.domain.governance import TransitionKind, TransitionRequest, TransitionStatus
from app.domain.transitions import request_events
from app.graphql.schema import schema
from app.graphql.types.event_types import RegistryEventType, domain_event_types, registry_event_types

pytestmark = pytest.mark.backend_independent


def documented_types() -> set[str]:
    """The event types docs/events.md's table lists (the receivers' contract)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    table = text.split("## Events", 1)[1].split("\n\n", 2)[1]
    return {name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`",
                                                                          row.split("|")[1])}


def test_docs_list_every_event_type_and_no_other():
    assert documented_types() == ALL_EVENT_TYPES


def test_the_graphql_enum_round_trips_every_event_type():
    """RegistryEventType (subscriptions, webhook filters) has one value per EventType, named like it."""
    assert {event_type.value for event_type in RegistryEventType} == ALL_EVENT_TYPES
    for event_type in EventType:
        value = RegistryEventType.of(event_type)
        assert value.name == event_type.name and value.to_domain() is event_type
        assert RegistryEventType.of(event_type.value) is value  # from the stored text as well
    assert registry_event_types(["version.created", "alias.moved"]) == [RegistryEventType.VERSION_CREATED,
                                                                       RegistryEventType.ALIAS_MOVED]
    assert domain_event_types([RegistryEventType.TRANSITION_APPLIED]) == [EventType.TRANSITION_APPLIED]
    assert domain_event_types(None) is None


def test_each_enum_value_is_described_with_its_dotted_name():
    values = schema._schema.get_type("RegistryEventType").values
    assert set(values) == {event_type.name for event_type in EventType}
    for name, value in values.items():
        assert f"(`{EventType[name].value}`)" in (value.description or ""), name


def request(status: TransitionStatus) -> TransitionRequest:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return TransitionRequest(id=7, model_id=1, model_name="m", version_id=3, version=3, kind=TransitionKind.STAGE,
                             from_stage=Stage.STAGING, to_stage=Stage.PRODUCTION, alias=None, status=status,
                             requested_by="ds", requested_at=moment, comment=None, required_approvals=1,
                             archive_existing_production=True, gate_results=())


@pytest.mark.parametrize(("status", "applied"), [(TransitionStatus.APPLIED, True), (TransitionStatus.APPROVED, False),
                                                 (TransitionStatus.PENDING, False)])
def test_a_decision_that_applies_the_move_adds_transition_applied(status, applied):
    expected = [EventDraft(EventType.TRANSITION_APPROVED, "m", 3)]
    if applied:
        expected.append(EventDraft(EventType.TRANSITION_APPLIED, "m", 3))
    assert request_events(EventType.TRANSITION_APPROVED, request(status)) == expected
