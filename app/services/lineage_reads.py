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
from app.domain.queries import Page, PageRequest, check_page

from .lineage_links import entities_of
from .reads import RegistryReader


class LineageReads(RegistryReader):
    async def lineage(self, principal: Principal, request: WalkRequest) -> LineageGraph:
        """The nodes within ``depth`` hops of the root in the chosen direction and the edges among them."""
        await self._require(principal)
        request.validate()
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(request.root)
            if root_id is None:
                root = (await entities_of(uow, [request.root])).get(request.root)
                if root is None:
                    raise NotFound(f"no {request.root.kind.value} has this id", field="id")
                return LineageGraph(request.root, [GraphNode(request.root, 0, root)], [], False)
            walk = await uow.walks.walk(root_id, request.direction, request.depth, request.kinds, request.max_nodes)
            entities = await entities_of(uow, [row.ref for row in walk.nodes])
        refs = {row.node_id: row.ref for row in walk.nodes}
        nodes = [GraphNode(row.ref, row.depth, entities[row.ref]) for row in walk.nodes if row.ref in entities]
        edges = [
            LineageEdge(
                edge.kind, refs[edge.source_id], refs[edge.target_id], edge.relation, edge.created_at, edge.created_by
            )
            for edge in walk.edges
        ]
        return LineageGraph(request.root, nodes, edges, walk.truncated)

    async def impacted_versions(
        self, principal: Principal, ref: NodeRef, stage: Stage | None, page: PageRequest, with_total: bool
    ) -> Page[ModelVersion]:
        """Every version downstream of a node, through DERIVED_FROM chains too, optionally in one stage."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(ref)
            if root_id is None:
                if not await entities_of(uow, [ref]):
                    raise NotFound(f"no {ref.kind.value} has this id", field="nodeId")
                return Page()
            return await uow.walks.downstream_versions(root_id, stage, page, with_total)

    async def reproducibility(self, principal: Principal, versions: list[ModelVersion]) -> dict[int, Reproducibility]:
        """For a batch of versions: run, commit, datasets (also those of the run), parents, and what is missing.
        A fixed number of statements for any number of versions."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            nodes = await uow.lineage.version_nodes([v.id for v in versions])
            into_versions = await uow.lineage.sources(
                list(nodes.values()), [*DATASET_USES, EdgeKind.PRODUCED, EdgeKind.BUILT_FROM, EdgeKind.DERIVED_FROM]
            )
            first_refs = await uow.lineage.refs(list({source for _, _, source, _ in into_versions}))
            # External nodes may stand where datasets, runs and commits do; the record lists only the latter.
            run_of = {
                target: source
                for target, kind, source, _ in into_versions
                if kind is EdgeKind.PRODUCED and first_refs[source].kind is NodeKind.RUN
            }
            into_runs = await uow.lineage.sources(list(set(run_of.values())), [*DATASET_USES, EdgeKind.BUILT_FROM])
            refs = {**first_refs, **await uow.lineage.refs(list({source for _, _, source, _ in into_runs}))}
            entities = await entities_of(uow, list(refs.values()))

        def entity(node_id: int, kind: NodeKind) -> Any:
            ref = refs.get(node_id)
            return entities.get(ref) if ref is not None and ref.kind is kind else None

        result = {}
        for version in versions:
            node_id = nodes.get(version.id)
            mine = [edge for edge in into_versions if edge[0] == node_id]
            run_node = run_of.get(node_id) if node_id is not None else None
            runs = [edge for edge in into_runs if edge[0] == run_node]
            run = entity(run_node, NodeKind.RUN) if run_node else None
            commits = [
                entity(source, NodeKind.CODE_COMMIT)
                for _, kind, source, _ in [*mine, *runs]
                if kind is EdgeKind.BUILT_FROM
            ]
            datasets = [
                DatasetLink(entity(source, NodeKind.DATASET), kind, edge_set is runs)
                for edge_set in (mine, runs)
                for _, kind, source, _ in edge_set
                if kind in DATASET_USES and entity(source, NodeKind.DATASET) is not None
            ]
            parents = [
                (entity(source, NodeKind.MODEL_VERSION), relation)
                for _, kind, source, relation in mine
                if kind is EdgeKind.DERIVED_FROM
            ]
            commit = next((found for found in commits if found is not None), None)
            result[version.id] = Reproducibility(
                run, commit, datasets, parents, missing_for_reproduction(version, run, commit, datasets)
            )
        return result

    async def nodes(self, principal: Principal, refs: list[NodeRef]) -> dict[NodeRef, Any]:
        """Datasets, runs, commits, external nodes or versions by reference (for ``node(id:)`` and lookups)."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await entities_of(uow, refs)

    async def datasets(self, principal: Principal, filter: DatasetFilter, page: PageRequest, with_total: bool) -> Page:
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.lineage.list_datasets(filter, page, with_total)

    async def runs(self, principal: Principal, filter: RunFilter, page: PageRequest, with_total: bool) -> Page:
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.lineage.list_runs(filter, page, with_total)
