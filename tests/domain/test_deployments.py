"""The deployment rules (app/domain/deployments.py) as truth tables: blue-green, canary, shadow and rollback moves,
percent bounds, what an environment may serve, and the invariant every revision keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain import deployments as rules
from app.domain.deployments import DeploymentAction, DeploymentRole, Entry, Environment, Revision
from app.domain.entities import ModelVersion, Stage, VersionStatus
from app.domain.errors import BadUserInput, FailedPrecondition, RegistryError

pytestmark = pytest.mark.backend_independent

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRIMARY, CANARY, SHADOW = DeploymentRole.PRIMARY, DeploymentRole.CANARY, DeploymentRole.SHADOW


def entries(*spec: tuple[int, DeploymentRole, int]) -> tuple[Entry, ...]:
    """(version, role, percent) -> entries; a version's id is 100 + its number."""
    return tuple(Entry(100 + number, number, role, percent) for number, role, percent in spec)


def shape(result: tuple[Entry, ...]) -> list[tuple[int, str, int]]:
    return [(e.version, e.role.value, e.traffic_percent) for e in result]


def version(number: int = 3, stage: Stage = Stage.PRODUCTION, status: VersionStatus = VersionStatus.READY):
    return ModelVersion(id=100 + number, model_id=1, model_name="m", version=number, status=status, stage=stage,
                        description=None, flavor=None, signature=None, run=None, code=None, artifact=None, params={},
                        created_at=NOW, created_by="dana", updated_at=NOW)


def refused(error: type[RegistryError], call, *args) -> RegistryError:
    with pytest.raises(error) as caught:
        call(*args)
    assert type(caught.value) is error
    return caught.value


NOTHING = entries()
ONE = entries((1, PRIMARY, 100))
WITH_SHADOW = entries((1, PRIMARY, 100), (4, SHADOW, 0))
CANARY_RUNNING = entries((1, PRIMARY, 90), (2, CANARY, 10), (4, SHADOW, 0))

