"""SQLAlchemy table mappings. Rows never leave ``app.db``: repositories convert them to domain entities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect, processors
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Binary collation on PostgreSQL makes name ordering and prefix ranges behave as on SQLite.
NameType = String(256).with_variant(String(256, collation="C"), "postgresql")
# Tag values are indexed by their first characters only, so long values never hit index size limits.
TAG_VALUE_INDEX_PREFIX = 200


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC, a naive one taken as UTC. ``combine`` rather than ``replace(tzinfo=UTC)``: a third of the
    cost (0.43 us against 1.6 here), the same datetime."""
    if value.tzinfo is None:
        return datetime.combine(value, value.time(), UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)

    def fused_result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None]:
        """What SQLAlchemy's result processor for this type computes, as one function: the driver's conversion (on
        SQLite, text to a naive datetime), then UTC. For prepared reads (app/db/prepared.py), which convert hundreds
        of values per page; SQLAlchemy's own path keeps its processor. SQLite's text is read with its UTC offset
        appended, which costs less than setting the zone after the parse."""
        from_driver = cast(TypeDecorator[Any], self.dialect_impl(dialect)).impl_instance.result_processor(
            dialect, coltype
        )
        iso_text = from_driver is processors.str_to_datetime

        def convert(value: Any) -> datetime | None:
            if value is None:
                return None
            if iso_text and type(value) is str:
                try:
                    parsed = datetime.fromisoformat(value + "+00:00")
                except ValueError:  # not naive ISO text: SQLAlchemy's conversion below says what it is
                    pass
                else:
                    if parsed.tzinfo is not None:  # a date alone ignores the offset: the general path makes it UTC
                        return parsed
            return as_utc(cast(datetime, from_driver(value)) if from_driver is not None else value)

        return convert


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


IdType = BigInteger().with_variant(Integer, "sqlite")


class ModelRow(Base):
    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NameType, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(256), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(256), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The next version number to hand out; bumped in the creating transaction, so numbers have no gaps.
    next_version: Mapped[int] = mapped_column(Integer, default=1)
    # Business metadata (docs/governance.md).
    use_case: Mapped[str | None] = mapped_column(Text)
    risk_tier: Mapped[str | None] = mapped_column(String(16), index=True)
    regulatory_status: Mapped[str | None] = mapped_column(String(32), index=True)


class ModelTagRow(Base):
    __tablename__ = "registered_model_tags"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_registered_model_tags_key_value", "key", func.substr(value, 1, TAG_VALUE_INDEX_PREFIX)),
    )


class VersionRow(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    flavor: Mapped[str | None] = mapped_column(String(100))
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    run_tracker: Mapped[str | None] = mapped_column(String(32))
    run_id: Mapped[str | None] = mapped_column(String(256), index=True)
    run_uri: Mapped[str | None] = mapped_column(Text)
    code_repository_url: Mapped[str | None] = mapped_column(Text)
    code_commit_sha: Mapped[str | None] = mapped_column(String(64), index=True)
    artifact_uri: Mapped[str | None] = mapped_column(Text)
    artifact_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    artifact_size: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Why registration failed, or what it waits for while PENDING_REGISTRATION.
    status_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(256), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Index("ix_model_versions_model_id_stage_version", "model_id", "stage", "version"),
        # The last line of defence behind the model row lock: at most one PRODUCTION version per model.
        Index(
            "uq_model_versions_one_production",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'PRODUCTION'"),
            postgresql_where=text("stage = 'PRODUCTION'"),
        ),
    )


class VersionTagRow(Base):
    __tablename__ = "model_version_tags"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_model_version_tags_key_value", "key", func.substr(value, 1, TAG_VALUE_INDEX_PREFIX)),)


class MetricRow(Base):
    __tablename__ = "model_version_metrics"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    dataset: Mapped[str | None] = mapped_column(String(500))
    step: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_model_version_metrics_name_value", "name", "value"),
        # Per-version lookups (threshold filters and metric ordering are correlated on version_id): without it
        # SQLite walks the (name, value) index once per version.
        Index("ix_model_version_metrics_version_id_name_value", "version_id", "name", "value"),
    )


class AliasRow(Base):
    __tablename__ = "model_aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    # RESTRICT: a version that carries an alias cannot disappear underneath it.
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(256))


class AliasChangeRow(Base):
    """Every move or removal of an alias, so the history of ``@champion`` can be told."""

    __tablename__ = "model_alias_changes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ix_model_alias_changes_model_id_alias_changed_at", "model_id", "alias", "changed_at"),)


class VersionFileRow(Base):
    """One file of a version's manifest. ``upload_id`` is set while its staged bytes await verification."""

    __tablename__ = "model_version_files"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(80), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(255))
    upload_id: Mapped[str | None] = mapped_column(String(64))


class VersionSourceRow(Base):
    """Where a version registered with a ``source`` (an MLflow model, an HTTP or local directory) copies its files
    from; ``copied_at`` is set once they are stored (the version is READY). A version whose source could not be
    listed has no row: its artifact URI is the external reference."""

    __tablename__ = "model_version_sources"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    uri: Mapped[str] = mapped_column(Text)
    copied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UploadRow(Base):
    """A staged upload handed out to a client; used by at most one version."""

    __tablename__ = "artifact_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))


class DownloadRow(Base):
    """A download of a PRODUCTION version's file, kept for the audit trail."""

    __tablename__ = "artifact_downloads"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    path: Mapped[str | None] = mapped_column(String(1024))
    subject: Mapped[str] = mapped_column(String(256))
    subject_kind: Mapped[str] = mapped_column(String(16))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))


from . import deployment_tables, event_tables, governance_tables, idempotency_tables, import_tables, lineage_tables  # noqa: E402, F401  (shared metadata)
