"""Several relations of the same models or versions read together: what a page's look-ahead asks for at once.

On PostgreSQL each statement is a round trip, and the CPU of one (the driver's send and receive, the event loop's
wake-up, the system calls) cost as much as a small statement's own work: a model's tags and aliases, or a version's
tags and metrics, come back in one statement, each relation as parallel arrays of its children's columns per owner
(``array_agg`` in a ``LATERAL`` subquery). SQLite has no round trip: each relation is read by its own statement,
the same one a field that was not read ahead uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from app.domain.entities import Metric, ModelAlias

from ..mapping import new_metric, to_alias
from ..prepared import PreparedRead
from ..sessions import dialect_name
from ..tables import AliasRow, MetricRow, ModelRow, ModelTagRow, VersionRow, VersionTagRow, as_utc
from .aliases import SqlAliasRepository
from .models import SqlModelRepository
from .versions import SqlVersionRepository

Related = dict[str, dict[int, Any]]  # relation name -> {owner id: its value}

_OWNER = (
    func.unnest(bindparam("ids", type_=ARRAY(Integer()), required=True)).table_valued("id").render_derived(name="owner")
)
_MODELS = ModelRow.__table__
_VERSIONS = VersionRow.__table__
_ALIASES = AliasRow.__table__
_MODEL_TAGS = ModelTagRow.__table__
_VERSION_TAGS = VersionTagRow.__table__
_METRICS = MetricRow.__table__


@dataclass(frozen=True)
class _Relation:
    """One relation as parallel arrays: ``columns`` of the children ``where(owner id)``, aggregated in ``order``,
    from ``source`` (a table or join); ``value`` builds the relation's value from the arrays (None when there are no
    children)."""

    source: Any
    columns: tuple[ColumnElement[Any], ...]
    where: Callable[[ColumnElement[int]], ColumnElement[bool]]
    order: tuple[ColumnElement[Any], ...]
    value: Callable[..., Any]

    def arrays(self, name: str, owner: ColumnElement[int]) -> Any:
        """The relation's arrays for ``owner``, as a LATERAL subquery of one row."""
        # Parallel arrays of plain values, not one array of rows: asyncpg looks a record's codecs up per field and
        # row, which cost more than the round trip saved. Untyped, so that no result processor walks them.
        aggregates = [
            func.array_agg(aggregate_order_by(column, *self.order), type_=NullType()).label(f"{name}_{index}")
            for index, column in enumerate(self.columns)
        ]
        return select(*aggregates).select_from(self.source).where(self.where(owner)).lateral(name)


def _tags(keys: list[str] | None, values: list[str]) -> dict[str, str]:
    return dict(zip(keys, values, strict=True)) if keys else {}


def _metrics(
    names: list[str] | None, values: list[float], datasets: list[str | None], steps: list[int | None]
) -> list[Metric]:
    if not names:
        return []
    return [
        new_metric(name=name, value=value, dataset=dataset, step=step)
        for name, value, dataset, step in zip(names, values, datasets, steps, strict=True)
    ]


class _AliasValues(NamedTuple):
    """An alias's values, read by name as ``to_alias`` reads a row."""

    model_id: int
    alias: str
    version_id: int
    updated_at: datetime
    updated_by: str
    model_name: str
    version: int


def _aliases(*arrays: list[Any] | None) -> list[ModelAlias]:
    if not arrays[0]:
        return []
    found = []
    for model_id, alias, version_id, updated_at, updated_by, model_name, version in zip(*arrays, strict=True):
        values = _AliasValues(model_id, alias, version_id, as_utc(updated_at), updated_by, model_name, version)
        found.append(to_alias(values, model_name, version))
    return found


