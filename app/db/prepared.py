"""Hot statements run straight on the session's database connection, skipping SQLAlchemy's execution machinery.

A prebuilt Core ``SELECT`` executed through ``AsyncSession.execute`` cost about 150 us of CPU on SQLite, of which
the driver's own work was 10-15 us: the rest is SQLAlchemy's per-execution work (cache key, execution context,
result object, one greenlet switch per cursor call). The registry's hottest reads (a model by name, tags, metrics,
aliases, newest versions) are a handful of fixed statements, so a ``PreparedRead`` compiles each once per dialect
(on SQLite, per length of its ``IN`` lists; PostgreSQL takes each list as one array), keeps the column types' result
processors, and runs the SQL on the driver connection of the session's own transaction: the same SQL, the same
values, at a fraction of the cost. The write path's fixed statements are prepared the same way: a ``PreparedWrite``
(an ``INSERT``, ``UPDATE`` or ``DELETE`` with its ``RETURNING`` rows: a new version, the audit record, a lineage
node), and in prepared_rows.py ``PreparedRows`` (one ``INSERT`` of many rows: a version's tags and metrics, the
outbox events) and ``PreparedUpsert`` (a tag, per dialect).

What is kept from SQLAlchemy's path:

- the statement runs in the session's transaction, on its connection (``BEGIN`` is issued as before), after the
  session's pending ORM changes are flushed (the ORM writes these statements replaced flushed them too), and
  never in a transaction SQLAlchemy has given up (a failed flush): that raises as ``session.execute`` would;
- each statement is announced to the engine's ``before_cursor_execute`` listeners (statement counts per request,
  the N+1 and request-cost tests), with no execution context;
- values go in as SQLAlchemy would send them (each parameter's bind processor: times, JSON), and rows come back
  with the values SQLAlchemy would give (each column's result processor, from the driver's ``description``),
  read by attribute or unpacked like SQLAlchemy's rows.

Engines that are traced (OpenTelemetry's SQLAlchemy spans need an execution context) use SQLAlchemy's path.
"""

from __future__ import annotations

import functools
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    CursorResult,
    Delete,
    Insert,
    Select,
    Update,
    any_,
    bindparam,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from .sessions import remember, remembered
from .sqlite_inline import InlineConnection

Processor = Callable[[Any], Any] | None

# Pools of engines with OpenTelemetry's statement spans: their listeners need SQLAlchemy's execution context.
_TRACED: weakref.WeakSet[Any] = weakref.WeakSet()

# Plans per IN-list length kept per statement and dialect; longer tails of lengths take SQLAlchemy's path.
_MAX_PLANS = 256

Statement = Select[Any] | Insert | Update | Delete
S = TypeVar("S", bound=Statement)


def row_type(keys: Sequence[str | None]) -> Any | None:
    """A named tuple type with fields ``keys``, read by attribute or index like SQLAlchemy's rows (an attribute
    costs about 30 ns against a ``Row``'s 370); None when the keys are not distinct names usable as attributes."""
    names = tuple(key or "" for key in keys)
    if len(set(names)) != len(names) or not all(name.isidentifier() and not name.startswith("_") for name in names):
        return None
    return _named_tuple(names)


@functools.lru_cache(maxsize=512)
def _named_tuple(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names)


def use_sqlalchemy_path(engine: AsyncEngine) -> None:
    """Send every prepared statement on ``engine`` (and on the engines sharing its pool, as one with other execution
    options does) through ``AsyncSession.execute``: for traced engines."""
    _TRACED.add(engine.sync_engine.pool)


def bind_processors(compiled: Compiled, dialect: Dialect) -> dict[str, Any]:
    """The converters of a compiled statement's parameters by their rendered names (anonymous ones resolved), for
    the parameters whose types convert values."""
    found: dict[str, Any] = {}
    for bind, name in cast(SQLCompiler, compiled).bind_names.items():
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            found[name] = convert
    return found


