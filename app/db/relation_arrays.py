"""Relations of a model or version as parallel arrays, for PostgreSQL, where each statement is a round trip.

A relation (a model's tags or aliases, a version's tags, metrics or aliases) is read for an owner as one row of
arrays, one per column of its children (``array_agg`` in a ``LATERAL`` subquery), so that it can ride along in the
statement that reads the owners: the owners' own read (``with_relations``: a model by name, the newest versions) or
a list of owner ids (repositories/related.py). ``relations_of`` builds each relation's value from a row's arrays, as
the relation's own read (``SqlModelRepository.tags``, ``SqlAliasRepository.for_models``, ...) answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import NullType

from app.domain.entities import Metric, ModelAlias

from .mapping import new_metric, to_alias
from .tables import AliasRow, MetricRow, ModelRow, ModelTagRow, VersionRow, VersionTagRow, as_utc

Related = dict[str, dict[int, Any]]  # relation name -> {owner id: its value}

# Aliased: the owners' own read (``with_relations``) selects from the same tables, and a subquery naming them again
# would have its conditions bind to its own copy.
_MODELS = ModelRow.__table__.alias("alias_model")
_VERSIONS = VersionRow.__table__.alias("alias_version")
_ALIASES = AliasRow.__table__
_MODEL_TAGS = ModelTagRow.__table__
_VERSION_TAGS = VersionTagRow.__table__
_METRICS = MetricRow.__table__


@dataclass(frozen=True)
class Relation:
    """One relation as parallel arrays: ``columns`` of the children ``where(owner id)``, aggregated in ``order``,
    from ``source`` (a table or join); ``value`` builds the relation's value from the arrays (each array None when
    the owner has no children). Each array is sorted on its own, so ``order`` must be unique among an owner's
    children (a key of the child table), or the arrays' items would not line up."""

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


def _alias_relation(where: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> Relation:
    return Relation(
        source=_ALIASES.join(_MODELS, _MODELS.c.id == _ALIASES.c.model_id).join(
            _VERSIONS, _VERSIONS.c.id == _ALIASES.c.version_id
        ),
        columns=(*(_ALIASES.c[name] for name in _AliasValues._fields[:5]), _MODELS.c.name, _VERSIONS.c.version),
        where=where,
        order=(_ALIASES.c.alias,),
        value=_aliases,
    )


def _tag_relation(table: Any, owner_column: str) -> Relation:
    return Relation(
        source=table,
        columns=(table.c.key, table.c.value),
        where=lambda owner: table.c[owner_column] == owner,
        order=(table.c.key,),
        value=_tags,
    )


MODEL_RELATIONS: dict[str, Relation] = {
    "tags": _tag_relation(_MODEL_TAGS, "model_id"),
    "aliases": _alias_relation(lambda owner: _ALIASES.c.model_id == owner),
}
VERSION_RELATIONS: dict[str, Relation] = {
    "tags": _tag_relation(_VERSION_TAGS, "version_id"),
    "metrics": Relation(
        source=_METRICS,
        columns=(_METRICS.c.name, _METRICS.c.value, _METRICS.c.dataset, _METRICS.c.step),
        where=lambda owner: _METRICS.c.version_id == owner,
        order=(_METRICS.c.id,),
        value=_metrics,
    ),
    "aliases": _alias_relation(lambda owner: _ALIASES.c.version_id == owner),
}


def relation_names(relations: Mapping[str, Relation], names: Collection[str], owner: str) -> tuple[str, ...]:
    """``names`` in a fixed order (the statements' columns follow it); ValueError for one ``relations`` lacks."""
    ordered = tuple(sorted(set(names)))
    unknown = set(ordered) - relations.keys()
    if unknown:
        raise ValueError(f"{owner} have no relation {sorted(unknown)}")
    return ordered


def with_relations(
    statement: Select[Any], owner: ColumnElement[int], relations: Mapping[str, Relation], names: Sequence[str]
) -> Select[Any]:
    """``statement`` with, after its own columns, the arrays of each relation of ``names`` of the owner whose id is
    ``owner`` (a column of its rows), in the order of ``names``."""
    for name in names:
        arrays = relations[name].arrays(name, owner)
        # an aggregate without GROUP BY: one row per owner, children or none
        statement = statement.join_from(owner.table, arrays, true()).add_columns(*arrays.c)
    return statement


def relations_of(row: Sequence[Any], relations: Mapping[str, Relation], names: Sequence[str]) -> dict[str, Any]:
    """The value of each relation of ``names`` from the arrays at the end of ``row`` (``with_relations``)."""
    at = len(row) - sum(len(relations[name].columns) for name in names)
    values = {}
    for name in names:
        width = len(relations[name].columns)
        values[name] = relations[name].value(*row[at : at + width])
        at += width
    return values
