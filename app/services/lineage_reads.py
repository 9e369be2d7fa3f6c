"""Lineage use cases that read: walking the graph, impact analysis, reproducibility, datasets and runs."""

from __future__ import annotations

from dataclasses import replace
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
    RedactedNode,
    WalkDirection,
    WalkRequest,
)
from app.domain.lineage_queries import DatasetFilter, RunFilter
from app.domain.lineage_views import DatasetLink, Reproducibility, missing_for_reproduction
from app.domain.queries import Page, PageRequest, check_page
from app.domain.read_scope import ReadScope

from .lineage_links import entities_of
from .reads import RegistryReader


def readable(scope: ReadScope, entity: Any) -> bool:
    """Versions within the scope and every shared node (datasets, runs, commits, external nodes)."""
    return not isinstance(entity, ModelVersion) or scope.covers(entity.model_name)


def redact(graph: LineageGraph, scope: ReadScope, direction: WalkDirection) -> LineageGraph:
    """The walk as the caller may see it: each version out of scope a stub (its kind only, a stand-in key), edges
    to it kept, nothing past it: the walk's SQL goes no further than a stub (``SqlLineageWalks.walk`` with the
    scope), and this walk over the result, which drops what is reached only through a stub and counts depths
    again, keeps that true whatever the walk returned."""
    hidden = {node.ref for node in graph.nodes if not readable(scope, node.entity)}
    if not hidden:
        return graph
    onward: dict[NodeRef, list[NodeRef]] = {}
    for edge in graph.edges:
        if direction in (WalkDirection.DOWNSTREAM, WalkDirection.BOTH):
            onward.setdefault(edge.upstream, []).append(edge.downstream)
        if direction in (WalkDirection.UPSTREAM, WalkDirection.BOTH):
            onward.setdefault(edge.downstream, []).append(edge.upstream)
    depth = {graph.root: 0}
    frontier = [graph.root]
    while frontier:
        reached = []
        for ref in frontier:
            if ref in hidden:
                continue  # a stub ends the walk
            for far in onward.get(ref, ()):
                if far not in depth:
                    depth[far] = depth[ref] + 1
                    reached.append(far)
        frontier = reached
    stand_in = {ref: NodeRef(ref.kind, -number) for number, ref in enumerate(sorted(hidden & depth.keys(), key=str), 1)}
    nodes = [
        GraphNode(stand_in[node.ref], depth[node.ref], RedactedNode(node.ref.kind))
        if node.ref in stand_in
        else GraphNode(node.ref, depth[node.ref], node.entity)
        for node in sorted(graph.nodes, key=lambda node: depth.get(node.ref, 0))
        if node.ref in depth
    ]
    edges = [
        replace(
            edge,
            upstream=stand_in.get(edge.upstream, edge.upstream),
            downstream=stand_in.get(edge.downstream, edge.downstream),
        )
        for edge in graph.edges
        if edge.upstream in depth
        and edge.downstream in depth
        and not (edge.upstream in hidden and edge.downstream in hidden)
    ]
    return LineageGraph(graph.root, nodes, edges, graph.truncated)


class LineageReads(RegistryReader):
    async def lineage(self, principal: Principal, request: WalkRequest) -> LineageGraph:
        """The nodes within ``depth`` hops of the root in the chosen direction and the edges among them."""
        await self._require(principal)
        request.validate()
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(request.root)
            root: Any = None
            if root_id is None or not scope.everything:
                root = (await entities_of(uow, [request.root])).get(request.root)
                if root is None or not readable(scope, root):
                    raise NotFound(f"no {request.root.kind.value} has this id", field="id")
            if root_id is None:
                return LineageGraph(request.root, [GraphNode(request.root, 0, root)], [], False)
            walk = await uow.walks.walk(
                root_id, request.direction, request.depth, request.kinds, request.max_nodes, scope
            )
            entities = await entities_of(uow, [row.ref for row in walk.nodes])
        refs = {row.node_id: row.ref for row in walk.nodes}
        nodes = [GraphNode(row.ref, row.depth, entities[row.ref]) for row in walk.nodes if row.ref in entities]
        edges = [
            LineageEdge(
                edge.kind, refs[edge.source_id], refs[edge.target_id], edge.relation, edge.created_at, edge.created_by
            )
            for edge in walk.edges
        ]
        graph = LineageGraph(request.root, nodes, edges, walk.truncated)
        return graph if scope.everything else redact(graph, scope, request.direction)

    async def impacted_versions(
        self, principal: Principal, ref: NodeRef, stage: Stage | None, page: PageRequest, with_total: bool
    ) -> Page[ModelVersion]:
        """Every version downstream of a node, through DERIVED_FROM chains too, optionally in one stage."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            root_id = await uow.lineage.node_id(ref)
            if root_id is None or not scope.everything:
                root = (await entities_of(uow, [ref])).get(ref)
                if root is None or not readable(scope, root):
                    raise NotFound(f"no {ref.kind.value} has this id", field="nodeId")
            if root_id is None:
                return Page()
            return await uow.walks.downstream_versions(root_id, stage, page, with_total, scope)

    async def reproducibility(self, principal: Principal, versions: list[ModelVersion]) -> dict[int, Reproducibility]:
        """For a batch of versions: run, commit, datasets (also those of the run), parents, and what is missing.
        A fixed number of statements for any number of versions. Parents out of the caller's read scope are left
        out."""
        await self._require(principal)
        scope = self._scope(principal)
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
                if kind is EdgeKind.DERIVED_FROM and readable(scope, entity(source, NodeKind.MODEL_VERSION))
            ]
            commit = next((found for found in commits if found is not None), None)
            result[version.id] = Reproducibility(
                run, commit, datasets, parents, missing_for_reproduction(version, run, commit, datasets)
            )
        return result

    async def nodes(self, principal: Principal, refs: list[NodeRef]) -> dict[NodeRef, Any]:
        """Datasets, runs, commits, external nodes or versions by reference (for ``node(id:)`` and lookups)."""
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = await entities_of(uow, refs)
        return found if scope.everything else {ref: e for ref, e in found.items() if readable(scope, e)}

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
