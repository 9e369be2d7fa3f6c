"""``UTCDateTime.fused_result_processor`` (the prepared reads' conversion) gives what SQLAlchemy's own result processor
for the type gives, on SQLite (text from the driver) and on PostgreSQL through asyncpg (aware datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from app.db.tables import UTCDateTime

CASES = {
    "sqlite": (
        sqlite.dialect(),
        [
            None,
            "2026-12-07 12:00:00.123456",
            "2026-12-07 12:00:00",
            "1999-01-02 03:04:05.000001",
            "2026-12-07 12:00:00+02:00",  # text with an offset: SQLAlchemy's parse, then UTC
            "2024-01-01",  # a date alone: fromisoformat ignores an offset appended to it
        ],
    ),
    "asyncpg": (
        asyncpg.dialect(),
        [
            None,
            datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC),
            datetime(2026, 12, 7, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 12, 7, 12, 0),  # naive: taken as UTC, as process_result_value does
            datetime(2026, 3, 29, 1, 30, fold=1),
        ],
    ),
}


@pytest.mark.parametrize("backend", list(CASES))
def test_the_fused_processor_gives_what_sqlalchemys_gives(backend):
    dialect, values = CASES[backend]
    column_type = UTCDateTime()
    sqlalchemys = column_type.dialect_impl(dialect).result_processor(dialect, None)
    fused = column_type.fused_result_processor(dialect, None)
    for value in values:
        expected = sqlalchemys(value) if sqlalchemys else value
        got = fused(value)
        assert got == expected
        if got is not None:
            assert got.tzinfo is UTC and got.utcoffset() == timedelta(0)
            assert (got.year, got.hour, got.microsecond) == (expected.year, expected.hour, expected.microsecond)


def test_process_result_value_takes_naive_values_as_utc():
    column_type = UTCDateTime()
    naive = datetime(2026, 12, 7, 12, 0, 0, 5, fold=1)
    assert column_type.process_result_value(naive, None) == naive.replace(tzinfo=UTC)
    assert column_type.process_result_value(naive, None).tzinfo is UTC
    aware = datetime(2026, 12, 7, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert (
        column_type.process_result_value(aware, None) == aware
        and column_type.process_result_value(aware, None).hour == 12
    )
