"""Typed helpers over an async SQLAlchemy session and the results it returns."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """``postgresql`` or ``sqlite``: the backend of the engine the session is bound to."""
    bind = session.bind
    assert bind is not None, "sessions come from a sessionmaker bound to an engine"
    return bind.dialect.name


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``session.execute`` types every result as a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount
