"""Lineage nodes and edges: idempotent registration, lookups by id, and the edges around versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lineage import (
    Dataset,
    EdgeKind,
    LineageEdge,
    NodeKind,
    NodeRef,
    Run,
)
from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewExternalNode, NewRun
from app.domain.lineage_queries import DatasetFilter, RunFilter
from app.domain.queries import Direction, Page, PageRequest

from ..filters import text_conditions
from ..lineage_tables import DatasetRow, LineageEdgeRow, LineageNodeRow, RunRow
from ..mapping import ref_of, to_dataset, to_run
from ..pagination import fetch_page
from ..prepared_rows import PreparedRows
from ..sessions import dialect_name, race_guard
from ..tables import VersionRow
from .lineage_nodes import (
    ADD_NODE,
    DETAILS,
    FINDERS,
    VERSION_NODE_WITH_EDGES,
    add_node,
    find_node,
    find_or_add_node,
)

GRAPH_LOCK_KEY = 0x6C696E65616765  # "lineage": pg_advisory_xact_lock key for edge checks


_ADD_EDGES = PreparedRows(
    LineageEdgeRow.__table__, ["source_id", "target_id", "kind", "relation", "created_at", "created_by"]
)


Registration = NewDataset | NewRun | NewCodeCommit | NewExternalNode


def _registration(new: Registration) -> tuple[NodeKind, tuple[str, ...], dict[str, Any]]:
    """The kind of node ``new`` registers, the detail columns that identify it (a dataset by name and version, or by
    digest without a version) and the detail's values."""
    if isinstance(new, NewDataset):
        identity = ("name", "version") if new.version is not None else ("digest",)
        return (
            NodeKind.DATASET,
            identity,
            {
                "name": new.name,
                "version": new.version,
                "uri": new.uri,
                "digest": new.digest,
                "format": new.format,
                "size": new.size,
                "row_count": new.row_count,
                "schema": new.schema,
                "source_system": new.source_system,
            },
        )
    if isinstance(new, NewRun):
        env = new.environment
        return (
            NodeKind.RUN,
            ("tracker", "run_id"),
            {
                "tracker": new.tracker.value,
                "run_id": new.run_id,
                "run_uri": new.run_uri,
                "experiment_name": new.experiment_name,
                "params": new.params,
                "metrics": new.metrics,
                "started_at": new.started_at,
                "ended_at": new.ended_at,
                "python_version": env.python_version,
                "requirements_digest": env.requirements_digest,
                "container_image": env.container_image,
            },
        )
    if isinstance(new, NewCodeCommit):
        return (
            NodeKind.CODE_COMMIT,
            ("repository_url", "commit_sha"),
            {
                "repository_url": new.repository_url,
                "commit_sha": new.commit_sha,
                "branch": new.branch,
            },
        )
    return (
        NodeKind.EXTERNAL,
        ("name",),
        {
            "name": new.name,
            "category": new.category,
            "uri": new.uri,
            "description": new.description,
            "properties": new.properties,
        },
    )


class SqlLineageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # Finding and registering nodes by identity; adding answers None when a concurrent transaction registered the
    # same identity first.

    async def find(self, new: Registration) -> Any:
        """The node ``new`` identifies (a dataset by name and version, or by digest without one), or None."""
        kind, identity, values = _registration(new)
        return await find_node(
            self._session, kind, FINDERS[(kind, identity)], {name: values[name] for name in identity}
        )

    async def add(self, new: Registration, actor: str, now: datetime) -> Any:
        """Register the node ``new`` describes; None when a concurrent transaction registered it first."""
        kind, _, values = _registration(new)
        return await add_node(self._session, kind, actor, now, values)

    async def find_or_add(self, new: Registration, actor: str, now: datetime) -> tuple[Any | None, bool]:
        """The node ``new`` identifies, found or else registered now, and whether it was registered now; (None,
        False) when a concurrent transaction registered it first. On PostgreSQL one statement."""
        kind, identity, values = _registration(new)
        return await find_or_add_node(self._session, kind, identity, actor, now, values)

    # Nodes by id

    async def entities(self, kind: NodeKind, node_ids: list[int]) -> dict[int, Any]:
        """Datasets, runs, commits or external nodes by node id (not versions: the version repository has them)."""
        if not node_ids:
            return {}
        table, convert = DETAILS[kind]
        query = (
            select(table, LineageNodeRow)
            .join(LineageNodeRow, LineageNodeRow.id == table.node_id)
            .where(table.node_id.in_(node_ids))
        )
        return {row[0].node_id: convert(row[0], row[1]) for row in (await self._session.execute(query)).all()}

    async def node_id(self, ref: NodeRef) -> int | None:
        """The lineage node of an entity: None for a version never linked, or an id of another kind."""
        if ref.kind is NodeKind.MODEL_VERSION:
            query = select(LineageNodeRow.id).where(LineageNodeRow.version_id == ref.key)
        else:
            query = select(LineageNodeRow.id).where(LineageNodeRow.id == ref.key, LineageNodeRow.kind == ref.kind.value)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def version_node(self, version_id: int, actor: str, now: datetime) -> int:
        """The node of a version, created on its first link (by this transaction or a concurrent one)."""
        ref = NodeRef(NodeKind.MODEL_VERSION, version_id)
        found = await self.node_id(ref)
        if found is not None:
            return found
        try:
            async with race_guard(self._session):
                node = LineageNodeRow(
                    kind=NodeKind.MODEL_VERSION.value, version_id=version_id, created_at=now, created_by=actor
                )
                self._session.add(node)
                await self._session.flush()
                return node.id
        except IntegrityError:
            found = await self.node_id(ref)
            if found is None:
                raise
            return found

    async def link_new_version(
        self, version_id: int, edges: list[tuple[EdgeKind, int, str | None]], actor: str, now: datetime
    ) -> int:
        """The node of a version created in this transaction, with its incoming edges ``(kind, source node,
        relation)``, distinct: nothing can link a version that did not exist before, so neither is looked for. Two
        statements; on PostgreSQL one."""
        values = {
            "kind": NodeKind.MODEL_VERSION.value,
            "version_id": version_id,
            "created_at": now,
            "created_by": actor,
        }
        if dialect_name(self._session) == "postgresql":
            (node,) = await VERSION_NODE_WITH_EDGES.all(
                self._session,
                {
                    **values,
                    "kinds": [kind.value for kind, _, _ in edges],
                    "sources": [source for _, source, _ in edges],
                    "relations": [relation for _, _, relation in edges],
                },
            )
            return cast(int, node.id)
        (node,) = await ADD_NODE.run(self._session, values)
        await _ADD_EDGES.run(
            self._session,
            [
                {
                    "source_id": source,
                    "target_id": node.id,
                    "kind": kind.value,
                    "relation": relation,
                    "created_at": now,
                    "created_by": actor,
                }
                for kind, source, relation in edges
            ],
        )
        return cast(int, node.id)

    async def lock_graph(self) -> None:
        """Serialise edge checks and inserts among concurrent transactions (PostgreSQL; SQLite has one writer)."""
        if dialect_name(self._session) == "postgresql":
            await self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRAPH_LOCK_KEY})

    async def refs(self, node_ids: list[int]) -> dict[int, NodeRef]:
        rows = await self._session.execute(
            select(LineageNodeRow.id, LineageNodeRow.kind, LineageNodeRow.version_id).where(
                LineageNodeRow.id.in_(node_ids)
            )
        )
        return {row.id: ref_of(row.id, row.kind, row.version_id) for row in rows}

    # Edges

    async def add_edge(
        self, kind: EdgeKind, source_id: int, target_id: int, relation: str | None, actor: str, now: datetime
    ) -> bool:
        """Add the edge; False when it exists (callers look first: this catches a concurrent insert)."""
        try:
            async with race_guard(self._session):
                self._session.add(
                    LineageEdgeRow(
                        source_id=source_id,
                        target_id=target_id,
                        kind=kind.value,
                        relation=relation,
                        created_at=now,
                        created_by=actor,
                    )
                )
                await self._session.flush()
        except IntegrityError:
            return False
        return True

    async def existing_edge(self, kind: EdgeKind, source_id: int, target_id: int) -> LineageEdgeRow | None:
        query = select(LineageEdgeRow).where(
            LineageEdgeRow.source_id == source_id,
            LineageEdgeRow.kind == kind.value,
            LineageEdgeRow.target_id == target_id,
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def produced_versions(self, run_node_id: int) -> list[int]:
        """Ids of the versions a run PRODUCED."""
        query = (
            select(LineageNodeRow.version_id)
            .join(LineageEdgeRow, LineageEdgeRow.target_id == LineageNodeRow.id)
            .where(
                LineageEdgeRow.source_id == run_node_id,
                LineageEdgeRow.kind == EdgeKind.PRODUCED.value,
                LineageNodeRow.version_id.is_not(None),
            )
        )
        return cast(list[int], list((await self._session.execute(query)).scalars()))  # NULLs are filtered out

    async def edge(self, kind: EdgeKind, source_id: int, target_id: int) -> LineageEdge:
        row = await self.existing_edge(kind, source_id, target_id)
        assert row is not None, "edge() describes an edge that exists"
        refs = await self.refs([source_id, target_id])
        return LineageEdge(kind, refs[source_id], refs[target_id], row.relation, row.created_at, row.created_by)

    async def sources(
        self, target_ids: list[int], kinds: list[EdgeKind]
    ) -> list[tuple[int, EdgeKind, int, str | None]]:
        """(target, kind, source, relation) of the edges of these kinds into these nodes, oldest first."""
        if not target_ids:
            return []
        query = (
            select(LineageEdgeRow.target_id, LineageEdgeRow.kind, LineageEdgeRow.source_id, LineageEdgeRow.relation)
            .where(LineageEdgeRow.target_id.in_(target_ids), LineageEdgeRow.kind.in_([k.value for k in kinds]))
            .order_by(LineageEdgeRow.id)
        )
        return [(row[0], EdgeKind(row[1]), row[2], row[3]) for row in (await self._session.execute(query)).all()]

    async def version_nodes(self, version_ids: list[int]) -> dict[int, int]:
        """version id -> node id, for the versions that have lineage."""
        if not version_ids:
            return {}
        rows = await self._session.execute(
            select(LineageNodeRow.version_id, LineageNodeRow.id).where(LineageNodeRow.version_id.in_(version_ids))
        )
        return {cast(int, row[0]): row[1] for row in rows}  # the version ids asked for, so never NULL

    async def derived_children(
        self, version_ids: list[int] | None = None, *, model_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(parent version id, child version id) of DERIVED_FROM edges from these versions, or from any version
        of a model."""
        parent = LineageNodeRow.__table__.alias("parent")
        child = LineageNodeRow.__table__.alias("child")
        query = (
            select(parent.c.version_id, child.c.version_id)
            .select_from(LineageEdgeRow)
            .join(parent, parent.c.id == LineageEdgeRow.source_id)
            .join(child, child.c.id == LineageEdgeRow.target_id)
            .where(LineageEdgeRow.kind == EdgeKind.DERIVED_FROM.value)
        )
        if version_ids is not None:
            query = query.where(parent.c.version_id.in_(version_ids))
        if model_id is not None:
            query = query.join(VersionRow, VersionRow.id == parent.c.version_id).where(VersionRow.model_id == model_id)
        return [(row[0], row[1]) for row in (await self._session.execute(query)).all()]

    # Listing

    async def list_datasets(self, filter: DatasetFilter, page: PageRequest, with_total: bool) -> Page[Dataset]:
        """Datasets by name, then version, newest registration last; a page with keyset cursors on node id."""
        conditions = text_conditions(DatasetRow.name, filter.name)
        for column, value in (
            (DatasetRow.version, filter.version),
            (DatasetRow.digest, filter.digest),
            (DatasetRow.source_system, filter.source_system),
            (DatasetRow.format, filter.format),
        ):
            if value is not None:
                conditions.append(column == value)
        query = (
            select(DatasetRow, LineageNodeRow, DatasetRow.node_id)
            .join(LineageNodeRow, LineageNodeRow.id == DatasetRow.node_id)
            .where(*conditions)
        )
        return await fetch_page(
            self._session,
            query,
            list_name="datasets",
            sort_key=DatasetRow.node_id,
            id_column=DatasetRow.node_id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: to_dataset(row[0], row[1]),
            row_id=lambda row: row[0].node_id,
        )

    async def list_runs(self, filter: RunFilter, page: PageRequest, with_total: bool) -> Page[Run]:
        conditions = text_conditions(RunRow.experiment_name, filter.experiment_name)
        if filter.tracker is not None:
            conditions.append(RunRow.tracker == filter.tracker.value)
        if filter.run_id is not None:
            conditions.append(RunRow.run_id == filter.run_id)
        query = (
            select(RunRow, LineageNodeRow, RunRow.node_id)
            .join(LineageNodeRow, LineageNodeRow.id == RunRow.node_id)
            .where(*conditions)
        )
        return await fetch_page(
            self._session,
            query,
            list_name="runs",
            sort_key=RunRow.node_id,
            id_column=RunRow.node_id,
            direction=Direction.DESC,
            page=page,
            with_total=with_total,
            convert=lambda row: to_run(row[0], row[1]),
            row_id=lambda row: row[0].node_id,
        )
