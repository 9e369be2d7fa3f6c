"""Keyset pagination: opaque cursors holding the sort value and id of the last item seen."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import QueryableAttribute

from app.domain.errors import BadUserInput
from app.domain.queries import Direction, Page, PageRequest

# What queries filter and sort on: a Core expression, or a mapped attribute such as ``VersionRow.id``.
SqlColumn: TypeAlias = ColumnElement[Any] | QueryableAttribute[Any]


def encode_cursor(sort_value: Any, row_id: int) -> str:
    if isinstance(sort_value, datetime):
        sort_value = {"t": sort_value.isoformat()}
    raw = json.dumps([sort_value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_MAX_ID = 2**63 - 1


def _check_sort_value(value: Any, expected: type) -> Any:
    """The decoded sort value, if it has the type the ordering sorts on (a cursor of another orderBy has not)."""
    if expected is datetime:
        return datetime.fromisoformat(value["t"])
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_ID:
        return value
    if expected is str and isinstance(value, str):
        return value
    raise ValueError("sort value of another type")


def decode_cursor(cursor: str, expected: type) -> tuple[Any, int]:
    """The (sort value, id) in a cursor, checked against the type of the ordering's sort key."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id <= _MAX_ID:
            raise ValueError("row id out of range")
        return _check_sort_value(sort_value, expected), row_id
    except (ValueError, TypeError, KeyError, IndexError, json.JSONDecodeError):
        raise BadUserInput(
            "after is not a cursor this server handed out: pass an endCursor from a previous page, "
            "with the same filter and orderBy",
            field="after",
        ) from None


def after_condition(
    sort_key: SqlColumn, id_column: SqlColumn, direction: Direction, cursor: str
) -> ColumnElement[bool]:
    """Rows strictly after the cursor in (sort_key, id) order."""
    value, row_id = decode_cursor(cursor, sort_key.type.python_type)
    if direction is Direction.ASC:
        return or_(sort_key > value, and_(sort_key == value, id_column > row_id))
    return or_(sort_key < value, and_(sort_key == value, id_column < row_id))


def ordered(query: Select, sort_key: SqlColumn, id_column: SqlColumn, direction: Direction) -> Select:
    if direction is Direction.ASC:
        return query.order_by(sort_key.asc(), id_column.asc())
    return query.order_by(sort_key.desc(), id_column.desc())


async def fetch_page(
    session: Any,
    query: Select,
    *,
    sort_key: SqlColumn,
    id_column: SqlColumn,
    direction: Direction,
    page: PageRequest,
    with_total: bool,
    convert: Any,
    row_id: Any = None,
) -> Page[Any]:
    """Run ``query`` (which must select the sort key as its last column) as one page.

    ``convert(row)`` turns each result row into a domain object. Fetches one row more than asked to know
    whether another page follows. ``row_id(row)`` gives the id for the cursor (default: ``row[0].id``).
    """
    total = 0
    if with_total:
        total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    paged = query
    if page.after:
        paged = paged.where(after_condition(sort_key, id_column, direction, page.after))
    paged = ordered(paged, sort_key, id_column, direction).limit(page.first + 1)
    rows: Sequence[Any] = (await session.execute(paged)).all()
    identify = row_id or (lambda row: row[0].id)
    items = [(encode_cursor(row[-1], identify(row)), convert(row)) for row in rows[: page.first]]
    return Page(items=items, has_next_page=len(rows) > page.first, total_count=total)
