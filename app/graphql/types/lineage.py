"""The lineage graph: walking it, impact analysis, datasets and runs (docs/lineage.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.domain import entities, lineage, lineage_views
from app.domain.errors import BadUserInput

# by name: inside a class with a `lineage` field, type checkers read `lineage.X` in a signature as that field
from app.domain.lineage import DEFAULT_DEPTH, DEFAULT_MAX_NODES
from app.domain.lineage_queries import DatasetFilter as DatasetFilterQuery
from app.domain.lineage_queries import RunFilter as RunFilterQuery
from app.domain.queries import PageRequest, TextMatch

from ..context import Info
from ..relay import After, Before, Connection, First, Last, page_request, to_connection, wants_total
from .common import Actor, Stage, StringMatch, TrackerKind
from .lineage_nodes import (
    CodeCommit,
    Dataset,
    ExternalNode,
    LineageDirection,
    LineageEdgeKind,
    LineageNodeKind,
    Run,
    count_walk,
    node_ref,
    node_type,
    ref_id,
    walk_root,
)
from .versions import ModelVersion


@strawberry.type(
    description="A node the caller may not read (MODELREG_READ_SCOPE=scoped: a model version outside the caller's "
    "namespaces): its kind only. Its id is a stand-in for this walk, not the object's id."
)
class RedactedLineageNode:
    id: strawberry.ID = strawberry.field(
        description="The stand-in id of this node in this walk (as its LineageGraphNode's and its edges'); "
        "`node(id:)` does not resolve it."
    )
    kind: LineageNodeKind = strawberry.field(description="Kind of node.")
    redacted: bool = strawberry.field(default=True, description="Always true.")


LineageEntity = Annotated[
    Dataset | Run | CodeCommit | ModelVersion | ExternalNode | RedactedLineageNode,
    strawberry.union(
        "LineageEntity", description="The object behind a lineage node; select fields with `... on Dataset { }`."
    ),
]


def entity_type(
    entity: lineage.LineageEntity, ref: lineage.NodeRef
) -> Dataset | Run | CodeCommit | ModelVersion | ExternalNode | RedactedLineageNode:
    if isinstance(entity, entities.ModelVersion):
        return ModelVersion(entity=entity)
    if isinstance(entity, lineage.RedactedNode):
        return RedactedLineageNode(id=ref_id(ref), kind=LineageNodeKind(entity.kind.value))
    return node_type(entity)


@strawberry.type(description="A node of a lineage graph: the object, its kind and its distance from the root.")
class LineageGraphNode:
    id: strawberry.ID = strawberry.field(description="Global id of the object (works with `node(id:)`).")
    kind: LineageNodeKind = strawberry.field(description="Kind of node.")
    label: str = strawberry.field(description="Short human-readable name: `churn-events v3`, `models:/demo/churn/3`.")
    depth: int = strawberry.field(description="Hops from the root along the walk (0 for the root).")
    entity: LineageEntity = strawberry.field(description="The object with all its fields.")
    redacted: bool = strawberry.field(
        default=False,
        description="True for a node the caller may not read (scoped reads): `entity` is a RedactedLineageNode and "
        "`label` says `(redacted)`.",
    )


@strawberry.type(description="An edge of the lineage graph, pointing the way data flows.")
class LineageEdge:
    kind: LineageEdgeKind = strawberry.field(description="Kind of edge.")
    upstream_id: strawberry.ID = strawberry.field(description="Global id of what was used.")
    downstream_id: strawberry.ID = strawberry.field(description="Global id of what was made from it.")
    relation: str | None = strawberry.field(description="A note such as `fine-tuned` on DERIVED_FROM edges.")
    created_at: datetime = strawberry.field(description="When the edge was recorded.")
    created_by: Actor = strawberry.field(description="Who recorded it.")

    @classmethod
    def of(cls, edge: lineage.LineageEdge) -> LineageEdge:
        return cls(
            kind=LineageEdgeKind(edge.kind.value),
            upstream_id=ref_id(edge.upstream),
            downstream_id=ref_id(edge.downstream),
            relation=edge.relation,
            created_at=edge.created_at,
            created_by=Actor.of(edge.created_by),
        )


@strawberry.type(description="A bounded walk of the lineage graph from one node.")
class LineageGraph:
    graph: strawberry.Private[lineage.LineageGraph]

    @strawberry.field(description="Global id of the node the walk started from.")
    def root(self) -> strawberry.ID:
        return ref_id(self.graph.root)

    @strawberry.field(description="The nodes reached, nearest first.")
    def nodes(self) -> list[LineageGraphNode]:
        return [
            LineageGraphNode(
                id=ref_id(node.ref),
                kind=LineageNodeKind(node.ref.kind.value),
                label=lineage.label_of(node.entity),
                depth=node.depth,
                entity=entity_type(node.entity, node.ref),
                redacted=isinstance(node.entity, lineage.RedactedNode),
            )
            for node in self.graph.nodes
        ]

    @strawberry.field(description="The edges among the nodes reached.")
    def edges(self) -> list[LineageEdge]:
        return [LineageEdge.of(edge) for edge in self.graph.edges]

    @strawberry.field(description="True when the depth or node bound cut the walk: there is more beyond it.")
    def truncated(self) -> bool:
        return self.graph.truncated

    @strawberry.field(description="The graph as a Mermaid flowchart, to paste into Markdown or mermaid.live.")
    def mermaid(self) -> str:
        return lineage_views.to_mermaid(self.graph)

    @strawberry.field(description="The graph as Graphviz DOT text (`dot -Tsvg`).")
    def dot(self) -> str:
        return lineage_views.to_dot(self.graph)


@strawberry.input(description="Conditions on datasets; set ones are combined with AND.")
class DatasetFilter:
    name: StringMatch | None = strawberry.field(default=None, description="Match on the name.")
    version: str | None = strawberry.field(default=None, description="Exact version.")
    digest: str | None = strawberry.field(default=None, description="Exact digest (`sha256:<hex>`).")
    source_system: str | None = strawberry.field(default=None, description="Exact source system.")
    format: str | None = strawberry.field(default=None, description="Exact format.")

    def to_domain(self) -> DatasetFilterQuery:
        return DatasetFilterQuery(
            self.name.to_domain() if self.name else None, self.version, self.digest, self.source_system, self.format
        )


@strawberry.input(description="Conditions on runs; set ones are combined with AND.")
class RunFilter:
    tracker: TrackerKind | None = strawberry.field(default=None, description="Tracker.")
    run_id: str | None = strawberry.field(default=None, description="Exact run id.")
    experiment_name: StringMatch | None = strawberry.field(default=None, description="Match on the experiment name.")

    def to_domain(self) -> RunFilterQuery:
        return RunFilterQuery(
            entities.TrackerKind(self.tracker.value) if self.tracker else None,
            self.run_id,
            self.experiment_name.to_domain() if self.experiment_name else None,
        )


@strawberry.type(description="Lineage queries.")
class LineageQueries:
    @strawberry.field(
        description="The lineage graph around a node, in one query: what produced it (UPSTREAM), what "
        "was made from it (DOWNSTREAM) or both, to a depth (at most 50) and a node count "
        "(at most 2000)."
    )
    async def lineage(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Global id of a Dataset, Run, CodeCommit, ModelVersion or ExternalNode, or a `models:/` "
                "URI (the version it points at now)."
            ),
        ],
        direction: Annotated[
            LineageDirection | None, strawberry.argument(description="Which way to walk; null: UPSTREAM.")
        ] = LineageDirection.UPSTREAM,
        depth: Annotated[
            int | None, strawberry.argument(description=f"Most hops from the root (1-50); null: {DEFAULT_DEPTH}.")
        ] = DEFAULT_DEPTH,
        edge_kinds: Annotated[
            list[LineageEdgeKind] | None,
            strawberry.argument(description="Follow only these kinds of edges (default: all)."),
        ] = None,
        max_nodes: Annotated[
            int | None,
            strawberry.argument(
                description=f"Most nodes to return (1-2000), nearest first; null: {DEFAULT_MAX_NODES}."
            ),
        ] = DEFAULT_MAX_NODES,
    ) -> LineageGraph | None:
        count_walk(info.context)
        request = lineage.WalkRequest(
            await walk_root(info.context, id, "id"),
            lineage.WalkDirection((direction or LineageDirection.UPSTREAM).value),
            DEFAULT_DEPTH if depth is None else depth,
            tuple(kind.to_domain() for kind in edge_kinds or ()),
            DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
        )
        return LineageGraph(graph=await info.context.services.lineage_reads.lineage(info.context.principal, request))

    @strawberry.field(
        description="Every model version downstream of a node, through DERIVED_FROM chains too, "
        "however far: which (PRODUCTION) models did this dataset touch? Newest registration first."
    )
    async def impacted_model_versions(
        self,
        info: Info,
        node_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Global id of a Dataset, Run, CodeCommit, ModelVersion or ExternalNode, or a `models:/` "
                "URI (the version it points at now)."
            ),
        ],
        stage: Annotated[Stage | None, strawberry.argument(description="Only versions in this stage.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ModelVersion] | None:
        page = await info.context.services.lineage_reads.impacted_versions(
            info.context.principal,
            await walk_root(info.context, node_id, "nodeId"),
            stage.to_domain() if stage else None,
            page_request(first, after, last, before),
            wants_total(info),
        )
        return to_connection(page, lambda version: ModelVersion(entity=version))

    @strawberry.field(description="A dataset by id, or by name and version; null when there is none.")
    async def dataset(
        self,
        info: Info,
        id: Annotated[strawberry.ID | None, strawberry.argument(description="Global id.")] = None,
        name: Annotated[str | None, strawberry.argument(description="Name (with `version`).")] = None,
        version: Annotated[str | None, strawberry.argument(description="Version (with `name`).")] = None,
    ) -> Dataset | None:
        if id is not None:
            found = await _one(info, node_ref(id), lineage.NodeKind.DATASET)
        elif name is not None and version is not None:
            page = await info.context.services.lineage_reads.datasets(
                info.context.principal,
                DatasetFilterQuery(name=TextMatch(equals=name), version=version),
                PageRequest(1),
                False,
            )
            found = page.items[0][1] if page.items else None
        else:
            raise BadUserInput("give the dataset's id, or its name and version", field="id")
        return Dataset.of(found) if found else None

    @strawberry.field(description="Datasets, newest registration first.")
    async def datasets(
        self,
        info: Info,
        filter: Annotated[DatasetFilter | None, strawberry.argument(description="Conditions.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Dataset] | None:
        page = await info.context.services.lineage_reads.datasets(
            info.context.principal,
            filter.to_domain() if filter else DatasetFilterQuery(),
            page_request(first, after, last, before),
            wants_total(info),
        )
        return to_connection(page, Dataset.of)

    @strawberry.field(description="A run by id, or by tracker and run id; null when there is none.")
    async def run(
        self,
        info: Info,
        id: Annotated[strawberry.ID | None, strawberry.argument(description="Global id.")] = None,
        tracker: Annotated[TrackerKind | None, strawberry.argument(description="Tracker (with `runId`).")] = None,
        run_id: Annotated[str | None, strawberry.argument(description="Run id (with `tracker`).")] = None,
    ) -> Run | None:
        if id is not None:
            found = await _one(info, node_ref(id), lineage.NodeKind.RUN)
        elif tracker is not None and run_id is not None:
            page = await info.context.services.lineage_reads.runs(
                info.context.principal,
                RunFilterQuery(entities.TrackerKind(tracker.value), run_id),
                PageRequest(1),
                False,
            )
            found = page.items[0][1] if page.items else None
        else:
            raise BadUserInput("give the run's id, or its tracker and runId", field="id")
        return Run.of(found) if found else None

    @strawberry.field(description="Runs, newest registration first.")
    async def runs(
        self,
        info: Info,
        filter: Annotated[RunFilter | None, strawberry.argument(description="Conditions.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Run] | None:
        page = await info.context.services.lineage_reads.runs(
            info.context.principal,
            filter.to_domain() if filter else RunFilterQuery(),
            page_request(first, after, last, before),
            wants_total(info),
        )
        return to_connection(page, Run.of)


async def _one(info: Info, ref: lineage.NodeRef, kind: lineage.NodeKind) -> Any:
    if ref.kind is not kind:
        raise BadUserInput(f"id must be the id of a {kind.value.title().replace('_', '')}", field="id")
    return (await info.context.services.lineage_reads.nodes(info.context.principal, [ref])).get(ref)
