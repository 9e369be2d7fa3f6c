"""Row-to-entity conversion, the one place where table rows become domain objects.

A row is an ORM object or a Core row selecting the table's columns under their own names: both are read by
attribute.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Row

from app.domain.entities import (
    ArtifactRef,
    CodeRef,
    Metric,
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
from app.domain.lineage import CodeCommit, Dataset, ExternalNode, NodeKind, NodeRef, Run, RunEnvironment

from .lineage_tables import CodeCommitRow, DatasetRow, ExternalNodeRow, LineageNodeRow, RunRow
from .tables import AliasRow, ModelRow, VersionRow

T = TypeVar("T")

# Enum members by stored value: a dictionary lookup, where calling the enum class costs two Python-level calls
# (a catalogue page converts some 300 of them).
_STAGES = {member.value: member for member in Stage}
_STATUSES = {member.value: member for member in VersionStatus}


def frozen_builder(cls: type[T]) -> Callable[..., T]:
    """A constructor of frozen dataclass ``cls`` taking every field by keyword: what ``cls(**fields)`` builds, without
    the ``object.__setattr__`` per field that a frozen dataclass's ``__init__`` pays (a page builds 500 metrics and
    100 models, versions and aliases each: 5% of its CPU). Only for classes with a ``__dict__`` and no
    ``__post_init__``; callers pass every field, which tests/db/test_mapping.py checks for each one."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} is not a plain frozen dataclass")
    new = object.__new__

    def build(**fields: Any) -> T:
        instance = new(cls)
        instance.__dict__.update(fields)
        return instance

    return build


_new_model = frozen_builder(RegisteredModel)
_new_version = frozen_builder(ModelVersion)
_new_alias = frozen_builder(ModelAlias)
new_metric = frozen_builder(Metric)


def to_model(row: ModelRow | Row[Any]) -> RegisteredModel:
    return _new_model(
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


def to_version(row: VersionRow | Row[Any], model_name: str) -> ModelVersion:
    return _new_version(
        id=row.id,
        model_id=row.model_id,
        model_name=model_name,
        version=row.version,
        status=_STATUSES[row.status],
        stage=_STAGES[row.stage],
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


class AliasFields(Protocol):
    """What an alias is built from: its row, or the values of one read by name."""

    @property
    def model_id(self) -> int: ...
    @property
    def alias(self) -> str: ...
    @property
    def version_id(self) -> int: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def updated_by(self) -> str: ...


def to_alias(row: AliasFields | AliasRow | Row[Any], model_name: str, version: int) -> ModelAlias:
    return _new_alias(
        model_id=row.model_id,
        model_name=model_name,
        alias=row.alias,
        version=version,
        version_id=row.version_id,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# Lineage nodes: a node row and its kind's detail row make one entity.


def to_dataset(row: DatasetRow, node: LineageNodeRow) -> Dataset:
    return Dataset(
        node.id,
        row.name,
        row.version,
        row.uri,
        row.digest,
        row.format,
        row.size,
        row.row_count,
        row.schema,
        row.source_system,
        node.created_at,
        node.created_by,
    )


def to_run(row: RunRow, node: LineageNodeRow) -> Run:
    return Run(
        node.id,
        TrackerKind(row.tracker),
        row.run_id,
        row.run_uri,
        row.experiment_name,
        dict(row.params or {}),
        dict(row.metrics or {}),
        row.started_at,
        row.ended_at,
        RunEnvironment(row.python_version, row.requirements_digest, row.container_image),
        node.created_at,
        node.created_by,
    )


def to_commit(row: CodeCommitRow, node: LineageNodeRow) -> CodeCommit:
    return CodeCommit(node.id, row.repository_url, row.commit_sha, row.branch, node.created_at, node.created_by)


def to_external(row: ExternalNodeRow, node: LineageNodeRow) -> ExternalNode:
    return ExternalNode(
        node.id, row.name, row.category, row.uri, row.description, row.properties, node.created_at, node.created_by
    )


def ref_of(node_id: int, kind: str, version_id: int | None) -> NodeRef:
    """How the API names a node: versions by their version id, everything else by node id."""
    node_kind = NodeKind(kind)
    # a MODEL_VERSION node always has its version_id
    return NodeRef(node_kind, cast(int, version_id) if node_kind is NodeKind.MODEL_VERSION else node_id)
