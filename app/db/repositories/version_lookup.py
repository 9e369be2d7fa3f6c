"""A version found by its model's name and its number in one statement, with its model (locked when asked).

Every change to a version (a tag, its description, an import's files) first locks the model's row and reads the
version under it: two statements, each a round trip on PostgreSQL. Here the model's row is read (``FOR UPDATE OF``
it when locking) outer-joined to the version, so one statement tells a missing model from a missing version. On
PostgreSQL the version's aliases can ride along (``with_aliases``), as parallel arrays (relation_arrays.py): the
event a change writes carries them (services/events.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.entities import ModelVersion, RegisteredModel

from ..mapping import to_model, to_version
from ..prepared import PreparedRead, row_type
from ..relation_arrays import Relation, relations_of, with_relations
from ..sessions import dialect_name
from ..tables import AliasRow, ModelRow, VersionRow

_MODELS = ModelRow.__table__
_VERSIONS = VersionRow.__table__
# Named tuples of each table's columns, read by attribute as the mappers read rows
_MODEL_ROW: Any = row_type(list(_MODELS.c.keys()))
_VERSION_ROW: Any = row_type(list(_VERSIONS.c.keys()))
_WIDTH = len(_MODELS.c)
_ALIASES = AliasRow.__table__
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

# Labelled apart: both tables have an id, a created_at, ...
_LOOKUP = (
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
# SQLite: the writer's BEGIN IMMEDIATE holds the lock, FOR UPDATE is not rendered.
_READS = {
    (False, False): PreparedRead(_LOOKUP),
    (True, False): PreparedRead(_LOOKUP.with_for_update(of=_MODELS)),
    (False, True): PreparedRead(with_relations(_LOOKUP, _VERSIONS.c.id, _ALIAS_NAMES, ("aliases",))),
    (True, True): PreparedRead(
        with_relations(_LOOKUP, _VERSIONS.c.id, _ALIAS_NAMES, ("aliases",)).with_for_update(of=_MODELS)
    ),
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
    """The model named ``name`` and its version ``number``, in one statement; ``for_update`` locks the model's row.
    ``with_aliases`` reads the version's alias names along on PostgreSQL (elsewhere a statement costs no round trip,
    and they are left to the caller)."""
    aliases_along = with_aliases and dialect_name(session) == "postgresql"
    row: Any = await _READS[(for_update, aliases_along)].first(session, {"name": name, "number": number})
    if row is None:
        return FoundVersion(None, None, None)
    model = to_model(_MODEL_ROW(*row[:_WIDTH]))
    version_values = row[_WIDTH : _WIDTH + len(_VERSIONS.c)]
    if version_values[0] is None:  # the outer join found no version of that number
        return FoundVersion(model, None, () if aliases_along else None)
    version = to_version(_VERSION_ROW(*version_values), model.name)
    if not aliases_along:
        return FoundVersion(model, version, None)
    return FoundVersion(model, version, relations_of(row, _ALIAS_NAMES, ("aliases",))["aliases"])