# (rule, entries before, arguments) -> entries after, or the error and what it says
CHANGES = [
    # blue-green
    (rules.deploy, NOTHING, (2,), [(2, "PRIMARY", 100)]),
    (rules.deploy, ONE, (2,), [(2, "PRIMARY", 100)]),
    (rules.deploy, WITH_SHADOW, (2,), [(2, "PRIMARY", 100), (4, "SHADOW", 0)]),
    (rules.deploy, WITH_SHADOW, (4,), [(4, "PRIMARY", 100)]),  # a shadow taking all the traffic stops shadowing
    (rules.deploy, CANARY_RUNNING, (1,), [(1, "PRIMARY", 100), (4, "SHADOW", 0)]),  # ends the canary
    (rules.deploy, CANARY_RUNNING, (2,), [(2, "PRIMARY", 100), (4, "SHADOW", 0)]),
    (rules.deploy, ONE, (1,), (FailedPrecondition, "version 1 already serves all the traffic here")),
    # canaries
    (rules.start_canary, WITH_SHADOW, (2, 10), [(1, "PRIMARY", 90), (2, "CANARY", 10), (4, "SHADOW", 0)]),
    (rules.start_canary, WITH_SHADOW, (4, 1), [(1, "PRIMARY", 99), (4, "CANARY", 1)]),
    (rules.start_canary, ONE, (2, 99), [(1, "PRIMARY", 1), (2, "CANARY", 99)]),
    (rules.start_canary, NOTHING, (2, 10),
     (FailedPrecondition, "nothing is deployed here yet: deploy a version before starting a canary")),
    (rules.start_canary, NOTHING, (2, 0), (FailedPrecondition, "nothing is deployed here yet")),  # before the percent
    (rules.start_canary, CANARY_RUNNING, (3, 10), (FailedPrecondition, "a canary is running: promote or abort it")),
    (rules.start_canary, ONE, (1, 10), (FailedPrecondition, "version 1 is the primary already")),
    (rules.start_canary, ONE, (2, 0), (BadUserInput, "percent must be 1-99: 0 is abortCanary, 100 is promoteCanary")),
    (rules.start_canary, ONE, (2, 100), (BadUserInput, "percent must be 1-99")),
    (rules.set_canary_traffic, CANARY_RUNNING, (50,), [(1, "PRIMARY", 50), (2, "CANARY", 50), (4, "SHADOW", 0)]),
    (rules.set_canary_traffic, CANARY_RUNNING, (99,), [(1, "PRIMARY", 1), (2, "CANARY", 99), (4, "SHADOW", 0)]),
    (rules.set_canary_traffic, CANARY_RUNNING, (0,), (BadUserInput, "percent must be 1-99")),
    (rules.set_canary_traffic, ONE, (50,), (FailedPrecondition, "no canary is running here")),
    (rules.set_canary_traffic, NOTHING, (0,), (FailedPrecondition, "no canary is running here")),
    (rules.promote_canary, CANARY_RUNNING, (), [(2, "PRIMARY", 100), (4, "SHADOW", 0)]),
    (rules.promote_canary, ONE, (), (FailedPrecondition, "no canary is running here")),
    (rules.abort_canary, CANARY_RUNNING, (), [(1, "PRIMARY", 100), (4, "SHADOW", 0)]),
    (rules.abort_canary, ONE, (), (FailedPrecondition, "no canary is running here")),
    (rules.abort_canary, NOTHING, (), (FailedPrecondition, "no canary is running here")),
    # shadows
    (rules.add_shadow, NOTHING, (4,), [(4, "SHADOW", 0)]),
    (rules.add_shadow, ONE, (4,), [(1, "PRIMARY", 100), (4, "SHADOW", 0)]),
    (rules.add_shadow, WITH_SHADOW, (5,), [(1, "PRIMARY", 100), (4, "SHADOW", 0), (5, "SHADOW", 0)]),
    (rules.add_shadow, WITH_SHADOW, (4,), (FailedPrecondition, "version 4 is in this deployment already")),
    (rules.add_shadow, CANARY_RUNNING, (2,), (FailedPrecondition, "version 2 is in this deployment already")),
    (rules.remove_shadow, WITH_SHADOW, (4,), [(1, "PRIMARY", 100)]),
    (rules.remove_shadow, CANARY_RUNNING, (4,), [(1, "PRIMARY", 90), (2, "CANARY", 10)]),
    (rules.remove_shadow, WITH_SHADOW, (1,), (FailedPrecondition, "version 1 is not a shadow here")),
    (rules.remove_shadow, ONE, (5,), (FailedPrecondition, "version 5 is not a shadow here")),
]
NAME_A_VERSION = (rules.deploy, rules.start_canary, rules.add_shadow, rules.remove_shadow)


@pytest.mark.parametrize("rule,before,args,after", CHANGES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CHANGES)])
def test_changes(rule, before, args, after):
    # the rules that name a version take its id and number; the arguments list the number only
    call_args = (before, 100 + args[0], args[0], *args[1:]) if rule in NAME_A_VERSION else (before, *args)
    if isinstance(after, tuple):
        error, says = after
        assert refused(error, rule, *call_args).message.startswith(says)
        return
    result = rule(*call_args)
    assert shape(result) == after
    rules.check_entries(result)  # every change keeps the invariant


@pytest.mark.parametrize("percent,allowed", [(-1, False), (0, False), (1, True), (50, True), (99, True),
                                             (100, False), (101, False)])
def test_canary_percent_bounds(percent, allowed):
    if allowed:
        assert rules.check_percent(percent) == percent
        return
    assert refused(BadUserInput, rules.check_percent, percent).field == "percent"


@pytest.mark.parametrize("spec,says", [
    ((), None),
    (((4, SHADOW, 0),), None),
    (((1, PRIMARY, 100), (4, SHADOW, 0)), None),
    (((1, PRIMARY, 70), (2, CANARY, 30)), None),
    (((1, PRIMARY, 90),), "live traffic sums to 90, not 100"),
    (((1, PRIMARY, 90), (2, CANARY, 20)), "live traffic sums to 110, not 100"),
    (((1, PRIMARY, 100), (1, SHADOW, 0)), "a version appears twice"),
])
def test_the_invariant_of_every_revision(spec, says):
    if says is None:
        rules.check_entries(entries(*spec))
        return
    with pytest.raises(ValueError, match=says):
        rules.check_entries(entries(*spec))


