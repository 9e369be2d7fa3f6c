"""Registry entities as plain dataclasses. Repositories hand these out; nothing here touches storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any


class Stage(str, Enum):
    """Lifecycle stage of a model version."""

    NONE = "NONE"
    STAGING = "STAGING"
    PRODUCTION = "PRODUCTION"
    ARCHIVED = "ARCHIVED"


class VersionStatus(str, Enum):
    """Registration status of a model version."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    READY = "READY"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"


class TrackerKind(str, Enum):
    """Experiment tracker that produced a run."""

    MLFLOW = "MLFLOW"
    WANDB = "WANDB"
    SAGEMAKER = "SAGEMAKER"
    OTHER = "OTHER"


class RiskTier(str, Enum):
    """How much harm a model's failure could do (business metadata)."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class RegulatoryStatus(str, Enum):
    """Where a model stands with regulation (business metadata)."""

    NOT_ASSESSED = "NOT_ASSESSED"
    NOT_REGULATED = "NOT_REGULATED"
    UNDER_REVIEW = "UNDER_REVIEW"
    APPROVED = "APPROVED"
    RESTRICTED = "RESTRICTED"


@dataclass(frozen=True)
class Metric:
    """One measured value of a version; several per name are allowed (per dataset or step)."""

    name: str
    value: float
    dataset: str | None = None
    step: int | None = None


@dataclass(frozen=True)
class RunRef:
    """The experiment run that produced a version."""

    tracker: TrackerKind
    run_id: str
    run_uri: str | None = None


@dataclass(frozen=True)
class CodeRef:
    """The source code a version was built from."""

    repository_url: str
    commit_sha: str


@dataclass(frozen=True)
class ArtifactRef:
    """Where a version's files live and how to verify them."""

    uri: str
    digest: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """A named model; its versions hang below it."""

    id: int
    name: str
    description: str | None
    owner: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    use_case: str | None = None
    risk_tier: RiskTier | None = None
    regulatory_status: RegulatoryStatus | None = None


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model."""

    id: int
    model_id: int
    model_name: str
    version: int
    status: VersionStatus
    stage: Stage
    description: str | None
    flavor: str | None
    signature: dict[str, Any] | None
    run: RunRef | None
    code: CodeRef | None
    artifact: ArtifactRef | None
    params: dict[str, str]
    created_at: datetime
    created_by: str
    updated_at: datetime
    status_message: str | None = None


@dataclass(frozen=True)
class ModelAlias:
    """A per-model name (``champion``) pointing at one version."""

    model_id: int
    model_name: str
    alias: str
    version: int
    version_id: int
    updated_at: datetime
    updated_by: str
