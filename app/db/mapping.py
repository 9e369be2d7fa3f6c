"""Row-to-entity conversion, the one place where table rows become domain objects."""

from __future__ import annotations

from typing import cast

from app.domain.entities import (
    ArtifactRef,
    CodeRef,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    RegulatoryStatus,
    RiskTier,
    RunRef,
    Stage,
    TrackerKind,
    VersionStatus,
)

from .tables import AliasRow, ModelRow, VersionRow


def to_model(row: ModelRow) -> RegisteredModel:
    return RegisteredModel(
        id=row.id,
        name=row.name,
        description=row.description,
        owner=row.owner,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        use_case=row.use_case,
        risk_tier=RiskTier(row.risk_tier) if row.risk_tier else None,
        regulatory_status=RegulatoryStatus(row.regulatory_status) if row.regulatory_status else None,
    )


def to_version(row: VersionRow, model_name: str) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        model_id=row.model_id,
        model_name=model_name,
        version=row.version,
        status=VersionStatus(row.status),
        stage=Stage(row.stage),
        description=row.description,
        flavor=row.flavor,
        signature=row.signature,
        run=RunRef(TrackerKind(row.run_tracker), row.run_id, row.run_uri) if row.run_id else None,
        # written together (NewVersion.code): a commit comes with its repository
        code=CodeRef(cast(str, row.code_repository_url), row.code_commit_sha) if row.code_commit_sha else None,
        artifact=ArtifactRef(row.artifact_uri, row.artifact_digest, row.artifact_size) if row.artifact_uri else None,
        params=dict(row.params or {}),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        status_message=row.status_message,
    )


def to_alias(row: AliasRow, model_name: str, version: int) -> ModelAlias:
    return ModelAlias(
        model_id=row.model_id,
        model_name=model_name,
        alias=row.alias,
        version=version,
        version_id=row.version_id,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )
