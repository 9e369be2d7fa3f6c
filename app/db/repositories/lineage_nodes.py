"""Lineage nodes by identity: finding a dataset, run, commit or external node, and registering one with its node.

A node is a row of ``lineage_nodes`` and a row of its kind's detail table (``DETAILS``). Registration is
idempotent at the service: it looks first (``find_node``) and adds (``add_node``) what it did not find; on
PostgreSQL a concurrent transaction may register the same identity in between, and ``add_node`` then answers None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, literal, null, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lineage import NodeKind

from ..lineage_tables import CodeCommitRow, DatasetRow, ExternalNodeRow, LineageNodeRow, RunRow
from ..mapping import to_commit, to_dataset, to_external, to_run
from ..prepared import PreparedRead, PreparedWrite
from ..prepared_rows import insert_row
from ..sessions import dialect_name

# Per node kind: its detail table and the function that makes the entity.
DETAILS: dict[NodeKind, tuple[Any, Any]] = {
    NodeKind.DATASET: (DatasetRow, to_dataset),
    NodeKind.RUN: (RunRow, to_run),
    NodeKind.CODE_COMMIT: (CodeCommitRow, to_commit),
    NodeKind.EXTERNAL: (ExternalNodeRow, to_external),
}

NODES = cast(Table, LineageNodeRow.__table__)
ADD_NODE = PreparedWrite(insert_row(NODES).returning(*NODES.c))
ADD_DETAIL = {
    kind: PreparedWrite(insert_row(table.__table__).returning(*table.__table__.c))
    for kind, (table, _) in DETAILS.items()
}


def _add_with_node(kind: NodeKind) -> PreparedRead:
    """PostgreSQL: a node of ``kind`` and its detail in one statement, or no row when a transaction registered the
    same identity first. The detail is inserted first, numbered from the nodes' sequence, and skipped on a
    conflict; the node is inserted from what it returned (the foreign key is checked at the statement's end). It
    replaces a savepoint, two inserts and its release: four round trips."""
    table = DETAILS[kind][0].__table__
    given = {column.name: bindparam(column.name, type_=column.type) for column in table.c if column.name != "node_id"}
    numbered = func.nextval(func.pg_get_serial_sequence(NODES.name, "id"))
    detail = (
        postgresql.insert(table)
        .values(node_id=numbered, **given)
        .on_conflict_do_nothing()
        .returning(*table.c)
        .cte("detail")
    )
    node_values = select(
        detail.c.node_id,
        literal(kind.value, NODES.c.kind.type),
        null(),
        bindparam("created_at", type_=NODES.c.created_at.type),
        bindparam("created_by", type_=NODES.c.created_by.type),
    )
    node = (
        insert(NODES)
        .from_select(["id", "kind", "version_id", "created_at", "created_by"], node_values)
        .returning(*NODES.c)
        .cte("node")
    )
    return PreparedRead(select(*detail.c, *node.c).join(node, node.c.id == detail.c.node_id))


ADD_WITH_NODE = {kind: _add_with_node(kind) for kind in DETAILS}


def _finder(kind: NodeKind, *identity: str) -> PreparedRead:
    """The first node of ``kind`` whose detail row has the given values of the ``identity`` columns: one row of the
    detail's and the node's columns (their names do not overlap), which is both arguments of the kind's converter.
    The values are compared with ``=``, so none may be None (the commands' validation sees to it: a dataset without
    a version is found by its digest, which it must have)."""
    detail = DETAILS[kind][0].__table__
    return PreparedRead(
        select(*detail.c, *NODES.c)
        .join(NODES, NODES.c.id == detail.c.node_id)
        .where(*(detail.c[name] == bindparam(name) for name in identity))
        .order_by(detail.c.node_id)
        .limit(1)
    )


DATASET_BY_VERSION = _finder(NodeKind.DATASET, "name", "version")
DATASET_BY_DIGEST = _finder(NodeKind.DATASET, "digest")
RUN = _finder(NodeKind.RUN, "tracker", "run_id")
COMMIT = _finder(NodeKind.CODE_COMMIT, "repository_url", "commit_sha")
EXTERNAL = _finder(NodeKind.EXTERNAL, "name")


async def find_node(session: AsyncSession, kind: NodeKind, finder: PreparedRead, values: dict[str, Any]) -> Any:
    """The entity of ``kind`` that ``finder`` finds with ``values``, or None."""
    row = await finder.first(session, values)
    return DETAILS[kind][1](row, row) if row else None  # one row holds the detail's and the node's columns


async def add_node(session: AsyncSession, kind: NodeKind, actor: str, now: datetime, values: dict[str, Any]) -> Any:
    """Register a node of ``kind`` with its detail ``values``; None when a concurrent transaction registered the same
    identity first (PostgreSQL: the caller looks again)."""
    if dialect_name(session) == "postgresql":
        row = await ADD_WITH_NODE[kind].first(session, {"created_at": now, "created_by": actor, **values})
        return DETAILS[kind][1](row, row) if row else None  # one row holds the detail's and the node's columns
    # SQLite: one writer at a time, so nobody registers the identity between the caller's look and this
    (node,) = await ADD_NODE.run(
        session, {"kind": kind.value, "version_id": None, "created_at": now, "created_by": actor}
    )
    (row,) = await ADD_DETAIL[kind].run(session, {"node_id": node.id, **values})
    return DETAILS[kind][1](row, node)