def in_lists_as_arrays(statement: S) -> S:
    """``statement`` with each ``column IN (expanding parameter)`` made ``column = ANY(array parameter)``, for
    PostgreSQL: one statement text whatever the lists' lengths, so the server's prepared statement is reused and
    the driver's statement cache does not fill with one statement per length."""

    def replace(element: Any, **_: Any) -> Any | None:
        if (
            isinstance(element, BinaryExpression)
            and element.operator is operators.in_op
            and isinstance(element.right, BindParameter)
            and element.right.expanding
            and element.right.required  # a list the caller gives; the statement's own lists have one length
        ):
            parameter = element.right
            return element.left == any_(bindparam(parameter.key, type_=ARRAY(parameter.type), required=True))
        return None

    return cast(S, replacement_traverse(statement, {}, replace))


def _result_processor(type_: Any, dialect: Dialect, coltype: Any) -> Processor | None:
    """The column's result processor: the type's own fused one when it has one (``UTCDateTime``), else SQLAlchemy's."""
    fused = getattr(type_, "fused_result_processor", None)
    if fused is not None:
        return cast(Processor, fused(dialect, coltype))
    return cast(Processor | None, type_.dialect_impl(dialect).result_processor(dialect, coltype))


class Plan:
    """An executable form of a statement: its SQL (``sql``, set by subclasses) and how its rows are built."""

    sql: str

    def __init__(self, statement: Statement, dialect: Dialect, row: Any) -> None:
        self._types = [column.type for column in statement.exported_columns]
        self.returns_rows = bool(self._types)  # a SELECT, or a write with RETURNING
        self._dialect = dialect
        self.row = row  # the named tuple of its rows (``row_type``), None until known
        self.result_processors: list[Processor] | None = None  # from the first execution's cursor description

    def rows(self, raw_rows: list[Any], description: Sequence[Any] | None, plain: bool = False) -> list[Any]:
        """Rows made from the driver's, named tuples or (``plain``) tuples; ``description`` is needed with the first
        only (building it has a cost)."""
        if not self.returns_rows:
            return []
        processors = self.result_processors
        if processors is None:
            assert description is not None, "the first execution is described"
            processors = self.result_processors = [
                _result_processor(type_, self._dialect, column[1])
                for type_, column in zip(self._types, description, strict=True)
            ]
        make = tuple if plain else self.row._make
        if not any(processors):
            return raw_rows if plain else [make(raw) for raw in raw_rows]
        return [
            make([value if convert is None else convert(value) for convert, value in zip(processors, raw, strict=True)])
            for raw in raw_rows
        ]


class _Plan(Plan):
    """The executable form of a fixed statement per dialect and IN-list lengths: its parameters' defaults and
    converters."""

    def __init__(self, statement: Statement, dialect: Dialect, sample: Mapping[str, Any]) -> None:
        super().__init__(statement, dialect, row_type(list(statement.exported_columns.keys())))
        compiled = statement.compile(dialect=dialect)
        expanded = compiled.construct_expanded_state(dict(sample))
        self.sql = expanded.statement
        self.positions: Sequence[str] | None = expanded.positiontup  # None: named parameters
        self.expansion = {name: names for name, names in expanded.parameter_expansion.items() if name in sample}
        given = set(sample).union(*self.expansion.values())
        # The statement's own bound values (the stage names of an IN, say); the caller's are given on every call.
        self.defaults = {name: value for name, value in expanded.parameters.items() if name not in given}
        # The expanded state converts the items of IN lists only; every other value is converted by its type here.
        self.bind_processors = dict(expanded.processors)
        for name, convert in bind_processors(compiled, dialect).items():
            if name in expanded.parameters:
                self.bind_processors.setdefault(name, convert)

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


_CONNECTION = "modelreg.prepared_connection"  # session.info: the transaction's connection (sessions.remember)


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction, begun if need be. ``AsyncSession.connection()`` costs about
    34 us (a greenlet hop) per call; a unit of work runs a dozen statements on one transaction, so it is kept."""
    sync_session = session.sync_session
    current = _innermost(sync_session)
    cached = remembered(session, _CONNECTION, current)
    if cached is not None and current is not None and current.is_active:
        return cast(AsyncConnection, cached)
    # In a nested transaction this emits its SAVEPOINT; in one rolled back by a failed flush it raises, as
    # SQLAlchemy's own execution would (on SQLite the statement would otherwise run, and commit, outside it).
    connection = await session.connection()
    remember(session, _CONNECTION, _innermost(sync_session), connection)
    return connection


def _innermost(session: Session) -> SessionTransaction | None:
    """The transaction statements run in now: a savepoint's (``begin_nested``) while one is open, else the root's."""
    return session.get_nested_transaction() or session.get_transaction()


async def session_connection(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction, its pending ORM changes flushed first (the driver would not see
    them): where a plan runs."""
    sync_session = session.sync_session
    if sync_session.new or sync_session.dirty or sync_session.deleted:
        await session.flush()
    return await _connection(session)


