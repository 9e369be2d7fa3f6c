"""Typed helpers over an async SQLAlchemy session and the results it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, FromClause, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the backend of the engine the session is bound to."""
    bind = session.bind
    assert bind is not None, "sessions come from a sessionmaker bound to an engine"
    return bind.dialect.name


@asynccontextmanager
async def race_guard(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint around an insert that a concurrent transaction may have made first (the caller looked, found
    nothing, and catches the IntegrityError). Only PostgreSQL needs it: SQLite's writer holds the database's write
    lock from BEGIN IMMEDIATE, so nobody inserts between the look and the insert, and the savepoint's two statements
    would be spent for nothing."""
    if dialect_name(session) == "sqlite":
        yield
        return
    async with session.begin_nested():
        yield


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``session.execute`` types every result as a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount


def upsert(session: AsyncSession, table: FromClause, values: Mapping[str, Any], replace: list[str]) -> Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of the ``replace`` columns, in the session's dialect: one
    statement where the ORM's ``merge`` reads first, and no unique-key race between two first-time writers."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    insert = dialect.insert(table).values(**values)
    keys = [column.name for column in table.primary_key]
    return insert.on_conflict_do_update(index_elements=keys, set_={name: insert.excluded[name] for name in replace})
