"""Lineage mutations: registering nodes idempotently and adding edges, with their inputs."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain import lineage_commands

from ..context import Info
from .lineage import LineageEdge
from .lineage_inputs import RegisterCodeCommitInput, RegisterDatasetInput, RegisterExternalNodeInput, RegisterRunInput
from .lineage_nodes import CodeCommit, Dataset, ExternalNode, LineageEdgeKind, Run, node_ref


@strawberry.input(description="An edge from what was used (upstream) to what was made (downstream).")
class AddLineageEdgeInput:
    kind: LineageEdgeKind = strawberry.field(description="Kind of edge; it decides which kinds of nodes it may join.")
    upstream_id: strawberry.ID = strawberry.field(description="Global id of what was used.")
    downstream_id: strawberry.ID = strawberry.field(description="Global id of what was made from it.")
    relation: str | None = strawberry.field(default=None, description="A note: `fine-tuned`, `distilled`...")

    def to_domain(self) -> lineage_commands.NewEdge:
        return lineage_commands.NewEdge(
            self.kind.to_domain(),
            node_ref(self.upstream_id, "upstreamId"),
            node_ref(self.downstream_id, "downstreamId"),
            self.relation,
        )


@strawberry.type(description="The dataset registered, or the one already registered under that identity.")
class RegisterDatasetPayload:
    dataset: Dataset = strawberry.field(description="The dataset.")
    created: bool = strawberry.field(description="False when it was registered before.")


@strawberry.type(description="The run registered, or the one already registered under that identity.")
class RegisterRunPayload:
    run: Run = strawberry.field(description="The run.")
    created: bool = strawberry.field(description="False when it was registered before.")


@strawberry.type(description="The commit registered, or the one already registered under that identity.")
class RegisterCodeCommitPayload:
    code_commit: CodeCommit = strawberry.field(description="The commit.")
    created: bool = strawberry.field(description="False when it was registered before.")


@strawberry.type(description="The external node registered, or the one already registered under that name.")
class RegisterExternalNodePayload:
    external_node: ExternalNode = strawberry.field(description="The external node.")
    created: bool = strawberry.field(description="False when it was registered before.")


@strawberry.type(description="The edge added, or the same edge added before.")
class AddLineageEdgePayload:
    edge: LineageEdge = strawberry.field(description="The edge.")
    created: bool = strawberry.field(description="False when the edge existed already.")


_DatasetArg = Annotated[RegisterDatasetInput, strawberry.argument(description="The dataset.")]
_RunArg = Annotated[RegisterRunInput, strawberry.argument(description="The run.")]
_CommitArg = Annotated[RegisterCodeCommitInput, strawberry.argument(description="The commit.")]
_ExternalArg = Annotated[RegisterExternalNodeInput, strawberry.argument(description="The external node.")]
_EdgeArg = Annotated[AddLineageEdgeInput, strawberry.argument(description="The edge.")]


@strawberry.type(description="Lineage mutations.")
class LineageMutations:
    @strawberry.mutation(
        description="Register a dataset, or get the one registered under the same name and version "
        "(or digest). Differing fields are CONFLICT: datasets never change. Requires "
        "lineage:write."
    )
    async def register_dataset(self, info: Info, input: _DatasetArg) -> RegisterDatasetPayload:
        found, created = await info.context.services.lineage.register(info.context.principal, input.to_domain())
        return RegisterDatasetPayload(dataset=Dataset.of(found), created=created)

    @strawberry.mutation(
        description="Register an experiment run, or get the one registered under the same tracker "
        "and run id. Differing fields are CONFLICT. Requires lineage:write."
    )
    async def register_run(self, info: Info, input: _RunArg) -> RegisterRunPayload:
        found, created = await info.context.services.lineage.register(info.context.principal, input.to_domain())
        return RegisterRunPayload(run=Run.of(found), created=created)

    @strawberry.mutation(
        description="Register a code commit, or get the one registered under the same repository "
        "and commit. Requires lineage:write."
    )
    async def register_code_commit(self, info: Info, input: _CommitArg) -> RegisterCodeCommitPayload:
        found, created = await info.context.services.lineage.register(info.context.principal, input.to_domain())
        return RegisterCodeCommitPayload(code_commit=CodeCommit.of(found), created=created)

    @strawberry.mutation(
        description="Register an external node, or get the one registered under the same name. Requires lineage:write."
    )
    async def register_external_node(self, info: Info, input: _ExternalArg) -> RegisterExternalNodePayload:
        found, created = await info.context.services.lineage.register(info.context.principal, input.to_domain())
        return RegisterExternalNodePayload(external_node=ExternalNode.of(found), created=created)

    @strawberry.mutation(
        description="Link two nodes. Refused: edges between the wrong kinds of nodes, cycles (named "
        "in the message), and TRAINED_ON, VALIDATED_ON, PRODUCED or BUILT_FROM edges into "
        "a READY version (its defining lineage is given with createModelVersion). Requires "
        "lineage:write."
    )
    async def add_lineage_edge(self, info: Info, input: _EdgeArg) -> AddLineageEdgePayload:
        edge, created = await info.context.services.lineage.add_edge(info.context.principal, input.to_domain())
        return AddLineageEdgePayload(edge=LineageEdge.of(edge), created=created)
