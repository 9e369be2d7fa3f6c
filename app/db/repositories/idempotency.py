"""Idempotency keys: claimed first in the transaction of the work they guard, completed with its result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.idempotency import IdempotencyRecord

from ..idempotency_tables import IdempotencyKeyRow
from ..sessions import dialect_name


class SqlIdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(
        self, subject: str, operation: str, key: str, digest: str, now: datetime, expired_before: datetime
    ) -> IdempotencyRecord | None:
        """Take ``key`` for this call (None) or return the record of the call that holds it.

        Expired keys of the subject are dropped first. On PostgreSQL a concurrent call with the same key waits on the
        insert until the holder commits (then its record is read here) or rolls back (then this call takes the key).
        """
        row = IdempotencyKeyRow
        await self._session.execute(delete(row).where(row.subject == subject, row.created_at <= expired_before))
        dialect = postgresql if dialect_name(self._session) == "postgresql" else sqlite
        statement = (
            dialect.insert(row)
            .values(subject=subject, operation=operation, key=key, digest=digest, result_id=None, created_at=now)
            .on_conflict_do_nothing(index_elements=[row.subject, row.operation, row.key])
            .returning(row.key)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is not None:
            return None
        found = (
            await self._session.execute(
                select(row).where(row.subject == subject, row.operation == operation, row.key == key)
            )
        ).scalar_one()
        return IdempotencyRecord(
            found.subject, found.operation, found.key, found.digest, found.result_id, found.created_at
        )

    async def complete(self, subject: str, operation: str, key: str, result_id: int) -> None:
        row = IdempotencyKeyRow
        await self._session.execute(
            update(row)
            .where(row.subject == subject, row.operation == operation, row.key == key)
            .values(result_id=result_id)
        )

    async def forget_expired(self, expired_before: datetime) -> int:
        """Delete every key created before ``expired_before``; returns how many."""
        result = await self._session.execute(
            delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at <= expired_before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
