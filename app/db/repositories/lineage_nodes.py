"""Lineage nodes by identity: finding a dataset, run, commit or external node, and registering one with its node.

A node is a row of ``lineage_nodes`` and a row of its kind's detail table (``DETAILS``). Registration is
idempotent at the service: it looks first and adds what it did not find (``find_or_add_node``: on PostgreSQL one
statement). On PostgreSQL a concurrent transaction may register the same identity after the look's snapshot was
taken; the registration then answers None, and the service looks again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Table,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lineage import NodeKind

from ..lineage_tables import CodeCommitRow, DatasetRow, ExternalNodeRow, LineageEdgeRow, LineageNodeRow, RunRow
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
EDGES = cast(Table, LineageEdgeRow.__table__)
ADD_NODE = PreparedWrite(insert_row(NODES).returning(*NODES.c))
ADD_DETAIL = {
    kind: PreparedWrite(insert_row(table.__table__).returning(*table.__table__.c))
    for kind, (table, _) in DETAILS.items()
}


def _detail_and_node(kind: NodeKind, where: Any = None) -> tuple[Any, Any]:
    """PostgreSQL: CTEs inserting a detail of ``kind`` (numbered from the nodes' sequence; skipped on a conflict,
    and when ``where`` is false) and its node from what the detail insert returned (the foreign key is checked at the
    statement's end)."""
    table = DETAILS[kind][0].__table__
    given = {column.name: bindparam(column.name, type_=column.type) for column in table.c if column.name != "node_id"}
    numbered = func.nextval(func.pg_get_serial_sequence(NODES.name, "id"))
    values = select(numbered, *given.values())
    if where is not None:
        values = values.where(where)
    detail = (
        postgresql.insert(table)
        .from_select(["node_id", *given], values)
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
    return detail, node


def _add_with_node(kind: NodeKind) -> PreparedRead:
    """PostgreSQL: a node of ``kind`` and its detail in one statement, or no row when a transaction registered the
    same identity first. It replaces a savepoint, two inserts and its release: four round trips."""
    detail, node = _detail_and_node(kind)
    return PreparedRead(select(*detail.c, *node.c).join(node, node.c.id == detail.c.node_id))


ADD_WITH_NODE = {kind: _add_with_node(kind) for kind in DETAILS}


def _found(kind: NodeKind, identity: tuple[str, ...]) -> Select[Any]:
    """The first node of ``kind`` whose detail row has the given values of the ``identity`` columns: one row of the
    detail's and the node's columns (their names do not overlap), which is both arguments of the kind's converter.
    The values are compared with ``=``, so none may be None (the commands' validation sees to it: a dataset without
    a version is found by its digest, which it must have)."""
    detail = DETAILS[kind][0].__table__
    return (
        select(*detail.c, *NODES.c)
        .join(NODES, NODES.c.id == detail.c.node_id)
        .where(*(detail.c[name] == bindparam(name) for name in identity))
        .order_by(detail.c.node_id)
        .limit(1)
    )


def _find_or_add_with_node(kind: NodeKind, identity: tuple[str, ...]) -> PreparedRead:
    """PostgreSQL: the node of ``kind`` found by its ``identity``, or else added with its detail, in one statement
    (a look and an insert were two round trips), with ``created`` saying which. No row when a concurrent transaction
    registered the identity after the statement's snapshot was taken: the caller looks again."""
    found = _found(kind, identity).cte("found")
    detail, node = _detail_and_node(kind, where=~exists(select(found.c.node_id)))
    either = union_all(
        select(*found.c, false().label("created")),
        select(*detail.c, *node.c, true().label("created")).join(node, node.c.id == detail.c.node_id),
    ).subquery("registered")
    return PreparedRead(select(*either.c))


def _version_node_with_edges() -> PreparedRead:
    """PostgreSQL: a new version's node and its incoming edges (one array per column, ``unnest``) in one statement,
    which were two round trips; the node's id."""
    node = insert_row(NODES).returning(NODES.c.id).cte("node")
    edge = (
        func.unnest(
            bindparam("sources", type_=ARRAY(BigInteger())),
            bindparam("kinds", type_=ARRAY(String())),
            bindparam("relations", type_=ARRAY(String())),
        )
        .table_valued("source_id", "kind", "relation")
        .render_derived(name="edge")
    )
    made = select(
        edge.c.source_id,
        node.c.id,
        edge.c.kind,
        edge.c.relation,
        bindparam("created_at", type_=EDGES.c.created_at.type),
        bindparam("created_by", type_=EDGES.c.created_by.type),
    ).join_from(node, edge, true())
    edges = (
        insert(EDGES)
        .from_select(["source_id", "target_id", "kind", "relation", "created_at", "created_by"], made)
        .cte("edges")
    )
    return PreparedRead(select(node.c.id).add_cte(edges))


VERSION_NODE_WITH_EDGES = _version_node_with_edges()


# How each kind of node is identified: the detail columns whose values name one node.
IDENTITIES: list[tuple[NodeKind, tuple[str, ...]]] = [
    (NodeKind.DATASET, ("name", "version")),
    (NodeKind.DATASET, ("digest",)),
    (NodeKind.RUN, ("tracker", "run_id")),
    (NodeKind.CODE_COMMIT, ("repository_url", "commit_sha")),
    (NodeKind.EXTERNAL, ("name",)),
]
FINDERS = {key: PreparedRead(_found(*key)) for key in IDENTITIES}
FIND_OR_ADD = {key: _find_or_add_with_node(*key) for key in IDENTITIES}
DATASET_BY_VERSION = FINDERS[(NodeKind.DATASET, ("name", "version"))]
DATASET_BY_DIGEST = FINDERS[(NodeKind.DATASET, ("digest",))]
RUN = FINDERS[(NodeKind.RUN, ("tracker", "run_id"))]
COMMIT = FINDERS[(NodeKind.CODE_COMMIT, ("repository_url", "commit_sha"))]
EXTERNAL = FINDERS[(NodeKind.EXTERNAL, ("name",))]


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


async def find_or_add_node(
    session: AsyncSession, kind: NodeKind, identity: tuple[str, ...], actor: str, now: datetime, values: dict[str, Any]
) -> tuple[Any | None, bool]:
    """The node of ``kind`` whose detail has ``values`` in its ``identity`` columns, found or else registered with
    ``values`` now, and whether it was registered now; (None, False) when a concurrent transaction registered the
    same identity first (PostgreSQL: the caller looks again)."""
    if dialect_name(session) == "postgresql":
        row = await FIND_OR_ADD[(kind, identity)].first(session, {"created_at": now, "created_by": actor, **values})
        return (DETAILS[kind][1](row, row), row.created) if row else (None, False)
    found = await find_node(session, kind, FINDERS[(kind, identity)], {name: values[name] for name in identity})
    if found is not None:
        return found, False
    added = await add_node(session, kind, actor, now, values)
    return added, added is not None
