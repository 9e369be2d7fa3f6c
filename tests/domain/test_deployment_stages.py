"""Stages and serving (docs/deployments.md, "Stages and serving") as truth tables: which entries a change gives
something, that a production environment gives traffic only to the version in PRODUCTION, what a production
rollback does to serving, undeploy, and the expected revision of a retried change."""

from __future__ import annotations

import pytest

from app.domain import deployments as rules
from app.domain.deployments import Environment
from app.domain.entities import Stage
from app.domain.errors import FailedPrecondition

from .test_deployments import CANARY, NOTHING, PRIMARY, SHADOW, entries, refused, shape, version

pytestmark = pytest.mark.backend_independent

PROD, STAGING_ENV = Environment("production", production=True), Environment("staging")
P, A, S, N = Stage.PRODUCTION, Stage.ARCHIVED, Stage.STAGING, Stage.NONE

V1_ALL = entries((1, PRIMARY, 100))
V2_ALL = entries((2, PRIMARY, 100))
V1_90_V2_10 = entries((1, PRIMARY, 90), (2, CANARY, 10))
V1_50_V2_50 = entries((1, PRIMARY, 50), (2, CANARY, 50))
V1_ALL_V3_SHADOW = entries((1, PRIMARY, 100), (3, SHADOW, 0))
V2_ALL_V3_SHADOW = entries((2, PRIMARY, 100), (3, SHADOW, 0))

# (before, after) -> the versions the change gives something (a place, or more live traffic)
GAINING = [
    (NOTHING, V1_ALL, [1]),
    (V1_ALL, V2_ALL, [2]),
    (V1_ALL, V1_90_V2_10, [2]),
    (V1_90_V2_10, V1_50_V2_50, [2]),
    (V1_50_V2_50, V1_90_V2_10, [1]),  # the primary gains when the canary shrinks
    (V1_90_V2_10, V2_ALL, [2]),  # promote
    (V1_90_V2_10, V1_ALL, [1]),  # abort
    (V2_ALL, V1_90_V2_10, [1]),  # a rollback of a promote
    (V1_ALL, V1_ALL_V3_SHADOW, [3]),  # a new shadow has a place
    (V1_ALL_V3_SHADOW, V1_ALL, []),
    (V1_ALL, NOTHING, []),  # undeploy
    (V1_ALL_V3_SHADOW, entries((3, PRIMARY, 100)), [3]),  # a shadow taking the traffic
]


@pytest.mark.parametrize("before,after,gains", GAINING)
def test_what_a_change_gives_something(before, after, gains):
    assert [entry.version for entry in rules.gaining(before, after)] == gains


# (environment, before, after, stages of versions 1-3) -> None (allowed) or the version named in the refusal
FOLLOWS = [
    # a production environment: traffic only towards the version in PRODUCTION
    (PROD, NOTHING, V1_ALL, (P, N, N), None),
    (PROD, NOTHING, V1_ALL, (A, N, N), 1),
    (PROD, V1_ALL, V1_90_V2_10, (A, P, N), None),  # the canary of the new PRODUCTION version; v1 was replaced
    (PROD, V1_ALL, V1_90_V2_10, (P, S, N), 2),  # no canary of a candidate in production
    (PROD, V1_90_V2_10, V1_50_V2_50, (A, P, N), None),
    (PROD, V1_50_V2_50, V1_90_V2_10, (A, P, N), 1),  # shrinking the canary feeds the ARCHIVED primary
    (PROD, V1_90_V2_10, V2_ALL, (A, P, N), None),  # promote
    (PROD, V1_90_V2_10, V1_ALL, (A, P, N), 1),  # abort feeds the ARCHIVED primary
    (PROD, V1_90_V2_10, V1_ALL, (P, A, N), None),  # after rollbackProduction, abort is what it did anyway
    (PROD, V2_ALL, V1_90_V2_10, (A, P, N), 1),  # issue 14 point 5: rolling back a promote
    (PROD, V2_ALL, V1_90_V2_10, (P, A, N), None),  # once v1 is back in PRODUCTION
    (PROD, V1_ALL, V2_ALL, (A, A, N), 2),  # issue 14 point 5: rolling back to a rolled-back version
    (PROD, V1_ALL, V1_ALL, (A, N, N), None),  # a version that left PRODUCTION keeps what it serves
    (PROD, V1_ALL, V1_ALL_V3_SHADOW, (A, N, P), None),
    (PROD, V1_ALL, V1_ALL_V3_SHADOW, (P, N, S), 3),  # a shadow joins a production environment only in PRODUCTION
    (PROD, V1_ALL_V3_SHADOW, V1_ALL, (A, N, S), None),  # leaving is always allowed
    (PROD, V1_ALL, NOTHING, (A, N, N), None),  # undeploy
    (PROD, V1_ALL, NOTHING, (P, N, N), None),
    # other environments follow no stage
    (STAGING_ENV, V2_ALL, V1_90_V2_10, (A, S, N), None),
    (STAGING_ENV, NOTHING, V1_ALL_V3_SHADOW, (N, N, S), None),
]


