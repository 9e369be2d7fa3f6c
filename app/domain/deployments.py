"""Deployments: which versions of a model an environment serves, with what share of traffic (docs/deployments.md).

A deployment is (model, environment) with entries of version, traffic percent and role. PRIMARY and CANARY
entries split the live traffic (their percents sum to 100); SHADOW entries get a mirrored copy (0 percent).
Every change makes a new revision; the functions here compute the next entries and refuse impossible moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .errors import BadUserInput, FailedPrecondition


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


def check_entries(entries: tuple[Entry, ...]) -> None:
    """The invariant every revision keeps: live traffic sums to 100 (or nothing is live), versions appear once."""
    live = [entry for entry in entries if entry.role is not DeploymentRole.SHADOW]
    if live and sum(entry.traffic_percent for entry in live) != 100:
        raise ValueError(f"live traffic sums to {sum(e.traffic_percent for e in live)}, not 100")
    if len({entry.version_id for entry in entries}) != len(entries):
        raise ValueError("a version appears twice")
