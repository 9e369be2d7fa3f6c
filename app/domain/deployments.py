"""Deployments: which versions of a model an environment serves, with what share of traffic (docs/deployments.md).

A deployment is (model, environment) with entries of version, traffic percent and role. PRIMARY and CANARY
entries split the live traffic (their percents sum to 100); SHADOW entries get a mirrored copy (0 percent).
Every change makes a new revision; the functions here compute the next entries and refuse impossible moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .entities import ModelVersion, Stage, VersionStatus
from .errors import BadUserInput, FailedPrecondition
from .queries import Direction, TextMatch


class DeploymentRole(str, Enum):
    PRIMARY = "PRIMARY"
    CANARY = "CANARY"
    SHADOW = "SHADOW"


class DeploymentAction(str, Enum):
    DEPLOY = "DEPLOY"
    START_CANARY = "START_CANARY"
    SET_CANARY_TRAFFIC = "SET_CANARY_TRAFFIC"
    PROMOTE_CANARY = "PROMOTE_CANARY"
    ABORT_CANARY = "ABORT_CANARY"
    ADD_SHADOW = "ADD_SHADOW"
    REMOVE_SHADOW = "REMOVE_SHADOW"
    ROLLBACK = "ROLLBACK"
    UNDEPLOY = "UNDEPLOY"


@dataclass(frozen=True)
class Entry:
    version_id: int
    version: int
    role: DeploymentRole
    traffic_percent: int


@dataclass(frozen=True)
class Deployment:
    id: int
    model_id: int
    model_name: str
    environment: str
    revision: int
    entries: tuple[Entry, ...]
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Revision:
    """One state of a deployment in its history."""

    revision: int
    action: DeploymentAction
    entries: tuple[Entry, ...]
    changed_at: datetime
    changed_by: str


# Listing deployments.


class DeploymentOrderField(str, Enum):
    UPDATED_AT = "UPDATED_AT"
    MODEL_NAME = "MODEL_NAME"
    ENVIRONMENT = "ENVIRONMENT"


@dataclass(frozen=True)
class DeploymentOrder:
    """Newest change first unless asked otherwise (a deployment's creation is its first change)."""

    field: DeploymentOrderField = DeploymentOrderField.UPDATED_AT
    direction: Direction = Direction.DESC


@dataclass(frozen=True)
class DeploymentFilter:
    """Conditions on deployments, combined with AND; ``canary``: True only those running a canary, False only
    those without one, None either."""

    model_name: TextMatch | None = None
    environments: tuple[str, ...] = ()
    canary: bool | None = None


# A revision is identified by its deployment and its number; one integer names both (for global ids): the
# deployment's key times 2**31 plus the revision number (revisions are 32-bit signed integers in the database).
_REVISION_BITS = 31


def revision_key(deployment_id: int, revision: int) -> int:
    return (deployment_id << _REVISION_BITS) | revision


def split_revision_key(key: int) -> tuple[int, int]:
    """The (deployment key, revision number) ``revision_key`` made ``key`` of."""
    return key >> _REVISION_BITS, key & ((1 << _REVISION_BITS) - 1)


@dataclass(frozen=True)
class Environment:
    """A deployment target; ``production`` ones accept only versions in the PRODUCTION stage."""

    name: str
    production: bool = False


def _live(entries: tuple[Entry, ...], role: DeploymentRole) -> Entry | None:
    return next((entry for entry in entries if entry.role is role), None)


def _shadows(entries: tuple[Entry, ...], without: int | None = None) -> tuple[Entry, ...]:
    return tuple(entry for entry in entries if entry.role is DeploymentRole.SHADOW and entry.version_id != without)


def check_percent(percent: int) -> int:
    """A canary's share of live traffic: 1-99 (BAD_USER_INPUT otherwise)."""
    if not 1 <= percent <= 99:
        raise BadUserInput("percent must be 1-99: 0 is abortCanary, 100 is promoteCanary", field="percent")
    return percent


def deploy(entries: tuple[Entry, ...], version_id: int, version: int) -> tuple[Entry, ...]:
    """Blue-green switch: all live traffic to the version at once; shadows stay."""
    primary = _live(entries, DeploymentRole.PRIMARY)
    if primary and primary.version_id == version_id and not _live(entries, DeploymentRole.CANARY):
        raise FailedPrecondition(f"version {version} already serves all the traffic here", field="version")
    return (Entry(version_id, version, DeploymentRole.PRIMARY, 100), *_shadows(entries, version_id))


def start_canary(entries: tuple[Entry, ...], version_id: int, version: int, percent: int) -> tuple[Entry, ...]:
    primary = _live(entries, DeploymentRole.PRIMARY)
    if primary is None:
        raise FailedPrecondition(
            "nothing is deployed here yet: deploy a version before starting a canary", field="version"
        )
    if _live(entries, DeploymentRole.CANARY):
        raise FailedPrecondition("a canary is running: promote or abort it first", field="version")
    if primary.version_id == version_id:
        raise FailedPrecondition(f"version {version} is the primary already", field="version")
    percent = check_percent(percent)
    return (
        Entry(primary.version_id, primary.version, DeploymentRole.PRIMARY, 100 - percent),
        Entry(version_id, version, DeploymentRole.CANARY, percent),
        *_shadows(entries, version_id),
    )


def set_canary_traffic(entries: tuple[Entry, ...], percent: int) -> tuple[Entry, ...]:
    primary, canary = _live(entries, DeploymentRole.PRIMARY), _live(entries, DeploymentRole.CANARY)
    if canary is None or primary is None:
        raise FailedPrecondition("no canary is running here", field="percent")
    percent = check_percent(percent)
    return (
        Entry(primary.version_id, primary.version, DeploymentRole.PRIMARY, 100 - percent),
        Entry(canary.version_id, canary.version, DeploymentRole.CANARY, percent),
        *_shadows(entries),
    )


def promote_canary(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    canary = _live(entries, DeploymentRole.CANARY)
    if canary is None:
        raise FailedPrecondition("no canary is running here")
    return (Entry(canary.version_id, canary.version, DeploymentRole.PRIMARY, 100), *_shadows(entries))


def abort_canary(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    primary, canary = _live(entries, DeploymentRole.PRIMARY), _live(entries, DeploymentRole.CANARY)
    if canary is None or primary is None:
        raise FailedPrecondition("no canary is running here")
    return (Entry(primary.version_id, primary.version, DeploymentRole.PRIMARY, 100), *_shadows(entries))


def add_shadow(entries: tuple[Entry, ...], version_id: int, version: int) -> tuple[Entry, ...]:
    if any(entry.version_id == version_id for entry in entries):
        raise FailedPrecondition(f"version {version} is in this deployment already", field="version")
    return (*entries, Entry(version_id, version, DeploymentRole.SHADOW, 0))


def remove_shadow(entries: tuple[Entry, ...], version_id: int, version: int) -> tuple[Entry, ...]:
    if not any(entry.version_id == version_id for entry in _shadows(entries)):
        raise FailedPrecondition(f"version {version} is not a shadow here", field="version")
    return tuple(entry for entry in entries if entry.version_id != version_id)


def undeploy(entries: tuple[Entry, ...], model_name: str, environment: str) -> tuple[Entry, ...]:
    """Take the model out of the environment: no entries (the deployment and its history stay)."""
    if not entries:
        raise FailedPrecondition(f"{model_name!r} is not deployed in {environment!r}", field="environment")
    return ()


def check_expected_revision(current: int, expected: int | None, model_name: str, environment: str) -> None:
    """A change that names the revision it was decided on (``expected``) happens only while the deployment is
    still at it (``current``: 0 before the first change): a retried or raced change refuses instead of acting
    twice. None: no such condition."""
    if expected is not None and expected != current:
        raise FailedPrecondition(
            f"{model_name!r} in {environment!r} is at revision {current} now, not {expected}: it changed since you "
            "read it (a retry, or someone else); read it again and decide",
            field="expectedRevision",
        )


def check_entries(entries: tuple[Entry, ...]) -> None:
    """The invariant every revision keeps: live traffic sums to 100 (or nothing is live), versions appear once."""
    live = [entry for entry in entries if entry.role is not DeploymentRole.SHADOW]
    if live and sum(entry.traffic_percent for entry in live) != 100:
        raise ValueError(f"live traffic sums to {sum(e.traffic_percent for e in live)}, not 100")
    if len({entry.version_id for entry in entries}) != len(entries):
        raise ValueError("a version appears twice")


# What may be deployed where, and what a rollback goes back to.


def find_environment(environments: Mapping[str, Environment], name: str) -> Environment:
    """The configured environment of that name; BAD_USER_INPUT listing the configured ones otherwise."""
    if name not in environments:
        raise BadUserInput(
            f"unknown environment {name[:64]!r}; configured: {', '.join(sorted(environments))} (MODELREG_ENVIRONMENTS)",
            field="environment",
        )
    return environments[name]


def check_servable(version: ModelVersion, environment: Environment) -> None:
    """FAILED_PRECONDITION unless the environment may serve the version: it is READY, and a production
    environment serves only versions in the PRODUCTION stage."""
    if version.status is not VersionStatus.READY:
        raise FailedPrecondition(
            f"version {version.version} of {version.model_name!r} is {version.status.value}, not READY",
            field="version",
        )
    if environment.production and version.stage is not Stage.PRODUCTION:
        raise FailedPrecondition(
            f"{environment.name!r} serves only versions in PRODUCTION; version "
            f"{version.version} of {version.model_name!r} is in {version.stage.value}",
            field="version",
        )


def check_named_version(action: DeploymentAction, version: ModelVersion, environment: Environment) -> None:
    """The version a change names must be servable there (``check_servable``), unless the change takes it out
    (REMOVE_SHADOW): a version that stopped being servable can always leave."""
    if action is not DeploymentAction.REMOVE_SHADOW:
        check_servable(version, environment)


def rollback_entries(history: Sequence[Revision], model_name: str, environment: str) -> tuple[Entry, ...]:
    """The entries of the revision before the current one (``history``: newest first); FAILED_PRECONDITION when
    there is none."""
    if len(history) < 2:
        raise FailedPrecondition(f"{model_name!r} has no earlier deployment in {environment!r} to roll back to")
    return history[1].entries


def check_still_servable(
    entries: tuple[Entry, ...], versions: Mapping[int, ModelVersion], environment: Environment, model_name: str
) -> None:
    """FAILED_PRECONDITION unless every version of the entries a rollback restores still exists (``versions``: by
    id) and is READY. Whether the stages allow the traffic it gives is ``check_follows_stages``."""
    for entry in entries:
        if entry.version_id not in versions:
            raise FailedPrecondition(
                f"cannot roll back: version {entry.version} of {model_name!r} no longer exists; deploy one that does"
            )
        if versions[entry.version_id].status is not VersionStatus.READY:
            check_servable(versions[entry.version_id], environment)


# Stages and serving (docs/deployments.md, "Stages and serving").


def _live_percent(entries: tuple[Entry, ...], version_id: int) -> int:
    return sum(e.traffic_percent for e in entries if e.version_id == version_id and e.role is not DeploymentRole.SHADOW)


def gaining(before: tuple[Entry, ...], after: tuple[Entry, ...]) -> list[Entry]:
    """The entries of ``after`` that a change gives something: a version new to the deployment (in any role), or
    one with more live traffic than before."""
    present = {entry.version_id for entry in before}
    return [
        entry
        for entry in after
        if entry.version_id not in present
        or (entry.role is not DeploymentRole.SHADOW and entry.traffic_percent > _live_percent(before, entry.version_id))
    ]


def check_follows_stages(
    before: tuple[Entry, ...],
    after: tuple[Entry, ...],
    versions: Mapping[int, ModelVersion],
    environment: Environment,
    model_name: str,
) -> None:
    """Rule 2: in a production environment a change gives traffic (or a place, for a shadow) only to the version
    in PRODUCTION. Versions that left PRODUCTION keep what they serve and may lose it, never gain it.
    ``versions``: by id, at least those of ``after``. FAILED_PRECONDITION in one line saying what to do instead."""
    if not environment.production:
        return
    for entry in gaining(before, after):
        version = versions[entry.version_id]
        if version.stage is Stage.PRODUCTION:
            continue
        raise FailedPrecondition(
            f"version {entry.version} of {model_name!r} is in {version.stage.value} and this change would give it "
            f"traffic in {environment.name!r}, which moves traffic only towards the version in PRODUCTION: "
            "promote or deploy the PRODUCTION version, or rollbackProduction to put a replaced version back "
            "(its traffic follows)"
        )


def follow_production_rollback(
    entries: tuple[Entry, ...], archived_id: int, restored_id: int, restored: int
) -> tuple[Entry, ...] | None:
    """Rule 3: when rollbackProduction archives a version, a production environment giving it live traffic gives
    all of it to the restored version (a canary ends); shadows stay, the restored one's aside. None: the archived
    version has no live traffic there, so nothing changes."""
    if not _live_percent(entries, archived_id):
        return None
    return (Entry(restored_id, restored, DeploymentRole.PRIMARY, 100), *_shadows(entries, restored_id))


def joined_versions(before: tuple[Entry, ...], after: tuple[Entry, ...]) -> list[int]:
    """The ids of the versions a change adds to the deployment (in any role), in ascending order."""
    return sorted({entry.version_id for entry in after} - {entry.version_id for entry in before})
