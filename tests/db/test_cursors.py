"""Cursors (app/db/pagination.py) carry what the standard library's JSON would carry: encoded by orjson where it
writes the same values, by the standard library where it would not (NaN and infinities, integers beyond 64 bits)."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime

import pytest

from app.db.pagination import decode_cursor, encode_cursor

LIST = "versions/createdAt/DESC"


def _carried(cursor: str) -> list:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


@pytest.mark.parametrize(
    "sort_value",
    ["fraud-xgb", "naïve/模型", 7, 2**63 - 1, 2**70, 0.1, 1e16, -0.0, math.nan, math.inf, -math.inf, None],
    ids=repr,
)
def test_a_cursor_carries_the_value_the_standard_library_would(sort_value):
    carried = _carried(encode_cursor(LIST, sort_value, 42))
    expected = json.loads(json.dumps([LIST, sort_value, 42]))
    if isinstance(sort_value, float) and math.isnan(sort_value):
        assert math.isnan(carried[1]) and carried[::2] == expected[::2]
    else:
        assert carried == expected and type(carried[1]) is type(expected[1])


def test_a_time_cursor_reads_back_as_the_same_moment():
    moment = datetime(2026, 12, 7, 3, 30, 15, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(LIST, moment, 42), LIST, datetime) == (moment, 42)