@pytest.mark.parametrize("environment,before,after,stages,named", FOLLOWS)
def test_a_production_environment_gives_traffic_only_to_the_production_version(
    environment, before, after, stages, named
):
    found = {100 + number: version(number, stage) for number, stage in enumerate(stages, start=1)}
    if named is None:
        rules.check_follows_stages(before, after, found, environment, "m")
        return
    message = refused(FailedPrecondition, rules.check_follows_stages, before, after, found, environment, "m").message
    assert message.startswith(f"version {named} of 'm' is in {stages[named - 1].value} and this change would give")
    assert "rollbackProduction" in message and "\n" not in message


# (entries, archived, restored) -> entries after, or None (nothing changes)
ROLLBACKS = [
    (V2_ALL, 2, 1, [(1, "PRIMARY", 100)]),
    (V1_90_V2_10, 2, 1, [(1, "PRIMARY", 100)]),  # the canary was the rolled-back version: the canary ends
    (entries((1, PRIMARY, 70), (2, CANARY, 30), (3, SHADOW, 0)), 2, 1, [(1, "PRIMARY", 100), (3, "SHADOW", 0)]),
    (V2_ALL_V3_SHADOW, 2, 3, [(3, "PRIMARY", 100)]),  # the restored shadow takes the traffic
    (V1_ALL, 2, 1, None),  # the rolled-back version was never rolled out here
    (V1_ALL_V3_SHADOW, 3, 1, None),  # a shadow answers nobody: it stays
    (NOTHING, 2, 1, None),  # undeployed
]


@pytest.mark.parametrize("before,archived,restored,after", ROLLBACKS)
def test_a_production_rollback_takes_the_traffic_with_it(before, archived, restored, after):
    result = rules.follow_production_rollback(before, 100 + archived, 100 + restored, restored)
    assert (None if result is None else shape(result)) == after
    if result is not None:
        rules.check_entries(result)


@pytest.mark.parametrize("before", [V1_ALL, V1_90_V2_10, V1_ALL_V3_SHADOW])
def test_undeploy_leaves_nothing(before):
    assert rules.undeploy(before, "m", "production") == ()


def test_undeploy_of_nothing_is_refused():
    error = refused(FailedPrecondition, rules.undeploy, NOTHING, "m", "production")
    assert (error.message, error.field) == ("'m' is not deployed in 'production'", "environment")


@pytest.mark.parametrize(
    "current,expected,ok",
    [
        (0, None, True),
        (5, None, True),
        (5, 5, True),
        (0, 0, True),
        (6, 5, False),
        (0, 1, False),
        (5, 6, False),
    ],
)
def test_a_change_names_the_revision_it_was_decided_on(current, expected, ok):
    if ok:
        rules.check_expected_revision(current, expected, "m", "production")
        return
    error = refused(FailedPrecondition, rules.check_expected_revision, current, expected, "m", "production")
    assert error.message.startswith(f"'m' in 'production' is at revision {current} now, not {expected}")
    assert error.field == "expectedRevision"
