"""Tables of governed promotion (transition requests, decisions, stage history, documents) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, IdType, UTCDateTime


class TransitionRequestRow(Base):
    """A request to move a version to a stage (kind STAGE) or a protected alias to a version (kind ALIAS)."""

    __tablename__ = "transition_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_stage: Mapped[str] = mapped_column(String(32))
    to_stage: Mapped[str | None] = mapped_column(String(32))
    alias: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(256), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    required_approvals: Mapped[int] = mapped_column(Integer)
    archive_existing_production: Mapped[bool] = mapped_column(Boolean)
    # [{gate, passed, detail}] as last checked (at the request, then when it applied or failed to).
    gate_results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(256))
    resolution_comment: Mapped[str | None] = mapped_column(Text)
    # PRODUCTION requests: the version numbers in PRODUCTION when the request was made (or last approved while
    # APPROVED), which applying it replaces; NULL for other requests and for those made before revision 0008.
    production_versions: Mapped[list[int] | None] = mapped_column(JSON)
    # Approvals required from members of named groups, as the promotion policy said when the request was made:
    # [[group, count], ...]; NULL when none (and for requests made before revision 0012).
    required_groups: Mapped[list[list[Any]] | None] = mapped_column(JSON)


class TransitionDecisionRow(Base):
    """One approver's approval or rejection of a request; each approver decides once."""

    __tablename__ = "transition_decisions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("transition_requests.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(256))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The approver's groups (token groups claim) that the request's required_groups name, when they decided.
    approver_groups: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("request_id", "approver"),)


class StageChangeRow(Base):
    """Every stage move of a version (by version number, so the history outlives a deleted version)."""

    __tablename__ = "model_stage_changes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_model_stage_changes_model_id_changed_at", "model_id", "changed_at"),
        Index("ix_model_stage_changes_model_id_version", "model_id", "version"),
    )


class DocumentRow(Base):
    """A document attached to a version: Markdown text or stored artifact content, never changed afterwards."""

    __tablename__ = "model_documents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer)
    markdown: Mapped[str | None] = mapped_column(Text)
    artifact_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(256))

    __table_args__ = (UniqueConstraint("version_id", "kind", "title", "revision"),)


class AuditEventRow(Base):
    """One audit event. Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE on PostgreSQL); ``hash`` is
    the sha256 of the event's canonical JSON, which includes ``prev_hash`` (docs/audit.md)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_subject: Mapped[str] = mapped_column(String(256), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_roles: Mapped[str] = mapped_column(Text)  # canonical JSON list
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64), index=True)
    target_id: Mapped[str | None] = mapped_column(String(128))
    target_name: Mapped[str | None] = mapped_column(String(256), index=True)
    target_version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def id(self) -> int:
        """What keyset pagination reads as the row's id."""
        return self.seq
