"""Tables of the lineage graph: one row per node (any kind), a detail table per kind, and the edges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime

UriType = String(2000)


class LineageNodeRow(Base):
    """Every node of the graph; version nodes point at their version (created when first linked)."""

    __tablename__ = "lineage_nodes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(256))


def _node_key() -> Mapped[int]:
    return mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True)


class DatasetRow(Base):
    __tablename__ = "lineage_datasets"

    node_id: Mapped[int] = _node_key()
    name: Mapped[str] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(200))
    uri: Mapped[str | None] = mapped_column(UriType)
    digest: Mapped[str | None] = mapped_column(String(80), index=True)
    format: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    schema: Mapped[Any | None] = mapped_column(JSON)
    source_system: Mapped[str | None] = mapped_column(String(100), index=True)

    __table_args__ = (
        UniqueConstraint("name", "version"),
        # Datasets without a version are identified by their content.
        Index(
            "uq_lineage_datasets_unversioned_digest",
            "digest",
            unique=True,
            sqlite_where=text("version IS NULL"),
            postgresql_where=text("version IS NULL"),
        ),
    )


class RunRow(Base):
    __tablename__ = "lineage_runs"

    node_id: Mapped[int] = _node_key()
    tracker: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(256))
    run_uri: Mapped[str | None] = mapped_column(UriType)
    experiment_name: Mapped[str | None] = mapped_column(String(500), index=True)
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    python_version: Mapped[str | None] = mapped_column(String(50))
    requirements_digest: Mapped[str | None] = mapped_column(String(80))
    container_image: Mapped[str | None] = mapped_column(UriType)

    __table_args__ = (UniqueConstraint("tracker", "run_id"),)


class CodeCommitRow(Base):
    __tablename__ = "lineage_code_commits"

    node_id: Mapped[int] = _node_key()
    repository_url: Mapped[str] = mapped_column(UriType)
    commit_sha: Mapped[str] = mapped_column(String(64), index=True)
    branch: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("repository_url", "commit_sha"),)


class ExternalNodeRow(Base):
    __tablename__ = "lineage_external_nodes"

    node_id: Mapped[int] = _node_key()
    name: Mapped[str] = mapped_column(String(500), unique=True)
    category: Mapped[str | None] = mapped_column(String(100))
    uri: Mapped[str | None] = mapped_column(UriType)
    description: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[Any | None] = mapped_column(JSON)


class LineageEdgeRow(Base):
    """An edge from upstream (source) to downstream (target). Walks use the unique index downstream and the
    (target_id, kind) index upstream."""

    __tablename__ = "lineage_edges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("lineage_nodes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    relation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(256))

    __table_args__ = (
        UniqueConstraint("source_id", "kind", "target_id"),
        Index("ix_lineage_edges_target_id_kind_source_id", "target_id", "kind", "source_id"),
    )
