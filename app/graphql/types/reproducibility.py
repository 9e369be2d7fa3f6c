"""``ModelVersion.reproducibility``: what produced a version, and what a full reproduction still lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import lineage, lineage_views

# by name: inside a class with a `lineage` field, type checkers read `lineage.X` in a signature as that field
from app.domain.lineage import DEFAULT_DEPTH, DEFAULT_MAX_NODES

from ..context import Info
from .lineage_nodes import CodeCommit, Dataset, LineageDirection, LineageEdgeKind, Run, RunEnvironment, count_walk

if TYPE_CHECKING:
    from app.domain import entities

    from .lineage import LineageGraph
    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]
LineageGraphRef = Annotated["LineageGraph", strawberry.lazy("app.graphql.types.lineage")]


@strawberry.type(description="A dataset a version used.")
class DatasetUse:
    dataset: Dataset = strawberry.field(description="The dataset, with its digest when known.")
    kind: LineageEdgeKind = strawberry.field(description="How it was used: TRAINED_ON, VALIDATED_ON or EVALUATED_ON.")
    through_run: bool = strawberry.field(description="True when linked to the producing run rather than the version.")


@strawberry.type(description="A version this one was derived from.")
class ParentVersion:
    model_version: ModelVersionRef = strawberry.field(description="The parent version.")
    relation: str | None = strawberry.field(description="How: `fine-tuned`, `distilled`, `quantized`...")


@strawberry.type(description="Everything needed to reproduce a version, and what is missing for it.")
class Reproducibility:
    run: Run | None = strawberry.field(description="The run that produced the version.")
    code_commit: CodeCommit | None = strawberry.field(
        description="The code it was built from (the version's own link, else its run's)."
    )
    datasets: list[DatasetUse] = strawberry.field(description="Datasets of the version and of its run.")
    parents: list[ParentVersion] = strawberry.field(description="Versions it was derived from.")
    environment: RunEnvironment | None = strawberry.field(description="The run's environment.")
    missing: list[str] = strawberry.field(
        description="What a full reproduction lacks, such as `run`, `code commit`, `training dataset`, "
        "`digest of dataset NAME VERSION`, `python version`, `requirements digest`, `container image`, "
        "`artifact digest`. Empty when complete."
    )
    complete: bool = strawberry.field(description="True when nothing is missing.")

    @classmethod
    def of(cls, record: lineage_views.Reproducibility) -> Reproducibility:
        from .versions import ModelVersion

        run = Run.of(record.run) if record.run else None
        return cls(
            run=run,
            code_commit=CodeCommit.of(record.commit) if record.commit else None,
            datasets=[
                DatasetUse(
                    dataset=Dataset.of(link.dataset),
                    kind=LineageEdgeKind(link.kind.value),
                    through_run=link.through_run,
                )
                for link in record.datasets
            ],
            parents=[
                ParentVersion(model_version=ModelVersion(entity=version), relation=relation)
                for version, relation in record.parents
            ],
            environment=run.environment if run else None,
            missing=record.missing,
            complete=record.complete,
        )


@strawberry.type(description="A version's lineage fields.")
class VersionLineageFields:
    if TYPE_CHECKING:  # declared by ModelVersion, which this mixin is part of
        entity: entities.ModelVersion

    @strawberry.field(
        description="The lineage graph around this version: what produced it (UPSTREAM, the default), "
        "what was made from it (DOWNSTREAM) or both. Same as `lineage(id:)` at the root."
    )
    async def lineage(
        self,
        info: Info,
        direction: Annotated[
            LineageDirection | None, strawberry.argument(description="Which way to walk; null: UPSTREAM.")
        ] = LineageDirection.UPSTREAM,
        depth: Annotated[
            int | None, strawberry.argument(description=f"Most hops (1-50); null: {DEFAULT_DEPTH}.")
        ] = DEFAULT_DEPTH,
        edge_kinds: Annotated[
            list[LineageEdgeKind] | None,
            strawberry.argument(description="Follow only these kinds of edges (default: all)."),
        ] = None,
        max_nodes: Annotated[
            int | None,
            strawberry.argument(description=f"Most nodes (1-2000), nearest first; null: {DEFAULT_MAX_NODES}."),
        ] = DEFAULT_MAX_NODES,
    ) -> LineageGraphRef:
        from .lineage import LineageGraph

        count_walk(info.context)
        request = lineage.WalkRequest(
            lineage.NodeRef(lineage.NodeKind.MODEL_VERSION, self.entity.id),
            lineage.WalkDirection((direction or LineageDirection.UPSTREAM).value),
            DEFAULT_DEPTH if depth is None else depth,
            tuple(kind.to_domain() for kind in edge_kinds or ()),
            DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
        )
        return LineageGraph(graph=await info.context.services.lineage_reads.lineage(info.context.principal, request))

    @strawberry.field(
        description="What produced this version (run, code, datasets with digests, environment, "
        "parents) and what a full reproduction still lacks."
    )
    async def reproducibility(self, info: Info) -> Reproducibility:
        return Reproducibility.of(await info.context.loaders.reproducibility.load(self.entity))
