"""Model versions, their tags and metrics."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from app.domain.artifacts import ArtifactFile, StagedFile
from app.domain.commands import NewVersion, VersionChanges
from app.domain.entities import Metric, ModelVersion, RegisteredModel, Stage, VersionStatus
from app.domain.queries import (
    Direction,
    MetricThreshold,
    Page,
    PageRequest,
    VersionFilter,
    VersionOrder,
    VersionOrderField,
)
from app.domain.read_scope import EVERYTHING, ReadScope

from ..filters import number_conditions, tag_conditions, text_conditions, time_conditions
from ..governance_tables import DocumentRow
from ..mapping import new_metric, to_version
from ..pagination import SqlColumn, fetch_page
from ..prepared import PreparedRead, PreparedWrite
from ..prepared_rows import PreparedRows, PreparedUpsert, insert_row
from ..read_scope import name_in_scope
from ..relation_arrays import VERSION_RELATIONS, relation_names, relations_of, with_relations
from ..sessions import dialect_name, rowcount
from ..tables import MetricRow, ModelRow, VersionFileRow, VersionRow, VersionSourceRow, VersionTagRow
from .version_lookup import FoundVersion, find_model_version
from .version_rows import add_version_with_children

_VERSIONS = VersionRow.__table__
_MODELS = ModelRow.__table__
_TAGS = VersionTagRow.__table__
_METRICS = MetricRow.__table__
_IDS = bindparam("ids", type_=Integer(), expanding=True)


def _pending_message(command: NewVersion) -> str:
    if command.source is not None:
        return f"copying the files from {command.source[:500]}"
    return "waiting for staged uploads to be verified"


# What a version was registered from: its source when it was copied from one, else its artifact reference.
_SOURCE = func.coalesce(
    select(VersionSourceRow.uri).where(VersionSourceRow.version_id == VersionRow.id).scalar_subquery(),
    VersionRow.artifact_uri,
)

# Reads select plain columns (Core rows, mapped once into entities) rather than ORM entities, and the hot ones are
# built once here: statement construction and the ORM's identity map and loading were most of a read's cost.
_VERSION_ROWS = select(*_VERSIONS.c, _MODELS.c.name.label("model_name")).join(
    _MODELS, _MODELS.c.id == _VERSIONS.c.model_id
)
_VERSIONS_BY_ID = PreparedRead(_VERSION_ROWS.where(_VERSIONS.c.id.in_(_IDS)))
_BY_NUMBER = PreparedRead(
    _VERSION_ROWS.where(_VERSIONS.c.model_id == bindparam("model_id"), _VERSIONS.c.version == bindparam("number"))
)
_TOUCH = PreparedWrite(
    update(cast(Table, _VERSIONS))
    .where(_VERSIONS.c.id == bindparam("version_id"))
    .values(updated_at=bindparam("changed_at"))
)
_SET_TAG = PreparedUpsert(_TAGS, ["value"])
_TAGS_OF_ONE = PreparedRead(select(_TAGS.c.key, _TAGS.c.value).where(_TAGS.c.version_id == bindparam("version_id")))


def _set_tag_and_touch() -> Select:
    """PostgreSQL: the version's tags before, a tag's upsert and the version's change time in one statement. The
    upsert and the update are data-modifying CTEs, which run whether or not the query reads them; the tags are read
    from the snapshot the statement started with, before either."""
    upsert = (
        postgresql.insert(cast(Table, _TAGS))
        .values(version_id=bindparam("version_id"), key=bindparam("key"), value=bindparam("value"))
        .on_conflict_do_update(index_elements=["version_id", "key"], set_={"value": bindparam("value")})
        .cte("upserted")
    )
    touched = (
        update(cast(Table, _VERSIONS))
        .where(_VERSIONS.c.id == bindparam("version_id"))
        .values(updated_at=bindparam("changed_at"))
        .cte("touched")
    )
    return _TAGS_OF_ONE.statement.add_cte(upsert, touched)


_SET_TAG_AND_TOUCH = PreparedRead(_set_tag_and_touch())
_ADD = PreparedWrite(insert_row(_VERSIONS).returning(*_VERSIONS.c))
# The children of a new version: one INSERT per table, of all its rows.
_ADD_TAGS = PreparedRows(_TAGS, ["version_id", "key", "value"])
_ADD_METRICS = PreparedRows(_METRICS, ["version_id", "name", "value", "dataset", "step"])
_ADD_FILES = PreparedRows(VersionFileRow.__table__, ["version_id", "path", "digest", "size", "media_type", "upload_id"])
_TAGS_OF = PreparedRead(select(_TAGS.c.version_id, _TAGS.c.key, _TAGS.c.value).where(_TAGS.c.version_id.in_(_IDS)))
_METRICS_OF = PreparedRead(
    select(_METRICS.c.version_id, _METRICS.c.name, _METRICS.c.value, _METRICS.c.dataset, _METRICS.c.step)
    .where(_METRICS.c.version_id.in_(_IDS))
    .order_by(_METRICS.c.id)
)


def _newest_versions(stages: frozenset[Stage | None]) -> Select:
    """Versions with their model name: the newest of each model (when ``None`` is in ``stages``) and the newest of
    each model in each other stage listed, for the model ids bound to ``ids``: at most one row per model and stage."""
    newest: list[Select] = []
    if None in stages:
        newest.append(
            select(_VERSIONS.c.model_id, func.max(_VERSIONS.c.version).label("version"))
            .where(_VERSIONS.c.model_id.in_(_IDS))
            .group_by(_VERSIONS.c.model_id)
        )
    if named := sorted(stage.value for stage in stages if stage is not None):
        newest.append(
            select(_VERSIONS.c.model_id, func.max(_VERSIONS.c.version).label("version"))
            .where(_VERSIONS.c.model_id.in_(_IDS), _VERSIONS.c.stage.in_(named))
            .group_by(_VERSIONS.c.model_id, _VERSIONS.c.stage)
        )
    picked = (newest[0] if len(newest) == 1 else union(*newest)).subquery()
    # The model ids bound on the outer rows as well: without them PostgreSQL's planner joins against a sequential
    # scan of every version (8.6 ms at 20,000 versions, against about 1 ms through the index). Ordered, so that two
    # executions answer the same rows in the same order (the prepared-read test compares them).
    return (
        _VERSION_ROWS.join(
            picked, and_(_VERSIONS.c.model_id == picked.c.model_id, _VERSIONS.c.version == picked.c.version)
        )
        .where(_VERSIONS.c.model_id.in_(_IDS))
        .order_by(_VERSIONS.c.id)
    )


# Built on first use per combination of stages asked for (at most 2^5).
_NEWEST_BY_STAGES: dict[frozenset[Stage | None], PreparedRead] = {}


# PostgreSQL: the same with relations of the versions, per combination of stages and relations asked for.
_NEWEST_WITH: dict[tuple[frozenset[Stage | None], tuple[str, ...]], PreparedRead] = {}


def _newest_of(rows: Sequence[Any], stages: frozenset[Stage | None]) -> dict[int, dict[Stage | None, ModelVersion]]:
    """Per model, its newest version of ``rows`` (key None, when asked for) and its newest in each stage asked for."""
    found: dict[int, dict[Stage | None, ModelVersion]] = {}
    for row in rows:
        version = _version(row)
        newest = found.setdefault(version.model_id, {})
        if version.stage in stages:
            newest[version.stage] = version
        if None in stages and (None not in newest or newest[None].version < version.version):
            newest[None] = version
    return found


def _version(row: Row) -> ModelVersion:
    return to_version(row, row.model_name)


# Versions without the metric sort after all others, in either direction.
_NO_METRIC_LAST = {Direction.ASC: 1e308, Direction.DESC: -1e308}


def _metric_condition(threshold: MetricThreshold) -> ColumnElement[bool]:
    where = [MetricRow.version_id == VersionRow.id, MetricRow.name == threshold.name]
    if threshold.gt is not None:
        where.append(MetricRow.value > threshold.gt)
    if threshold.gte is not None:
        where.append(MetricRow.value >= threshold.gte)
    if threshold.lt is not None:
        where.append(MetricRow.value < threshold.lt)
    if threshold.lte is not None:
        where.append(MetricRow.value <= threshold.lte)
    return exists(select(1).where(and_(*where)))


# PostgreSQL: a version's tags as [key, value] pairs in one array, a column of a page's rows. A scalar subquery in the
# select list is computed after the page's sort and above its LIMIT: for the rows of the page only.
_TAG_PAIRS = (
    select(
        func.array_agg(
            postgresql.aggregate_order_by(
                postgresql.array([sql_cast(_TAGS.c.key, Text()), sql_cast(_TAGS.c.value, Text())]), _TAGS.c.key
            ),
            type_=NullType(),
        )
    )
    .where(_TAGS.c.version_id == _VERSIONS.c.id)
    .scalar_subquery()
    .label("tag_pairs")
)


def _sort_key(order: VersionOrder) -> SqlColumn:
    if order.field is VersionOrderField.METRIC:
        best = (
            select(func.max(MetricRow.value))
            .where(MetricRow.version_id == VersionRow.id, MetricRow.name == order.metric)
            .scalar_subquery()
        )
        return func.coalesce(best, _NO_METRIC_LAST[order.direction])
    return {
        VersionOrderField.CREATED_AT: VersionRow.created_at,
        VersionOrderField.VERSION: VersionRow.version,
        VersionOrderField.NAME: ModelRow.name,
    }[order.field]


class SqlVersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _select(self, *extra: SqlColumn) -> Select:
        return _VERSION_ROWS.add_columns(*extra) if extra else _VERSION_ROWS

    async def add(
        self,
        model: RegisteredModel,
        number: int,
        command: NewVersion,
        actor: str,
        now: datetime,
        files: Sequence[ArtifactFile | StagedFile] = (),
        status: VersionStatus = VersionStatus.READY,
    ) -> ModelVersion:
        values = {
            "model_id": model.id,
            "version": number,
            "status": status.value,
            "status_message": _pending_message(command) if status is VersionStatus.PENDING_REGISTRATION else None,
            "stage": Stage.NONE.value,
            "description": command.description,
            "flavor": command.flavor,
            "signature": command.signature,
            "run_tracker": command.run.tracker.value if command.run else None,
            "run_id": command.run.run_id if command.run else None,
            "run_uri": command.run.run_uri if command.run else None,
            "code_repository_url": command.code.repository_url if command.code else None,
            "code_commit_sha": command.code.commit_sha if command.code else None,
            "artifact_uri": command.artifact.uri if command.artifact else None,
            "artifact_digest": command.artifact.digest if command.artifact else None,
            "artifact_size": command.artifact.size if command.artifact else None,
            "params": dict(command.params),
            "created_at": now,
            "created_by": actor,
            "updated_at": now,
        }
        if dialect_name(self._session) == "postgresql":  # one round trip (version_rows.py)
            row = await add_version_with_children(self._session, values, command.tags, command.metrics)
        else:
            (row,) = await _ADD.run(self._session, values)
            await _ADD_TAGS.run(
                self._session, [{"version_id": row.id, "key": k, "value": v} for k, v in command.tags.items()]
            )
            await _ADD_METRICS.run(
                self._session,
                [
                    {"version_id": row.id, "name": m.name, "value": m.value, "dataset": m.dataset, "step": m.step}
                    for m in command.metrics
                ],
            )
        await _ADD_FILES.run(
            self._session,
            [
                {
                    "version_id": row.id,
                    "path": f.path,
                    "digest": f.digest,
                    "size": f.size,
                    "media_type": f.media_type,
                    "upload_id": getattr(f, "upload_id", None),
                }
                for f in files
            ],
        )
        return to_version(row, model.name)

    async def get(self, model_id: int, number: int) -> ModelVersion | None:
        row = await _BY_NUMBER.first(self._session, {"model_id": model_id, "number": number})
        return _version(row) if row else None

    async def find_with_model(
        self, name: str, number: int, *, for_update: bool = False, with_aliases: bool = False
    ) -> FoundVersion:
        """The model named ``name`` and its version ``number`` (version_lookup.py: one statement, two when locking
        on PostgreSQL)."""
        return await find_model_version(self._session, name, number, for_update=for_update, with_aliases=with_aliases)

    async def get_many(self, ids: list[int]) -> dict[int, ModelVersion]:
        return {row.id: _version(row) for row in await _VERSIONS_BY_ID.all(self._session, {"ids": ids})}

    async def find_by_model_number(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]:
        rows = await self._session.execute(self._select().where(tuple_(ModelRow.name, VersionRow.version).in_(keys)))
        return {(row.model_name, row.version): _version(row) for row in rows}

    async def update(self, version_id: int, changes: VersionChanges, now: datetime) -> ModelVersion:
        values: dict[str, object] = {"updated_at": now}
        if changes.description is not None:
            values["description"] = changes.description
        await self._session.execute(update(VersionRow).where(VersionRow.id == version_id).values(**values))
        return await self._current(version_id)

    async def touch(self, version: ModelVersion, now: datetime) -> ModelVersion:
        """Mark ``version`` (as read, locked, in this transaction) changed at ``now``; the version as it is now."""
        await _TOUCH.run(self._session, {"version_id": version.id, "changed_at": now})
        return dataclasses.replace(version, updated_at=now)

    async def _current(self, version_id: int) -> ModelVersion:
        """The version as this transaction's changes left it."""
        query = self._select().where(VersionRow.id == version_id).execution_options(populate_existing=True)
        return _version((await self._session.execute(query)).one())

    async def delete(self, version_id: int) -> None:
        await self._session.execute(delete(VersionRow).where(VersionRow.id == version_id))

    async def count_in_stage(self, model_id: int, stage: Stage) -> int:
        query = select(func.count()).where(VersionRow.model_id == model_id, VersionRow.stage == stage.value)
        return (await self._session.execute(query)).scalar_one()

    async def list_with_tags(
        self,
        filter: VersionFilter,
        order: VersionOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
        *,
        with_tags: bool = True,
    ) -> tuple[Page[ModelVersion], dict[int, dict[str, str]] | None]:
        """A page of versions and, on PostgreSQL (where each statement is a round trip) when ``with_tags``, the
        page's tags read in the same statement: ``{version id: tags}``. Elsewhere None: the caller reads them."""
        sort_key = _sort_key(order)
        conditions = [
            *name_in_scope(ModelRow.name, scope),
            *text_conditions(ModelRow.name, filter.model_name),
            *tag_conditions(VersionTagRow, VersionRow.id, "version_id", filter.tags),
            *time_conditions(VersionRow.created_at, filter.created),
            *(_metric_condition(threshold) for threshold in filter.metrics),
            *text_conditions(VersionRow.run_id, filter.run_id),
            *text_conditions(_SOURCE, filter.source),
            *number_conditions(VersionRow.version, filter.number),
        ]
        if filter.model_id is not None:
            conditions.append(VersionRow.model_id == filter.model_id)
        if filter.stages:
            conditions.append(VersionRow.stage.in_([stage.value for stage in filter.stages]))
        if filter.statuses:
            conditions.append(VersionRow.status.in_([status.value for status in filter.statuses]))
        if filter.owner is not None:
            conditions.append(ModelRow.owner == filter.owner)
        if filter.created_by is not None:
            conditions.append(VersionRow.created_by == filter.created_by)
        tags: dict[int, dict[str, str]] | None = None
        convert = _version
        if with_tags and dialect_name(self._session) == "postgresql":
            query = self._select(_TAG_PAIRS, sort_key).where(*conditions)
            found: dict[int, dict[str, str]] = {}
            tags = found

            def convert(row: Row) -> ModelVersion:
                found[row.id] = dict(row.tag_pairs or ())
                return _version(row)

        else:
            query = self._select(sort_key).where(*conditions)
        listed = await fetch_page(
            self._session,
            query,
            list_name=f"versions/{order.field.value}/{order.metric or ''}",
            sort_key=sort_key,
            id_column=VersionRow.id,
            direction=order.direction,
            page=page,
            with_total=with_total,
            convert=convert,
            row_id=lambda row: row.id,
        )
        return listed, tags

    async def latest(self, model_ids: builtins.list[int], stage: Stage | None) -> dict[int, ModelVersion]:
        found = await self.latest_in_stages(model_ids, frozenset({stage}))
        return {model_id: newest[stage] for model_id, newest in found.items() if stage in newest}

    async def latest_in_stages(
        self, model_ids: builtins.list[int], stages: frozenset[Stage | None]
    ) -> dict[int, dict[Stage | None, ModelVersion]]:
        """Per model, its newest version (key None, when asked for) and its newest in each stage asked for."""
        if stages not in _NEWEST_BY_STAGES:
            _NEWEST_BY_STAGES[stages] = PreparedRead(_newest_versions(stages))
        return _newest_of(await _NEWEST_BY_STAGES[stages].all(self._session, {"ids": model_ids}), stages)

    async def latest_in_stages_with(
        self, model_ids: builtins.list[int], stages: frozenset[Stage | None], names: Collection[str]
    ) -> tuple[dict[int, dict[Stage | None, ModelVersion]], dict[str, dict[int, Any]]]:
        """``latest_in_stages`` and, on PostgreSQL (where each statement is a round trip), the relations ``names``
        (tags, metrics, aliases) of every version found, read in the same statement: ``{relation: {version id:
        value}}``. Every version found: each model's newest in each of ``stages``, where a caller's keys may have
        asked for some of them only. Elsewhere none are read: the caller reads them on their own."""
        ordered = relation_names(VERSION_RELATIONS, names, "versions")
        if not ordered or dialect_name(self._session) != "postgresql":
            return await self.latest_in_stages(model_ids, stages), {}
        read = _NEWEST_WITH.get((stages, ordered))
        if read is None:
            read = _NEWEST_WITH[(stages, ordered)] = PreparedRead(
                with_relations(_newest_versions(stages), _VERSIONS.c.id, VERSION_RELATIONS, ordered)
            )
        rows = await read.all(self._session, {"ids": model_ids})
        related: dict[str, dict[int, Any]] = {name: {} for name in ordered}
        for row in rows:
            for name, value in relations_of(row, VERSION_RELATIONS, ordered).items():
                related[name][row.id] = value
        return _newest_of(rows, stages), related

    async def tags(self, version_ids: builtins.list[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = {version_id: {} for version_id in version_ids}
        for version_id, key, value in await _TAGS_OF.tuples(self._session, {"ids": version_ids}):
            result[version_id][key] = value
        return result

    async def metrics(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[Metric]]:
        result: dict[int, list[Metric]] = {version_id: [] for version_id in version_ids}
        for version_id, name, value, dataset, step in await _METRICS_OF.tuples(self._session, {"ids": version_ids}):
            result[version_id].append(new_metric(name=name, value=value, dataset=dataset, step=step))
        return result

    async def files(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[ArtifactFile]]:
        result: dict[int, list[ArtifactFile]] = {version_id: [] for version_id in version_ids}
        query = select(VersionFileRow).where(VersionFileRow.version_id.in_(version_ids)).order_by(VersionFileRow.path)
        for row in (await self._session.execute(query)).scalars():
            result[row.version_id].append(ArtifactFile(row.path, row.digest, row.size, row.media_type))
        return result

    async def staged_files(self, version_id: int) -> builtins.list[StagedFile]:
        query = select(VersionFileRow).where(
            VersionFileRow.version_id == version_id, VersionFileRow.upload_id.is_not(None)
        )
        return [
            # the query keeps only files that have an upload_id
            StagedFile(row.path, cast(str, row.upload_id), row.digest, row.size, row.media_type)
            for row in (await self._session.execute(query)).scalars()
        ]

    async def finish_registration(
        self, version_id: int, status: VersionStatus, message: str | None, now: datetime
    ) -> bool:
        """Settle a PENDING_REGISTRATION version (only once: False when it was settled already); its files no
        longer point at staged uploads."""
        settled = await self._session.execute(
            update(VersionRow)
            .where(VersionRow.id == version_id, VersionRow.status == VersionStatus.PENDING_REGISTRATION.value)
            .values(status=status.value, status_message=message, updated_at=now)
        )
        await self._session.execute(
            update(VersionFileRow).where(VersionFileRow.version_id == version_id).values(upload_id=None)
        )
        return rowcount(settled) > 0

    async def pending_registrations(self) -> builtins.list[int]:
        """Versions waiting for their staged uploads (those registered from a source wait for its copy instead)."""
        query = select(VersionRow.id).where(
            VersionRow.status == VersionStatus.PENDING_REGISTRATION.value,
            ~select(VersionSourceRow.version_id).where(VersionSourceRow.version_id == VersionRow.id).exists(),
        )
        return list((await self._session.execute(query)).scalars())

    async def referenced_digests(self, digests: builtins.list[str]) -> set[str]:
        """Digests a version's files or an attached document refer to (garbage collection keeps them)."""
        query = (
            select(VersionFileRow.digest)
            .where(VersionFileRow.digest.in_(digests))
            .union(select(DocumentRow.artifact_digest).where(DocumentRow.artifact_digest.in_(digests)))
        )
        return set((await self._session.execute(query)).scalars())

    async def set_stage(self, version_id: int, stage: Stage, now: datetime) -> ModelVersion:
        await self._session.execute(
            update(VersionRow).where(VersionRow.id == version_id).values(stage=stage.value, updated_at=now)
        )
        return await self._current(version_id)

    async def in_stage(self, model_id: int, stage: Stage) -> builtins.list[ModelVersion]:
        query = self._select().where(VersionRow.model_id == model_id, VersionRow.stage == stage.value)
        return [_version(row) for row in await self._session.execute(query.order_by(VersionRow.version))]

    async def set_tag(
        self, version: ModelVersion, key: str, value: str, now: datetime
    ) -> tuple[dict[str, str], ModelVersion]:
        """Set one tag of ``version`` (as read, locked, in this transaction) and mark it changed at ``now``: the
        version's tags before, and the version as it is now. One statement on PostgreSQL, where each is a round
        trip."""
        if dialect_name(self._session) == "postgresql":
            values = {"version_id": version.id, "key": key, "value": value, "changed_at": now}
            rows = await _SET_TAG_AND_TOUCH.tuples(self._session, values)
        else:
            rows = await _TAGS_OF_ONE.tuples(self._session, {"version_id": version.id})
            await _SET_TAG.run(self._session, {"version_id": version.id, "key": key, "value": value})
            await _TOUCH.run(self._session, {"version_id": version.id, "changed_at": now})
        return dict(rows), dataclasses.replace(version, updated_at=now)

    async def delete_tag(self, version_id: int, key: str) -> bool:
        result = await self._session.execute(
            delete(VersionTagRow).where(VersionTagRow.version_id == version_id, VersionTagRow.key == key)
        )
        return rowcount(result) > 0
