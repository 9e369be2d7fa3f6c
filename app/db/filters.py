"""Filter building blocks shared by the model and version repositories."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, select

from app.domain.queries import NumberMatch, TagMatch, TextMatch, TimeRange

from .pagination import SqlColumn
from .tables import TAG_VALUE_INDEX_PREFIX, ModelTagRow, VersionTagRow

# Greater than any character, so [prefix, prefix + TOP) is exactly the strings starting with prefix
# under the binary collations we use; an index range scan serves it.
_TOP = "\U0010ffff"


def text_conditions(column: SqlColumn, match: TextMatch | None) -> list[ColumnElement[bool]]:
    if match is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if match.equals is not None:
        conditions.append(column == match.equals)
    if match.prefix:
        conditions.extend([column >= match.prefix, column < match.prefix + _TOP])
    if match.contains:
        conditions.append(column.icontains(match.contains, autoescape=True))
    if match.not_equals is not None:
        conditions.append(column != match.not_equals)
    if match.like is not None:
        conditions.append(column.like(match.like))
    if match.ilike is not None:
        conditions.append(column.ilike(match.ilike))
    if match.one_of is not None:
        conditions.append(column.in_(match.one_of))
    if match.none_of is not None:
        conditions.append(column.not_in(match.none_of))
    return conditions


def number_conditions(column: SqlColumn, match: NumberMatch | None) -> list[ColumnElement[bool]]:
    if match is None:
        return []
    bounds = [
        (match.equals, column.__eq__),
        (match.not_equals, column.__ne__),
        (match.gt, column.__gt__),
        (match.gte, column.__ge__),
        (match.lt, column.__lt__),
        (match.lte, column.__le__),
    ]
    return [compare(value) for value, compare in bounds if value is not None]


def time_conditions(column: SqlColumn, window: TimeRange | None) -> list[ColumnElement[bool]]:
    if window is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if window.after is not None:
        conditions.append(column >= window.after)
    if window.before is not None:
        conditions.append(column < window.before)
    return conditions


def tag_conditions(
    tag_table: type[ModelTagRow] | type[VersionTagRow],
    owner_column: SqlColumn,
    owner_fk: str,
    tags: tuple[TagMatch, ...],
) -> list[ColumnElement[bool]]:
    """One EXISTS per wanted tag, written to use the (key, substr(value)) index."""
    conditions: list[ColumnElement[bool]] = []
    for tag in tags:
        where = [getattr(tag_table, owner_fk) == owner_column, tag_table.key == tag.key]
        if tag.value is not None:
            # Literal arguments, so the planner matches the expression index.
            indexed = func.substr(tag_table.value, literal_column("1"), literal_column(str(TAG_VALUE_INDEX_PREFIX)))
            where.append(indexed == tag.value[:TAG_VALUE_INDEX_PREFIX])
            where.append(tag_table.value == tag.value)
        if tag.not_equals is not None:
            # MLflow's meaning: the tag is absent or has another value (its client filters prompts out this way)
            same = [*where, tag_table.value == tag.not_equals]
            conditions.append(~exists(select(1).where(and_(*same))))
            continue
        if tag.like is not None:
            where.append(tag_table.value.like(tag.like))
        if tag.ilike is not None:
            where.append(tag_table.value.ilike(tag.ilike))
        conditions.append(exists(select(1).where(and_(*where))))
    return conditions
