"""Typed helpers over an async SQLAlchemy session and the results it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession


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