def _alias_relation(where: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> _Relation:
    return _Relation(
        source=_ALIASES.join(_MODELS, _MODELS.c.id == _ALIASES.c.model_id).join(
            _VERSIONS, _VERSIONS.c.id == _ALIASES.c.version_id
        ),
        columns=(*(_ALIASES.c[name] for name in _AliasValues._fields[:5]), _MODELS.c.name, _VERSIONS.c.version),
        where=where,
        order=(_ALIASES.c.alias,),
        value=_aliases,
    )


def _tag_relation(table: Any, owner_column: str) -> _Relation:
    return _Relation(
        source=table,
        columns=(table.c.key, table.c.value),
        where=lambda owner: table.c[owner_column] == owner,
        order=(table.c.key,),
        value=_tags,
    )


_MODEL_RELATIONS: dict[str, _Relation] = {
    "tags": _tag_relation(_MODEL_TAGS, "model_id"),
    "aliases": _alias_relation(lambda owner: _ALIASES.c.model_id == owner),
}
_VERSION_RELATIONS: dict[str, _Relation] = {
    "tags": _tag_relation(_VERSION_TAGS, "version_id"),
    "metrics": _Relation(
        source=_METRICS,
        columns=(_METRICS.c.name, _METRICS.c.value, _METRICS.c.dataset, _METRICS.c.step),
        where=lambda owner: _METRICS.c.version_id == owner,
        order=(_METRICS.c.id,),
        value=_metrics,
    ),
    "aliases": _alias_relation(lambda owner: _ALIASES.c.version_id == owner),
}


def _together(relations: Mapping[str, _Relation], names: tuple[str, ...]) -> PreparedRead:
    """One statement: each owner id of ``ids`` with the arrays of each relation of ``names``."""
    owner = _OWNER.c.id
    source: Any = _OWNER
    columns: list[Any] = []
    for name in names:
        arrays = relations[name].arrays(name, owner)
        source = source.join(arrays, true())  # an aggregate without GROUP BY: one row per owner, children or none
        columns.extend(arrays.c)
    return PreparedRead(select(owner.label("id"), *columns).select_from(source))


# Built once per combination of relations, for the process.
_STATEMENTS: dict[tuple[str, tuple[str, ...]], PreparedRead] = {}


class SqlRelatedReads:
    """Relations of many models or versions, in one statement on PostgreSQL (see the module's docstring)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_models(self, ids: list[int], names: Collection[str]) -> Related:
        """``{relation: {model id: value}}`` for ``names`` among tags (a dict) and aliases (ordered by name)."""
        models, aliases = SqlModelRepository(self._session), SqlAliasRepository(self._session)
        return await self._read(
            "models", _MODEL_RELATIONS, ids, names, {"tags": models.tags, "aliases": aliases.for_models}
        )

    async def of_versions(self, ids: list[int], names: Collection[str]) -> Related:
        """``{relation: {version id: value}}`` for ``names`` among tags (a dict), metrics (in the order they were
        recorded) and aliases (ordered by name)."""
        versions, aliases = SqlVersionRepository(self._session), SqlAliasRepository(self._session)
        alone = {"tags": versions.tags, "metrics": versions.metrics, "aliases": aliases.for_versions}
        return await self._read("versions", _VERSION_RELATIONS, ids, names, alone)

    async def _read(
        self,
        owner: str,
        relations: Mapping[str, _Relation],
        ids: list[int],
        names: Collection[str],
        alone: Mapping[str, Callable[[list[int]], Awaitable[Any]]],
    ) -> Related:
        ordered = tuple(sorted(set(names)))
        unknown = set(ordered) - relations.keys()
        if unknown:
            raise ValueError(f"{owner} have no relation {sorted(unknown)}")
        if dialect_name(self._session) != "postgresql":
            return {name: await alone[name](ids) for name in ordered}
        return await self._together(owner, relations, ids, ordered)

    async def _together(
        self, owner: str, relations: Mapping[str, _Relation], ids: list[int], names: tuple[str, ...]
    ) -> Related:
        statement = _STATEMENTS.get((owner, names))
        if statement is None:
            statement = _STATEMENTS[(owner, names)] = _together(relations, names)
        found: Related = {name: {} for name in names}
        widths = [(name, len(relations[name].columns)) for name in names]
        for row in await statement.tuples(self._session, {"ids": ids}):
            owner_id, at = row[0], 1
            for name, width in widths:
                found[name][owner_id] = relations[name].value(*row[at : at + width])
                at += width
        return found
