"""Typed helpers over an async SQLAlchemy session and the results it returns."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction


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


def remembered(session: AsyncSession, key: str, transaction: SessionTransaction | None) -> Any | None:
    """What ``remember`` kept under ``key`` for ``transaction``; None for another transaction or none."""
    memo = session.info.get(key)
    if memo is None or transaction is None or memo[0]() is not transaction:
        return None
    return memo[1]


def remember(session: AsyncSession, key: str, transaction: SessionTransaction | None, value: Any) -> None:
    """Keep ``value`` in ``session.info`` under ``key`` for ``transaction`` only. The transaction is held weakly: it
    holds the session, and the reference cycle would leave the session and all it holds to the cyclic collector."""
    session.info[key] = (weakref.ref(cast(SessionTransaction, transaction)), value)
