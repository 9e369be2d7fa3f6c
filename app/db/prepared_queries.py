"""Queries built per request (a page with its filters, order and cursor) prepared by their shape.

A ``PreparedRead`` serves a statement written once. A page query is built anew for each request from the filters
asked for, so it cannot be written once; but the requests of an API take few shapes (a tag search, a page of
models), and SQLAlchemy already names a statement's shape: its cache key, equal for statements that differ only in
their bound values, which it extracts in a fixed order. ``query_rows`` compiles a shape once per dialect into a
``Plan`` and runs later statements of the same shape on the session's connection like a prepared read, with the
values their own cache key extracts: the same SQL and values as ``session.execute``, without its execution context,
result object and greenlet switches (about 15% of a tag search's CPU).

Statements that need more than SQL and values take SQLAlchemy's path: those selecting ORM entities (their rows
are ORM objects), those with values rendered at execution (``IN`` lists expand per length; ``literal_execute``)
or computed then (``callable_``), those given values by ``.params()`` or execution options, and any on a traced
engine or a connection with a schema translation map. Like every prepared statement (app/db/prepared.py), it
flushes the session's pending ORM changes first, so a page read in a write transaction sees them.

The cache of shapes is used from the event loop's thread only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.sql.compiler import SQLCompiler

from .prepared import Plan, bind_processors, preparable_on, row_type, run_plan, session_connection

# Shapes kept per process (least recently used dropped first): a deployment's API takes far fewer.
MAX_SHAPES = 512


class _ShapePlan(Plan):
    """A statement's shape compiled for a dialect, and how to bind the values another statement of its shape
    extracts."""

    def __init__(self, statement: Select[Any], dialect: Dialect, compiled: SQLCompiler) -> None:
        super().__init__(statement, dialect, row=None)  # named by the keys of the shape's first rows (query_rows)
        self.sql = compiled.string
        self._compiled = compiled
        self._positions = compiled.positiontup  # None: the driver takes named parameters
        self._escaped = compiled.escaped_bind_names
        self._processors = bind_processors(compiled, dialect)

    def parameters(self, key: CacheKey) -> Sequence[Any] | dict[str, Any]:
        values = self._compiled.construct_params(extracted_parameters=key.bindparams, escape_names=False)
        for name, convert in self._processors.items():
            values[name] = convert(values[name])
        if self._positions is not None:
            return [values[name] for name in self._positions]
        return {self._escaped.get(name, name): value for name, value in values.items()}


_UNPREPARABLE = object()  # a shape that takes SQLAlchemy's path (see the module's docstring)
_shapes: OrderedDict[tuple[str, Any], _ShapePlan | object] = OrderedDict()


async def query_rows(session: AsyncSession, statement: Select[Any]) -> Sequence[Any]:
    """The rows of ``statement`` in the session's transaction, as named tuples (``prepared.row_type``: a page maps
    20 columns of up to 100 rows); SQLAlchemy's rows where its path is taken and their keys cannot be attribute
    names."""
    connection = await session_connection(session)
    key = None
    if preparable_on(connection) and not statement._execution_options:
        key = statement._generate_cache_key()
    translated = connection.sync_connection is None or connection.sync_connection.get_execution_options().get(
        "schema_translate_map"
    )
    if key is None or getattr(key, "params", None) or translated:
        return _named(await session.execute(statement))  # see the module's docstring
    shape = (connection.dialect.name, key.key)
    plan = _plan(shape, statement, connection.dialect, key)
    if plan is not None and plan.row is not None:
        return await run_plan(session, connection, plan, plan.parameters(key))
    result = await session.execute(statement)
    if plan is not None:  # the first of its shape: its rows' keys, as SQLAlchemy names them, name the plan's
        plan.row = row_type(list(result.keys()))
        if plan.row is None:
            _shapes[shape] = _UNPREPARABLE
    return _named(result)


def _plan(shape: tuple[str, Any], statement: Select[Any], dialect: Dialect, key: CacheKey) -> _ShapePlan | None:
    plan = _shapes.get(shape)
    if plan is None:
        compiled = _compiled_if_preparable(statement, dialect, key)
        plan = _ShapePlan(statement, dialect, compiled) if compiled is not None else _UNPREPARABLE
        _shapes[shape] = plan
        if len(_shapes) > MAX_SHAPES:
            _shapes.popitem(last=False)  # the least recently used
    else:
        _shapes.move_to_end(shape)
    return plan if isinstance(plan, _ShapePlan) else None


def _compiled_if_preparable(statement: Select[Any], dialect: Dialect, key: CacheKey) -> SQLCompiler | None:
    if any(isinstance(column["type"], type) for column in statement.column_descriptions):
        return None  # an ORM entity: its rows are objects of the session
    compiled = dialect.statement_compiler(dialect, statement, cache_key=key)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None  # rendered at execution: IN lists, literal_execute
    if any(bind.callable is not None for bind in compiled.binds.values()):
        return None
    return compiled


def _named(result: Any) -> Sequence[Any]:
    row = row_type(list(result.keys()))
    if row is None:
        return cast(Sequence[Any], result.all())
    return [row._make(values) for values in result]
