"""Writes of whole rows built on ``PreparedWrite`` (app/db/prepared.py): one row with every value given
(``insert_row``), many rows in one statement (``PreparedRows``) and an upsert per dialect (``PreparedUpsert``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import BindParameter, ColumnElement, FromClause, Insert, Table, bindparam, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .prepared import PreparedWrite
from .sessions import dialect_name


def _bound(table: FromClause, names: Sequence[str], suffix: str = "") -> dict[str, BindParameter[Any]]:
    """``{name: :name<suffix>}`` for columns of ``table``, each parameter typed as its column (so converted by it)."""
    return {name: bindparam(f"{name}{suffix}", type_=table.c[name].type) for name in names}


def insert_row(table: FromClause, names: Sequence[str] | None = None) -> Insert:
    """``INSERT INTO table (names) VALUES (:name, ...)``: one row, every value given (by default every column but
    the one the database numbers)."""
    if names is None:
        numbered = getattr(table, "autoincrement_column", None)  # a Table's; its mapped classes show a FromClause
        names = [column.name for column in table.columns if column is not numbered]
    return insert(cast(Table, table)).values(_bound(table, names))


class PreparedRows:
    """``INSERT INTO table (names) VALUES (...), (...), ...``: many rows in one statement, prepared per number of
    rows up to ``max_rows`` (more take SQLAlchemy's executemany). Every row gives a value for each of ``names``.

    With ``returning`` (columns of the table, or expressions of them), ``run`` answers those of the rows written, in
    no particular order (neither database promises the order of a multi-row ``RETURNING``): return a column that
    tells the rows apart.
    """

    def __init__(
        self,
        table: FromClause,
        names: Sequence[str],
        *,
        returning: Sequence[ColumnElement[Any]] = (),
        max_rows: int = 64,
    ) -> None:
        self._table = cast(Table, table)
        self._names = list(names)
        self._returning = list(returning)
        self._max_rows = max_rows
        self._by_count: dict[int, PreparedWrite] = {}

    async def run(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        count = len(rows)
        if count == 0:
            return []
        if count > self._max_rows:
            statement = insert(self._table)
            if self._returning:
                statement = statement.returning(*self._returning)
            result = await session.execute(statement, [{name: row[name] for name in self._names} for row in rows])
            return list(result.all()) if self._returning else []
        write = self._by_count.get(count)
        if write is None:
            values = [_bound(self._table, self._names, f"_{index}") for index in range(count)]
            statement = insert(self._table).values(values)
            if self._returning:
                statement = statement.returning(*self._returning)
            write = self._by_count[count] = PreparedWrite(statement)
        return await write.run(
            session, {f"{name}_{index}": row[name] for index, row in enumerate(rows) for name in self._names}
        )


class PreparedUpsert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of the ``replace`` columns, one row, prepared for each
    dialect (the statement is dialect-specific): one statement where the ORM's ``merge`` reads first, and no
    unique-key race between two first-time writers."""

    def __init__(self, table: FromClause, replace: Sequence[str]) -> None:
        keys = [column.name for column in table.primary_key]
        self._by_dialect: dict[str, PreparedWrite] = {}
        columns = [column.name for column in table.columns]
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite)):
            statement = dialect.insert(cast(Table, table)).values(_bound(table, columns))
            excluded = {column: statement.excluded[column] for column in replace}
            self._by_dialect[name] = PreparedWrite(statement.on_conflict_do_update(index_elements=keys, set_=excluded))

    def for_dialect(self, name: str) -> PreparedWrite:
        """The statement for the dialect ``name`` (``postgresql`` or ``sqlite``)."""
        return self._by_dialect[name]

    async def run(self, session: AsyncSession, values: Mapping[str, Any]) -> None:
        await self.for_dialect(dialect_name(session)).run(session, values)