def test_unknown_environments_are_bad_input():
    configured = {"staging": Environment("staging"), "prod": Environment("prod", production=True)}
    assert rules.find_environment(configured, "prod") is configured["prod"]
    error = refused(BadUserInput, rules.find_environment, configured, "x" * 100)
    assert error.field == "environment"
    assert error.message == f"unknown environment {'x' * 64!r}; configured: prod, staging (MODELREG_ENVIRONMENTS)"


READY, PENDING, FAILED = VersionStatus.READY, VersionStatus.PENDING_REGISTRATION, VersionStatus.FAILED_REGISTRATION


@pytest.mark.parametrize("status", list(VersionStatus))
@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("production", [False, True])
def test_what_an_environment_serves(status, stage, production):
    environment = Environment("prod" if production else "dev", production=production)
    candidate = version(3, stage, status)
    if status is not READY:
        error = refused(FailedPrecondition, rules.check_servable, candidate, environment)
        assert (error.message, error.field) == (f"version 3 of 'm' is {status.value}, not READY", "version")
    elif production and stage is not Stage.PRODUCTION:
        error = refused(FailedPrecondition, rules.check_servable, candidate, environment)
        assert (error.message, error.field) == (
            f"'prod' serves only versions in PRODUCTION; version 3 of 'm' is in {stage.value}", "version")
    else:
        rules.check_servable(candidate, environment)


@pytest.mark.parametrize("action", list(DeploymentAction))
def test_a_version_may_always_leave(action):
    unservable = version(3, Stage.STAGING, FAILED)
    if action is DeploymentAction.REMOVE_SHADOW:
        rules.check_named_version(action, unservable, Environment("prod", production=True))
    else:
        refused(FailedPrecondition, rules.check_named_version, action, unservable, Environment("dev"))
    rules.check_named_version(action, version(3, Stage.PRODUCTION), Environment("prod", production=True))


def revision(number: int, spec: tuple[Entry, ...]) -> Revision:
    return Revision(number, DeploymentAction.DEPLOY, spec, NOW, "olga")


@pytest.mark.parametrize("history,back_to", [
    ([], None),
    ([revision(1, ONE)], None),
    ([revision(2, CANARY_RUNNING), revision(1, ONE)], ONE),
    ([revision(3, ONE), revision(2, CANARY_RUNNING), revision(1, ONE)], CANARY_RUNNING),  # one step, not to the start
])
def test_a_rollback_goes_back_one_revision(history, back_to):
    if back_to is None:
        assert refused(FailedPrecondition, rules.rollback_entries, history, "m", "prod").message == (
            "'m' has no earlier deployment in 'prod' to roll back to")
        return
    assert rules.rollback_entries(history, "m", "prod") == back_to


@pytest.mark.parametrize("existing,says", [
    ({1: version(1), 2: version(2), 4: version(4)}, None),
    ({1: version(1), 4: version(4)}, "cannot roll back: version 2 of 'm' no longer exists; deploy one that does"),
    # stages are check_follows_stages' business (tests/domain/test_deployment_stages.py)
    ({1: version(1), 2: version(2, Stage.ARCHIVED), 4: version(4)}, None),
    ({1: version(1), 2: version(2), 4: version(4, status=PENDING)}, "version 4 of 'm' is PENDING_REGISTRATION"),
])
def test_a_rollback_restores_only_what_is_still_servable(existing, says):
    found = {v.id: v for v in existing.values()}
    environment = Environment("prod", production=True)
    if says is None:
        rules.check_still_servable(CANARY_RUNNING, found, environment, "m")
        return
    assert refused(FailedPrecondition, rules.check_still_servable, CANARY_RUNNING, found, environment, "m") \
        .message.startswith(says)


@pytest.mark.parametrize("before,after,joined", [
    (NOTHING, ONE, [101]),
    (ONE, ONE, []),
    (CANARY_RUNNING, ONE, []),
    (ONE, entries((5, PRIMARY, 100), (2, SHADOW, 0), (1, SHADOW, 0)), [102, 105]),
])
def test_which_versions_join_a_deployment(before, after, joined):
    assert rules.joined_versions(before, after) == joined