def preparable_on(connection: AsyncConnection) -> bool:
    """Whether plans may run on ``connection``: not for a traced or echoing engine, which need SQLAlchemy's path."""
    engine = connection.sync_engine
    return engine.pool not in _TRACED and not engine.echo


async def run_plan(
    session: AsyncSession, connection: AsyncConnection, plan: Plan, parameters: Any, plain: bool = False
) -> list[Any]:
    """Run ``plan`` with ``parameters`` (as the driver takes them) on ``connection`` (``session_connection``),
    announced to the engine's statement listeners; its rows, as tuples when ``plain``."""
    dialect = connection.dialect
    sync_connection = connection.sync_connection
    assert sync_connection is not None
    dispatch = sync_connection.dispatch
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(sync_connection, None, plan.sql, parameters, None, False)
    # The session's connection is checked out: its driver is at hand, no I/O needed (asyncpg begins lazily).
    try:
        raw_rows, description = await _run_on_driver(
            sync_connection.connection.dbapi_connection,
            dialect,
            plan.sql,
            parameters,
            fetch=plan.returns_rows,
            describe=plan.returns_rows and plan.result_processors is None,
        )
    except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it, the connection dropped if it is lost
        if dialect.is_disconnect(error, None, None):
            sync_connection.invalidate(error)
            session.info.pop(_CONNECTION, None)
        raise DBAPIError.instance(plan.sql, parameters, error, dialect.loaded_dbapi.Error) from error
    if dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(sync_connection, None, plan.sql, parameters, None, False)
    return plan.rows(raw_rows, description, plain)


