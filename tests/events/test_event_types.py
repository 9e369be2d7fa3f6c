"""Every mutation decides whether it is an event: its audit action maps to an event type or is listed as none."""

import pytest

from app.domain.events import EVENT_TYPES, NO_EVENT_ACTIONS, event_types_for
from tests.audit.test_completeness import ACTIONS

pytestmark = pytest.mark.backend_independent


def test_every_mutation_action_is_an_event_or_explicitly_none():
    undecided = sorted(set(ACTIONS.values()) - set(EVENT_TYPES) - NO_EVENT_ACTIONS)
    assert not undecided, f"audit actions that neither produce an event nor are listed in NO_EVENT_ACTIONS: {undecided}"
    assert not set(EVENT_TYPES) & NO_EVENT_ACTIONS


def test_applied_transitions_and_ready_versions_add_an_event():
    assert event_types_for("transition.approve", {"status": "APPLIED"}) == ["transition.approved", "transition.applied"]
    assert event_types_for("transition.approve", {"status": "PENDING"}) == ["transition.approved"]
    assert event_types_for("version.create", {"status": "PENDING_REGISTRATION"}) == ["version.created"]
    assert event_types_for("version.registration.finish", {"status": "FAILED_REGISTRATION"}) == ["version.failed"]
    assert event_types_for("artifact.upload.create", {}) == []


def test_a_version_that_creates_its_model_also_makes_model_created():
    assert event_types_for("version.create", {"status": "READY", "modelCreated": True}) == [
        "model.created", "version.created", "version.ready"]
