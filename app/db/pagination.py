"""Keyset pagination: opaque cursors holding the sort value and id of the last item seen."""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeAlias

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import QueryableAttribute

from app.domain.errors import BadUserInput
from app.domain.queries import Direction, Page, PageRequest

from .prepared_queries import query_rows

# What queries filter and sort on: a Core expression, or a mapped attribute such as ``VersionRow.id``.
SqlColumn: TypeAlias = ColumnElement[Any] | QueryableAttribute[Any]


def _standard_json(item: list[Any]) -> bytes:
    return json.dumps(item, separators=(",", ":")).encode()


# Pages encode the same items' cursors request after request; bounded, as the global ids' cache.
@lru_cache(maxsize=8192, typed=True)
def encode_cursor(list_name: str, sort_value: Any, row_id: int) -> str:
    """An opaque cursor naming the list it belongs to, so it is refused by any other list."""
    if isinstance(sort_value, datetime):
        sort_value = {"t": sort_value.isoformat()}
    item = [list_name, sort_value, row_id]
    if isinstance(sort_value, float) and not math.isfinite(sort_value):
        raw = _standard_json(item)  # orjson writes NaN and infinities as null
    else:
        try:  # a page encodes one per item: orjson takes 2 us where the standard library takes 9
            raw = orjson.dumps(item)
        except orjson.JSONEncodeError:  # integers beyond 64 bits, lone surrogates
            raw = _standard_json(item)
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


def decode_cursor(cursor: str, list_name: str, expected: type, argument: str = "after") -> tuple[Any, int]:
    """The (sort value, id) in a cursor of ``list_name``, checked against the type of the ordering's sort key."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        owner, sort_value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if owner != list_name:
            raise ValueError("a cursor of another list")
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id <= _MAX_ID:
            raise ValueError("row id out of range")
        return _check_sort_value(sort_value, expected), row_id
    except (ValueError, TypeError, KeyError, IndexError, json.JSONDecodeError):
        raise BadUserInput(
            f"{argument} is not a cursor of this list: pass a cursor from a page of the same field, "
            "with the same orderBy",
            field=argument,
        ) from None


def beyond_cursor(
    sort_key: SqlColumn, id_column: SqlColumn, direction: Direction, value: Any, row_id: int
) -> ColumnElement[bool]:
    """Rows strictly after (sort value, id) in (sort_key, id) order taken in ``direction``."""
    if direction is Direction.ASC:
        return or_(sort_key > value, and_(sort_key == value, id_column > row_id))
    return or_(sort_key < value, and_(sort_key == value, id_column < row_id))


def _reverse(direction: Direction) -> Direction:
    return Direction.DESC if direction is Direction.ASC else Direction.ASC


def ordered(query: Select, sort_key: SqlColumn, id_column: SqlColumn, direction: Direction) -> Select:
    if direction is Direction.ASC:
        return query.order_by(sort_key.asc(), id_column.asc())
    return query.order_by(sort_key.desc(), id_column.desc())


async def fetch_page(
    session: Any,
    query: Select,
    *,
    list_name: str,
    sort_key: SqlColumn,
    id_column: SqlColumn,
    direction: Direction,
    page: PageRequest,
    with_total: bool,
    convert: Any,
    row_id: Any = None,
) -> Page[Any]:
    """Run ``query`` (which must select the sort key as its last column) as one page of the list ``list_name``
    (which names the ordering field and the parent, when there is one: cursors are refused by any other list;
    the direction is added here).

    Relay's window: rows after ``page.after`` and before ``page.before``, then the first ``first`` or the last
    ``last`` of them, returned in list order. Fetches one row more than asked to know whether more follow (or,
    taken from the end, precede). ``convert(row)`` turns each result row into a domain object; ``row_id(row)``
    gives the id for the cursor (default: ``row[0].id``).
    """
    total = 0
    if with_total:
        ((total,),) = await query_rows(session, select(func.count()).select_from(query.order_by(None).subquery()))
    python_type = sort_key.type.python_type
    list_name = f"{list_name}/{direction.value}"
    paged = query
    if page.after:
        value, key = decode_cursor(page.after, list_name, python_type, "after")
        paged = paged.where(beyond_cursor(sort_key, id_column, direction, value, key))
    if page.before:
        value, key = decode_cursor(page.before, list_name, python_type, "before")
        paged = paged.where(beyond_cursor(sort_key, id_column, _reverse(direction), value, key))
    size = page.size
    walk = _reverse(direction) if page.backward else direction
    rows = await query_rows(session, ordered(paged, sort_key, id_column, walk).limit(size + 1))
    more = len(rows) > size
    kept = list(rows[:size])
    if page.backward:
        kept.reverse()
    identify = row_id or (lambda row: row[0].id)
    items = [(encode_cursor(list_name, row[-1], identify(row)), convert(row)) for row in kept]
    return Page(
        items=items,
        total_count=total,
        # Relay lets a server answer false for the far side when finding out would cost another query; the side
        # a cursor was given for is known to hold items.
        has_next_page=page.before is not None if page.backward else more,
        has_previous_page=more if page.backward else page.after is not None,
    )
