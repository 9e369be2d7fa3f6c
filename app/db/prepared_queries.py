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
or computed then (``callable_``), and any on a traced engine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.cache_key import CacheKey

from .prepared import Plan, preparable_on, row_type, run_plan, session_connection

# Shapes kept per process (least recently used dropped first): a deployment's API takes far fewer.
MAX_SHAPES = 512


class _ShapePlan(Plan):
    """A statement's shape compiled for a dialect, and how to bind the values another statement of its shape
    extracts."""

    def __init__(self, statement: Select[Any], dialect: Dialect, key: CacheKey) -> None:
        super().__init__(statement, dialect)
        compiled = dialect.statement_compiler(dialect, statement, cache_key=key)
        self.sql = compiled.string
        self._compiled = compiled
        self._positions = compiled.positiontup  # None: the driver takes named parameters
        self._escaped = compiled.escaped_bind_names
        self._processors = {
            name: convert
            for bind, name in compiled.bind_names.items()
            if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

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
    key = statement._generate_cache_key() if preparable_on(connection) else None
    plan = _plan(statement, connection.dialect, key) if key is not None else _UNPREPARABLE
    if not isinstance(plan, _ShapePlan):
        return _named(await session.execute(statement))
    return await run_plan(session, connection, plan, plan.parameters(cast(CacheKey, key)))


def _plan(statement: Select[Any], dialect: Dialect, key: CacheKey) -> _ShapePlan | object:
    shape = (dialect.name, key.key)
    plan = _shapes.get(shape)
    if plan is None:
        plan = _ShapePlan(statement, dialect, key) if _preparable(statement, dialect, key) else _UNPREPARABLE
        _shapes[shape] = plan
        if len(_shapes) > MAX_SHAPES:
            _shapes.popitem(last=False)
    else:
        _shapes.move_to_end(shape)
    return plan


def _preparable(statement: Select[Any], dialect: Dialect, key: CacheKey) -> bool:
    if any(isinstance(column["type"], type) for column in statement.column_descriptions):
        return False  # an ORM entity: its rows are objects of the session
    if row_type(list(statement.exported_columns.keys())) is None:
        return False
    compiled = dialect.statement_compiler(dialect, statement, cache_key=key)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return False  # rendered at execution: IN lists, literal_execute
    return all(bind.callable is None for bind in compiled.binds.values())


def _named(result: Any) -> Sequence[Any]:
    row = row_type(list(result.keys()))
    if row is None:
        return cast(Sequence[Any], result.all())
    return [row._make(values) for values in result]
