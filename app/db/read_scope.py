"""A caller's read scope as a SQL predicate (scoped reads, docs/authorization.md#scoped-reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_

from app.domain.read_scope import EVERYTHING, ReadScope

from .pagination import SqlColumn


def stored_scope(text: str | None) -> ReadScope:
    """A read scope as stored with what was created under it (a webhook's): namespaces separated by spaces, NULL
    for everything."""
    return EVERYTHING if text is None else ReadScope(tuple(text.split()))


def name_in_scope(name: SqlColumn, scope: ReadScope) -> list[ColumnElement[Any]]:
    """Conditions keeping the rows whose model name ``name`` the scope covers: none for everything, else one
    name range per namespace (``fraud/ <= name < fraud0``), which an index on the name scans. ``name`` must compare
    bytewise (``registered_models.name`` has the C collation on PostgreSQL, SQLite compares bytes)."""
    if scope.namespaces is None:
        return []
    if not scope.namespaces:
        return [false()]
    return [or_(*(and_(name >= low, name < high) for low, high in scope.ranges()))]


def text_in_scope(name: SqlColumn, scope: ReadScope) -> list[ColumnElement[Any]]:
    """As ``name_in_scope`` for a column of the database's own collation (``audit_events.target_name``): a prefix
    comparison, exact on every collation; NULL (an event about no model) is outside every namespace."""
    if scope.namespaces is None:
        return []
    if not scope.namespaces:
        return [false()]
    return [or_(*(func.substr(name, 1, len(ns)) == ns for ns in scope.namespaces))]