class _Prepared(Generic[S]):
    """A Core statement built once and run on the session's connection (``PreparedRead``, ``PreparedWrite``)."""

    def __init__(self, statement: S) -> None:
        keys = list(statement.exported_columns.keys())
        if row_type(keys) is None:
            raise ValueError(f"a prepared statement needs distinct column names usable as attributes, not {keys}")
        compiled = statement.compile()
        binds = list(compiled.binds.values())
        if any(bind.callable is not None for bind in binds):
            raise ValueError("a prepared statement cannot take parameters computed at execution (callable_)")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a prepared statement cannot fill column defaults computed in Python: give every value")
        self.statement: S = statement
        self._required = frozenset(bind.key for bind in binds if bind.required)
        self._expanding = tuple(sorted(bind.key for bind in binds if bind.required and bind.expanding))
        self._plans: dict[tuple[str, tuple[int, ...]], _Plan] = {}

    async def _rows(self, session: AsyncSession, values: Mapping[str, Any], plain: bool = False) -> list[Any]:
        """The rows the statement answers (none for a write without RETURNING), as tuples when ``plain``."""
        if values.keys() != self._required:
            raise ValueError(f"this statement takes the parameters {sorted(self._required)}, not {sorted(values)}")
        if any(not isinstance(values[name], (list, tuple)) for name in self._expanding):
            values = {**values, **{name: list(values[name]) for name in self._expanding}}
        connection = await session_connection(session)
        dialect = connection.dialect
        arrays = dialect.name == "postgresql"  # IN lists go as one array each: one statement whatever their lengths
        lengths = () if arrays else tuple(len(values[name]) for name in self._expanding)
        if not preparable_on(connection) or 0 in lengths:
            return await self._through_sqlalchemy(session, values)
        key = (dialect.name, lengths)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                return await self._through_sqlalchemy(session, values)
            statement = in_lists_as_arrays(self.statement) if arrays else self.statement
            plan = self._plans[key] = _Plan(statement, dialect, values)
        return await run_plan(session, connection, plan, plan.parameters(values), plain)

    async def _through_sqlalchemy(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        result = cast(CursorResult[Any], await session.execute(self.statement, dict(values)))
        return list(result.all()) if result.returns_rows else []


class PreparedRead(_Prepared[Select]):
    """A Core ``SELECT`` built once, run on the session's connection without SQLAlchemy's per-execution work.

    ``await read.all(session, {"ids": [1, 2]})`` answers what ``(await session.execute(read.statement,
    ...)).all()`` would: rows read by attribute or unpacked (named tuples; SQLAlchemy's own rows where its path is
    taken: traced or echoing engines, empty ``IN`` lists on SQLite). Every parameter the statement leaves open must
    be given; expanding (``IN``) parameters are compiled per list length on SQLite, as ``= ANY(array)`` on
    PostgreSQL (``in_lists_as_arrays``).
    """

    async def all(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        return await self._rows(session, values)

    async def first(self, session: AsyncSession, values: Mapping[str, Any]) -> Any | None:
        rows = await self._rows(session, values)
        return rows[0] if rows else None

    async def tuples(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        """The rows for a caller that unpacks them: plain tuples, as the driver gives them when no column needs
        converting (a named tuple costs about 1 us a row to build)."""
        return await self._rows(session, values, plain=True)


class PreparedWrite(_Prepared[Insert | Update | Delete]):
    """A Core ``INSERT``, ``UPDATE`` or ``DELETE`` built once, run like a ``PreparedRead`` in the session's
    transaction. ``await write.run(session, values)`` answers its ``RETURNING`` rows (none without RETURNING).

    Every value is given by the caller: a statement that would fill a column from a default computed in Python
    (SQLAlchemy computes those at execution) is refused when built. The ORM's identity map is not updated, so
    the rows it changes must not be held as ORM objects by the session. Name the parameters of an ``UPDATE`` or
    ``DELETE`` unlike the table's columns: SQLAlchemy's own path (traced engines) would take them for SET values.
    """

    async def run(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        return await self._rows(session, values)


async def _run_on_driver(
    dbapi_connection: Any, dialect: Dialect, sql: str, parameters: Any, *, fetch: bool, describe: bool
) -> tuple[list[Any], Sequence[Any] | None]:
    """Run ``sql`` on a pooled connection's driver (asyncpg through SQLAlchemy's adapter, our inline SQLite
    connection or aiosqlite); its rows if ``fetch``, and its description if ``describe``."""
    if isinstance(dbapi_connection, AsyncAdapt_asyncpg_connection):
        # DDL run through SQLAlchemy marks the dialect's cached statements stale from that time (as its cursor does)
        stale_before = cast(Any, dialect)._invalidate_schema_cache_asof
        return await _run_on_asyncpg(dbapi_connection, sql, parameters, stale_before, fetch=fetch, describe=describe)
    driver = dbapi_connection.driver_connection
    if isinstance(driver, InlineConnection):  # one call, on the loop's thread
        return await driver.fetch_all(sql, parameters, fetch=fetch, describe=describe)
    async with driver.execute(sql, parameters) as cursor:  # aiosqlite: in-memory and URL-configured SQLite files
        return (list(await cursor.fetchall()) if fetch else []), (cursor.description if describe else None)


async def _run_on_asyncpg(
    adapter: Any,  # an AsyncAdapt_asyncpg_connection, whose internals are not typed
    sql: str,
    parameters: Sequence[Any],
    stale_before: float,
    *,
    fetch: bool,
    describe: bool,
) -> tuple[list[Any], Sequence[Any] | None]:
    """What SQLAlchemy's asyncpg cursor does for one statement, without its cursor: in the adapter's transaction
    (its ``BEGIN`` is sent before the first statement, as SQLAlchemy does it, so that commit and rollback know of
    it), with the adapter's prepared statement for ``sql``; errors become the DB-API's, as SQLAlchemy raises them.
    The adapter's internals are SQLAlchemy's (pinned in requirements/); tests/db/test_postgresql_connections.py and
    test_prepared_*.py cover what is used."""
    async with adapter._execute_mutex:
        try:
            if adapter._transaction is None:
                await adapter._start_transaction()
            statement, attributes = await adapter._prepare(sql, stale_before)
            rows = await statement.fetch(*parameters)
        except Exception as error:  # translated and raised, as the adapter's cursor does
            adapter._handle_exception(error)  # raises the translated error
            raise
    description = [(attribute.name, attribute.type.oid) for attribute in attributes] if describe else None
    return (list(map(tuple, rows)) if fetch else []), description
