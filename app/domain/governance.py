"""Governed promotion: the stage machine, transition requests and their approvals, gates, documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .entities import Stage
from .errors import FailedPrecondition
from .public_ids import global_id

# The stage machine: where a version may go from each stage. Rollback is the one path outside it.
MOVES: dict[Stage, tuple[Stage, ...]] = {
    Stage.NONE: (Stage.STAGING, Stage.ARCHIVED),
    Stage.STAGING: (Stage.PRODUCTION, Stage.ARCHIVED),
    Stage.PRODUCTION: (Stage.STAGING, Stage.ARCHIVED),
    Stage.ARCHIVED: (Stage.STAGING,),
}
COMMENT_MAX = 5000
TITLE_MAX = 200
MARKDOWN_MAX = 1_000_000


def check_move(current: Stage, target: Stage, what: str = "the version") -> None:
    """FAILED_PRECONDITION naming the allowed moves unless ``current -> target`` is one."""
    if target not in MOVES[current]:
        allowed = ", ".join(f"{current.value} -> {stage.value}" for stage in MOVES[current])
        raise FailedPrecondition(
            f"{what} is in {current.value} and cannot move to {target.value}; allowed from {current.value}: {allowed}"
        )


class TransitionKind(str, Enum):
    STAGE = "STAGE"  # move the version to another stage
    ALIAS = "ALIAS"  # point a protected alias at the version


class TransitionStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"  # approvals complete, but a check failed when it was to apply
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    APPLIED = "APPLIED"


OPEN_STATUSES = (TransitionStatus.PENDING, TransitionStatus.APPROVED)


class Decision(str, Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


class DocumentKind(str, Enum):
    MODEL_CARD = "MODEL_CARD"
    BIAS_AUDIT = "BIAS_AUDIT"
    EVALUATION_REPORT = "EVALUATION_REPORT"
    REGULATORY_CERTIFICATE = "REGULATORY_CERTIFICATE"
    OTHER = "OTHER"


@dataclass(frozen=True)
class GateResult:
    """One gate of the promotion policy checked against a version."""

    gate: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Approval:
    """One approver's decision on a request (``id``: its own key, ``request_id``: the request's)."""

    id: int
    request_id: int
    approver: str
    decision: Decision
    comment: str | None
    decided_at: datetime
    # The approver's groups (token ``groups`` claim) that the request's group requirements name, as they were when
    # the approver decided: what the approval counted for (empty when the request names no group).
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupApprovals:
    """One group requirement of a request: approvals from members of ``group`` required, and given so far."""

    group: str
    required: int
    approvals: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.approvals)


@dataclass(frozen=True)
class TransitionRequest:
    id: int
    model_id: int
    model_name: str
    version_id: int
    version: int
    kind: TransitionKind
    from_stage: Stage
    to_stage: Stage | None
    alias: str | None
    status: TransitionStatus
    requested_by: str
    requested_at: datetime
    comment: str | None
    required_approvals: int
    archive_existing_production: bool
    gate_results: tuple[GateResult, ...]
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_comment: str | None = None
    # PRODUCTION requests: the versions in PRODUCTION that applying the request replaces, as the requester (or the
    # last approver of an APPROVED request) saw them; None for other requests.
    production_versions: tuple[int, ...] | None = None
    # Approvals required from members of named groups, as the promotion policy said when the request was made:
    # ((group, count), ...); among ``required_approvals``.
    required_groups: tuple[tuple[str, int], ...] = ()

    @property
    def public_id(self) -> str:
        """The id the API hands out for this request: what messages name it by."""
        return request_public_id(self.id)

    @property
    def target(self) -> str:
        if self.kind is TransitionKind.ALIAS:
            return f"@{self.alias}"
        assert self.to_stage is not None, "a STAGE request names its target stage"
        return str(self.to_stage.value)


def request_public_id(key: int) -> str:
    """The global id of transition request ``key``, never its row number, for messages."""
    return global_id("TransitionRequest", key)


@dataclass(frozen=True)
class NewTransition:
    """What a requester asks for (validated by the service against the machine and the policy)."""

    kind: TransitionKind
    to_stage: Stage | None = None
    alias: str | None = None
    comment: str | None = None
    archive_existing_production: bool = True


@dataclass(frozen=True)
class StageChange:
    """One move of a version between stages, kept for ``stageHistory`` and ``stageAt`` (``id``: its key once
    stored, None before)."""

    model_id: int
    model_name: str
    version: int
    from_stage: Stage
    to_stage: Stage
    changed_at: datetime
    changed_by: str
    reason: str | None
    request_id: int | None
    id: int | None = None


@dataclass(frozen=True)
class VersionAt:
    """A version number that held a stage or alias at some time, since when, and who put it there."""

    version: int
    since: datetime
    by: str


@dataclass(frozen=True)
class Document:
    """An immutable document attached to a version; attaching the same kind and title again adds a revision."""

    id: int
    version_id: int
    kind: DocumentKind
    title: str
    revision: int
    markdown: str | None
    artifact_digest: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class NewDocument:
    kind: DocumentKind
    title: str
    markdown: str | None = None
    artifact_digest: str | None = None


def failed_gates_message(what: str, results: tuple[GateResult, ...] | list[GateResult]) -> str:
    failed = [result for result in results if not result.passed]
    listed = "; ".join(f"{result.gate}: {result.detail}" for result in failed)
    return f"{what}: {len(failed)} gate(s) failed: {listed}"


@dataclass(frozen=True)
class TransitionFilter:
    """Conditions on transition requests, combined with AND."""

    model_name: str | None = None
    version: int | None = None
    version_id: int | None = None
    statuses: tuple[TransitionStatus, ...] = ()
    requested_by: str | None = None
    to_stage: Stage | None = None
    alias: str | None = None
