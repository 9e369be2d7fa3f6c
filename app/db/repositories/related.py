"""Several relations of the same models or versions read together: what a page's look-ahead asks for at once.

On PostgreSQL each statement is a round trip, and the CPU of one (the driver's send and receive, the event loop's
wake-up, the system calls) cost as much as a small statement's own work: a model's tags and aliases, or a version's
tags and metrics, come back in one statement, each relation as parallel arrays per owner (app/db/relation_arrays.py).
SQLite has no round trip: each relation is read by its own statement, the same one a field that was not read ahead
uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from ..prepared import PreparedRead
from ..relation_arrays import (
    MODEL_RELATIONS,
    VERSION_RELATIONS,
    Related,
    Relation,
    relation_names,
    relations_of,
    with_relations,
)
from ..sessions import dialect_name
from .aliases import SqlAliasRepository
from .models import SqlModelRepository
from .versions import SqlVersionRepository

_OWNER = (
    func.unnest(bindparam("ids", type_=ARRAY(Integer()), required=True)).table_valued("id").render_derived(name="owner")
)

# Built once per combination of relations, for the process.
_STATEMENTS: dict[tuple[str, tuple[str, ...]], PreparedRead] = {}


def _together(relations: Mapping[str, Relation], names: tuple[str, ...]) -> PreparedRead:
    """One statement: each owner id of ``ids`` with the arrays of each relation of ``names``."""
    owner = _OWNER.c.id
    return PreparedRead(with_relations(select(owner.label("id")).select_from(_OWNER), owner, relations, names))


class SqlRelatedReads:
    """Relations of many models or versions, in one statement on PostgreSQL (see the module's docstring)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_models(self, ids: list[int], names: Collection[str]) -> Related:
        """``{relation: {model id: value}}`` for ``names`` among tags (a dict) and aliases (ordered by name)."""
        models, aliases = SqlModelRepository(self._session), SqlAliasRepository(self._session)
        return await self._read(
            "models", MODEL_RELATIONS, ids, names, {"tags": models.tags, "aliases": aliases.for_models}
        )

    async def of_versions(self, ids: list[int], names: Collection[str]) -> Related:
        """``{relation: {version id: value}}`` for ``names`` among tags (a dict), metrics (in the order they were
        recorded) and aliases (ordered by name)."""
        versions, aliases = SqlVersionRepository(self._session), SqlAliasRepository(self._session)
        alone = {"tags": versions.tags, "metrics": versions.metrics, "aliases": aliases.for_versions}
        return await self._read("versions", VERSION_RELATIONS, ids, names, alone)

    async def _read(
        self,
        owner: str,
        relations: Mapping[str, Relation],
        ids: list[int],
        names: Collection[str],
        alone: Mapping[str, Callable[[list[int]], Awaitable[Any]]],
    ) -> Related:
        ordered = relation_names(relations, names, owner)
        if dialect_name(self._session) != "postgresql":
            return {name: await alone[name](ids) for name in ordered}
        statement = _STATEMENTS.get((owner, ordered))
        if statement is None:
            statement = _STATEMENTS[(owner, ordered)] = _together(relations, ordered)
        found: Related = {name: {} for name in ordered}
        for row in await statement.tuples(self._session, {"ids": ids}):
            for name, value in relations_of(row, relations, ordered).items():
                found[name][row[0]] = value
        return found
