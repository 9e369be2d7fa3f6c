"""Hot reads run straight on the session's database connection, skipping SQLAlchemy's execution machinery.

A prebuilt Core ``SELECT`` executed through ``AsyncSession.execute`` cost about 150 us of CPU on SQLite, of which
the driver's own work was 10-15 us: the rest is SQLAlchemy's per-execution work (cache key, execution context,
result object, one greenlet switch per cursor call). The registry's hottest reads (a model by name, tags, metrics,
aliases, newest versions) are a handful of fixed statements, so a ``PreparedRead`` compiles each once per dialect
(and per length of its ``IN`` lists), keeps the column types' result processors, and runs the SQL on the driver
connection of the session's own transaction: the same SQL, the same values, at a fraction of the cost.

What is kept from SQLAlchemy's path:

- the statement runs in the session's transaction, on its connection (``BEGIN`` is issued as before);
- each statement is announced to the engine's ``before_cursor_execute`` listeners (statement counts per request,
  the N+1 and request-cost tests), with no execution context;
- rows come back with the values SQLAlchemy would give (each column's result processor, from the driver's
  ``description``) and are read by attribute or unpacked like SQLAlchemy's rows.

Engines that are traced (OpenTelemetry's SQLAlchemy spans need an execution context) use SQLAlchemy's path.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .sqlite_inline import InlineConnection

Processor = Callable[[Any], Any] | None

# Pools of engines with OpenTelemetry's statement spans: their listeners need SQLAlchemy's execution context.
_TRACED: weakref.WeakSet[Any] = weakref.WeakSet()

# Plans per IN-list length kept per statement and dialect; longer tails of lengths take SQLAlchemy's path.
_MAX_PLANS = 256


def use_sqlalchemy_path(engine: AsyncEngine) -> None:
    """Send every ``PreparedRead`` on ``engine`` (and on the engines sharing its pool, as one with other execution
    options does) through ``AsyncSession.execute``: for traced engines."""
    _TRACED.add(engine.sync_engine.pool)


class _Plan:
    """One executable form of a statement (per dialect and IN-list lengths): its SQL, its parameters' defaults and
    converters, and how rows are built."""

    def __init__(self, statement: Select, dialect: Dialect, sample: Mapping[str, Any]) -> None:
        expanded = statement.compile(dialect=dialect).construct_expanded_state(dict(sample))
        self.sql = expanded.statement
        self.positions: Sequence[str] | None = expanded.positiontup  # None: named parameters
        self.expansion = {name: names for name, names in expanded.parameter_expansion.items() if name in sample}
        given = set(sample).union(*self.expansion.values())
        # The statement's own bound values (the stage names of an IN, say); the caller's are given on every call.
        self.defaults = {name: value for name, value in expanded.parameters.items() if name not in given}
        self.bind_processors = dict(expanded.processors)
        self._types = [column.type for column in statement.selected_columns]
        self._dialect = dialect
        self.row: Any = namedtuple("Row", list(statement.selected_columns.keys()))  # type: ignore[misc]
        self.result_processors: list[Processor] | None = None  # from the first execution's cursor description

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        named = dict(self.defaults)
        for name, value in values.items():
            expanded = self.expansion.get(name)
            if expanded is None:
                named[name] = value
            else:
                named.update(zip(expanded, value, strict=True))
        for name, convert in self.bind_processors.items():
            named[name] = convert(named[name])
        if self.positions is None:
            return named
        return [named[name] for name in self.positions]

    def rows(self, raw_rows: list[Any], description: Sequence[Any]) -> list[Any]:
        processors = self.result_processors
        if processors is None:
            processors = self.result_processors = [
                type_.dialect_impl(self._dialect).result_processor(self._dialect, column[1])
                for type_, column in zip(self._types, description, strict=True)
            ]
        make = self.row._make
        if not any(processors):
            return [make(raw) for raw in raw_rows]
        return [
            make([value if convert is None else convert(value) for convert, value in zip(processors, raw, strict=True)])
            for raw in raw_rows
        ]


class PreparedRead:
    """A Core ``SELECT`` built once, run on the session's connection without SQLAlchemy's per-execution work.

    ``await read.all(session, {"ids": [1, 2]})`` answers what ``(await session.execute(read.statement,
    ...)).all()`` would: rows read by attribute or unpacked (named tuples; SQLAlchemy's own rows where its path is
    taken: traced or echoing engines, empty ``IN`` lists). Every parameter the statement leaves open must be given;
    expanding (``IN``) parameters are compiled per list length.
    """

    def __init__(self, statement: Select) -> None:
        keys = list(statement.selected_columns.keys())
        if len(set(keys)) != len(keys) or not all(key.isidentifier() and not key.startswith("_") for key in keys):
            raise ValueError(f"a prepared read needs distinct column names usable as attributes, not {keys}")
        binds = list(statement.compile().binds.values())
        if any(bind.callable is not None for bind in binds):
            raise ValueError("a prepared read cannot take parameters computed at execution (callable_)")
        self.statement = statement
        self._required = frozenset(bind.key for bind in binds if bind.required)
        self._expanding = tuple(sorted(bind.key for bind in binds if bind.required and bind.expanding))
        self._plans: dict[tuple[str, tuple[int, ...]], _Plan] = {}

    async def all(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        if values.keys() != self._required:
            raise ValueError(f"this read takes the parameters {sorted(self._required)}, not {sorted(values)}")
        if any(not isinstance(values[name], (list, tuple)) for name in self._expanding):
            values = {**values, **{name: list(values[name]) for name in self._expanding}}
        connection = await session.connection()
        lengths = tuple(len(values[name]) for name in self._expanding)
        if connection.sync_engine.pool in _TRACED or connection.sync_engine.echo or 0 in lengths:
            return list((await session.execute(self.statement, dict(values))).all())
        dialect = connection.dialect
        key = (dialect.name, lengths)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                return list((await session.execute(self.statement, dict(values))).all())
            plan = self._plans[key] = _Plan(self.statement, dialect, values)
        parameters = plan.parameters(values)
        sync_connection = connection.sync_connection
        assert sync_connection is not None
        dispatch = sync_connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(sync_connection, None, plan.sql, parameters, None, False)
        # The session's connection has begun its transaction: the driver connection is at hand, no I/O needed.
        try:
            raw_rows, description = await _fetch_all(sync_connection.connection.driver_connection, plan.sql, parameters)
        except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it, the connection dropped if it is lost
            if dialect.is_disconnect(error, None, None):
                sync_connection.invalidate(error)
            raise DBAPIError.instance(plan.sql, parameters, error, dialect.loaded_dbapi.Error) from error
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(sync_connection, None, plan.sql, parameters, None, False)
        return plan.rows(raw_rows, description)

    async def first(self, session: AsyncSession, values: Mapping[str, Any]) -> Any | None:
        rows = await self.all(session, values)
        return rows[0] if rows else None


async def _fetch_all(driver: Any, sql: str, parameters: Any) -> tuple[list[Any], Sequence[Any]]:
    """Run ``sql`` on a driver connection (aiosqlite, our inline SQLite connection or psycopg) and fetch every row."""
    if isinstance(driver, InlineConnection):  # one call, on the loop's thread
        return await driver.fetch_all(sql, parameters)
    if isinstance(driver, aiosqlite.Connection):  # in-memory and URL-configured SQLite databases
        async with driver.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall()), cursor.description
    async with driver.cursor() as cursor:  # psycopg
        await cursor.execute(sql, parameters)
        return await cursor.fetchall(), cursor.description
