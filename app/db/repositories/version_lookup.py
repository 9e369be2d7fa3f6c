"""A version found by its model's name and its number, with its model (locked when asked), in as few statements as
the lock allows.

A read, or any lookup on SQLite (whose writer holds the database's write lock from ``BEGIN IMMEDIATE``), is one
statement: the model's row outer-joined to the version, which tells a missing model from a missing version.

Locking on PostgreSQL takes two: the model's row ``FOR UPDATE``, then the version. Under READ COMMITTED a statement
that waits for a row lock re-reads only the locked row once it gets it; a version joined in the same statement would
be as the statement's snapshot had it, before the lock holder's changes (a version it deleted would still be found).
The version is read by the next statement, which sees what the lock holder committed.

On PostgreSQL the version's alias names can ride along with the version (``with_aliases``, as an array from a
``LATERAL`` subquery, relation_arrays.py): the event a change writes carries them (services/events.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import ModelVersion, RegisteredModel

from ..mapping import to_model, to_version
from ..prepared import PreparedRead, row_type
from ..relation_arrays import Relation, relations_of, with_relations
from ..sessions import dialect_name
from ..tables import AliasRow, ModelRow, VersionRow
from .models import SqlModelRepository

_MODELS = ModelRow.__table__
_VERSIONS = VersionRow.__table__
_ALIASES = AliasRow.__table__
# Named tuples of each table's columns, read by attribute as the mappers read rows
_MODEL_ROW: Any = row_type(list(_MODELS.c.keys()))
_VERSION_ROW: Any = row_type(list(_VERSIONS.c.keys()))
_MODEL_WIDTH = len(_MODELS.c)
_VERSION_WIDTH = len(_VERSIONS.c)

# The version's alias names, as one array: what its events carry.
_ALIAS_NAMES = {
    "aliases": Relation(
        source=_ALIASES,
        columns=(_ALIASES.c.alias,),
        where=lambda owner: _ALIASES.c.version_id == owner,
        order=(_ALIASES.c.alias,),
        value=lambda names: tuple(names or ()),
    )
}


def _with_alias_names(statement: Select[Any]) -> Select[Any]:
    return with_relations(statement, _VERSIONS.c.id, _ALIAS_NAMES, ("aliases",))


# Labelled apart: both tables have an id, a created_at, ...
_MODEL_AND_VERSION = (
    select(
        *(column.label(f"model_{column.name}") for column in _MODELS.c),
        *(column.label(f"version_{column.name}") for column in _VERSIONS.c),
    )
    .select_from(
        _MODELS.outerjoin(
            _VERSIONS, and_(_VERSIONS.c.model_id == _MODELS.c.id, _VERSIONS.c.version == bindparam("number"))
        )
    )
    .where(_MODELS.c.name == bindparam("name"))
)
# By whether the alias names come along (PostgreSQL only: array_agg)
_MODEL_AND_VERSION_READS = {
    False: PreparedRead(_MODEL_AND_VERSION),
    True: PreparedRead(_with_alias_names(_MODEL_AND_VERSION)),
}
# PostgreSQL, locking: the model's row first (SqlModelRepository.get_by_name), then the version of the model it locked.
_VERSION_OF_MODEL = select(*_VERSIONS.c).where(
    _VERSIONS.c.model_id == bindparam("model_id"), _VERSIONS.c.version == bindparam("number")
)
_VERSION_OF_MODEL_READS = {
    False: PreparedRead(_VERSION_OF_MODEL),
    True: PreparedRead(_with_alias_names(_VERSION_OF_MODEL)),
}


class FoundVersion(NamedTuple):
    """What a lookup found: the model (None when there is none of that name), its version (None when it has no
    such number), and the version's alias names when they were read along (else None)."""

    model: RegisteredModel | None
    version: ModelVersion | None
    aliases: tuple[str, ...] | None


async def find_model_version(
    session: AsyncSession, name: str, number: int, *, for_update: bool, with_aliases: bool
) -> FoundVersion:
    """The model named ``name`` and its version ``number``; ``for_update`` locks the model's row first.
    ``with_aliases`` reads the version's alias names along on PostgreSQL (elsewhere a statement costs no round trip,
    and they are left to the caller)."""
    postgresql = dialect_name(session) == "postgresql"
    aliases_along = with_aliases and postgresql
    if for_update and postgresql:
        model = await SqlModelRepository(session).get_by_name(name, for_update=True)
        if model is None:
            return FoundVersion(None, None, None)
        row = await _VERSION_OF_MODEL_READS[aliases_along].first(session, {"model_id": model.id, "number": number})
        return _found(model, row, aliases_along)
    row = await _MODEL_AND_VERSION_READS[aliases_along].first(session, {"name": name, "number": number})
    if row is None:
        return FoundVersion(None, None, None)
    model = to_model(_MODEL_ROW(*row[:_MODEL_WIDTH]))
    version_values = row[_MODEL_WIDTH:]
    return _found(model, None if version_values[0] is None else version_values, aliases_along)


def _found(model: RegisteredModel, row: Any, aliases_along: bool) -> FoundVersion:
    """The lookup's answer from the model and a row of the version's columns (and alias names, when read along),
    or None when the model has no such version."""
    if row is None:
        return FoundVersion(model, None, () if aliases_along else None)
    version = to_version(_VERSION_ROW(*row[:_VERSION_WIDTH]), model.name)
    if not aliases_along:
        return FoundVersion(model, version, None)
    return FoundVersion(model, version, relations_of(row, _ALIAS_NAMES, ("aliases",))["aliases"])
