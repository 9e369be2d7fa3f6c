"""Lineage use cases that read: walking the graph, impact analysis, reproducibility, datasets and runs."""

from __future__ import annotations

from typing import Any

from app.domain.entities import ModelVersion, Stage
from app.domain.errors import NotFound
from app.domain.identity import Principal
from app.domain.lineage import (
    DATASET_USES,
    EdgeKind,
    GraphNode,
    LineageEdge,
    LineageGraph,
    NodeKind,
    NodeRef,
    WalkRequest,
)
from app.domain.lineage_queries import DatasetFilter, RunFilter
from app.domain.lineage_views import DatasetLink, Reproducibility, missing_for_reproduction
from app.domain.queries import Page, PageRequest

from .common import check_page
from .ports import UnitOfWork
from .reads import RegistryReader


async def _entities(uow: UnitOfWork, refs: list[NodeRef]) -> dict[NodeRef, Any]:
    """The entity behind each reference: one statement per kind present."""
    found: dict[NodeRef, Any] = {}
    for kind in NodeKind:
        keys = [ref.key for ref in refs if ref.kind is kind]
        if keys:
            batch = await (uow.versions.get_many(keys) if kind is NodeKind.MODEL_VERSION
                           else uow.lineage.entities(kind, keys))
            found.update({NodeRef(kind, key): entity for key, entity in batch.items()})
    return found


class LineageReads(RegistryReader):
    async def lineage(self, principal: Principal, request: WalkRequest) -> LineageGraph:
        """The nodes within ``depth`` hops of the root in the chosen direction and the edges among them."""
        await self._require(principal)
        request.validate()
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(request.root)
            if root_id is None:
                root = (await _entities(uow, [request.root])).get(request.root)
                if root is None:
                    raise NotFound(f"no {request.root.kind.value} has this id", field="id")
                return LineageGraph(request.root, [GraphNode(request.root, 0, root)], [], False)
            walk = await uow.walks.walk(root_id, request.direction, request.depth, request.kinds, request.max_nodes)
            entities = await _entities(uow, [row.ref for row in walk.nodes])
        refs = {row.node_id: row.ref for row in walk.nodes}
        nodes = [GraphNode(row.ref, row.depth, entities[row.ref]) for row in walk.nodes if row.ref in entities]
        edges = [LineageEdge(edge.kind, refs[edge.source_id], refs[edge.target_id], edge.relation, edge.created_at,
                             edge.created_by) for edge in walk.edges]
        return LineageGraph(request.root, nodes, edges, walk.truncated)

    async def impacted_versions(self, principal: Principal, ref: NodeRef, stage: Stage | None, page: PageRequest,
                                with_total: bool) -> Page[ModelVersion]:
        """Every version downstream of a node, through DERIVED_FROM chains too, optionally in one stage."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(ref)
            if root_id is None:
                if not await _entities(uow, [ref]):
                    raise NotFound(f"no {ref.kind.value} has this id", field="nodeId")
                return Page()
            return await uow.walks.downstream_versions(root_id, stage, page, with_total)

    async def reproducibility(self, principal: Principal, versions: list[ModelVersion]) -> dict[int, Reproducibility]:
        """For a batch of versions: run, commit, datasets (also those of the run), parents, and what is missing.
        A fixed number of statements for any number of versions."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            nodes = await uow.lineage.version_nodes([v.id for v in versions])
            into_versions = await uow.lineage.sources(list(nodes.values()), [*DATASET_USES, EdgeKind.PRODUCED,
                                                                             EdgeKind.BUILT_FROM, EdgeKind.DERIVED_FROM])
            run_of = {target: source for target, kind, source, _ in into_versions if kind is EdgeKind.PRODUCED}
            into_runs = await uow.lineage.sources(list(set(run_of.values())), [*DATASET_USES, EdgeKind.BUILT_FROM])
            refs = await uow.lineage.refs(list({source for _, _, source, _ in [*into_versions, *into_runs]}))
            entities = await _entities(uow, list(refs.values()))
        entity = lambda node_id: entities.get(refs.get(node_id))  # noqa: E731
        result = {}
        for version in versions:
            node_id = nodes.get(version.id)
            mine = [edge for edge in into_versions if edge[0] == node_id]
            run_node = run_of.get(node_id)
            runs = [edge for edge in into_runs if edge[0] == run_node]
            run = entity(run_node) if run_node else None
            commits = [entity(source) for _, kind, source, _ in [*mine, *runs] if kind is EdgeKind.BUILT_FROM]
            datasets = [DatasetLink(entity(source), kind, edge_set is runs)
                        for edge_set in (mine, runs) for _, kind, source, _ in edge_set if kind in DATASET_USES]
            parents = [(entity(source), relation) for _, kind, source, relation in mine
                       if kind is EdgeKind.DERIVED_FROM]
            commit = commits[0] if commits else None
            result[version.id] = Reproducibility(run, commit, datasets, parents,
                                                 missing_for_reproduction(version, run, commit, datasets))
        return result

    async def nodes(self, principal: Principal, refs: list[NodeRef]) -> dict[NodeRef, Any]:
        """Datasets, runs, commits, external nodes or versions by reference (for ``node(id:)`` and lookups)."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await _entities(uow, refs)

    async def datasets(self, principal: Principal, filter: DatasetFilter, page: PageRequest,
                       with_total: bool) -> Page:
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.lineage.list_datasets(filter, page, with_total)

    async def runs(self, principal: Principal, filter: RunFilter, page: PageRequest, with_total: bool) -> Page:
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.lineage.list_runs(filter, page, with_total)
