"""Lineage node types (datasets, runs, code commits, external nodes) and the lineage enums."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from app.domain import lineage
from app.domain.errors import BadUserInput

from ..relay import Node, fetches_node, from_global_id, to_global_id
from .common import Actor, Long, TrackerKind, long_or_none

if TYPE_CHECKING:
    from ..context import Context, Info


@strawberry.enum(description="Kind of a lineage node.")
class LineageNodeKind(Enum):
    DATASET = strawberry.enum_value("DATASET", description="A dataset (`Dataset`).")
    RUN = strawberry.enum_value("RUN", description="An experiment run (`Run`).")
    CODE_COMMIT = strawberry.enum_value("CODE_COMMIT", description="A commit of a code repository (`CodeCommit`).")
    MODEL_VERSION = strawberry.enum_value("MODEL_VERSION", description="A model version (`ModelVersion`).")
    EXTERNAL = strawberry.enum_value("EXTERNAL", description="Anything else (`ExternalNode`).")


@strawberry.enum(description="Kind of a lineage edge. Edges point the way data flows: upstream -> downstream.")
class LineageEdgeKind(Enum):
    TRAINED_ON = strawberry.enum_value("TRAINED_ON", description="Dataset -> run or version trained on it.")
    VALIDATED_ON = strawberry.enum_value("VALIDATED_ON", description="Dataset -> run or version validated on it.")
    EVALUATED_ON = strawberry.enum_value("EVALUATED_ON", description="Dataset -> run or version evaluated on it.")
    PRODUCED = strawberry.enum_value("PRODUCED", description="Run -> the version (or derived dataset) it made.")
    BUILT_FROM = strawberry.enum_value("BUILT_FROM", description="Code commit -> run or version built from it.")
    DERIVED_FROM = strawberry.enum_value(
        "DERIVED_FROM", description="Parent version -> child version (fine-tuned, distilled, quantized, a variant)."
    )
    DEPLOYED_AS = strawberry.enum_value("DEPLOYED_AS", description="Version -> the deployment serving it.")

    def to_domain(self) -> lineage.EdgeKind:
        return lineage.EdgeKind(self.value)


@strawberry.enum(description="Which way a lineage walk goes from its root.")
class LineageDirection(Enum):
    UPSTREAM = strawberry.enum_value("UPSTREAM", description="Towards what was used: data, runs, code, parents.")
    DOWNSTREAM = strawberry.enum_value("DOWNSTREAM", description="Towards what was made from it.")
    BOTH = strawberry.enum_value("BOTH", description="The upstream walk and the downstream walk together.")


@strawberry.type(description="A dataset, identified by name and version, or (without a version) by its digest.")
class Dataset(Node):
    id: strawberry.ID = strawberry.field(description="Globally unique opaque id.")
    name: str = strawberry.field(description="Dataset name.")
    version: str | None = strawberry.field(description="Dataset version (`v3`, a DVC rev, a Delta table version).")
    uri: str | None = strawberry.field(description="Where the data lives.")
    digest: str | None = strawberry.field(description="`sha256:<hex>` of the content, when known.")
    format: str | None = strawberry.field(description="Format: `parquet`, `csv`, `delta`...")
    size: Long | None = strawberry.field(description="Size in bytes.")
    row_count: Long | None = strawberry.field(description="Number of rows.")
    schema: JSON | None = strawberry.field(description="Column schema, as given.")
    source_system: str | None = strawberry.field(description="Where it is versioned: `dvc`, `delta`, `s3`...")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: Actor = strawberry.field(description="Who registered it.")

    @classmethod
    def of(cls, entity: lineage.Dataset) -> Dataset:
        return cls(
            id=to_global_id("Dataset", entity.id),
            name=entity.name,
            version=entity.version,
            uri=entity.uri,
            digest=entity.digest,
            format=entity.format,
            size=long_or_none(entity.size),
            row_count=long_or_none(entity.row_count),
            schema=entity.schema,
            source_system=entity.source_system,
            created_at=entity.created_at,
            created_by=Actor.of(entity.created_by),
        )


@strawberry.type(description="Where a run ran, so it can be run again.")
class RunEnvironment:
    python_version: str | None = strawberry.field(description="Python version, such as `3.11.7`.")
    requirements_digest: str | None = strawberry.field(description="`sha256:<hex>` of the locked requirements.")
    container_image: str | None = strawberry.field(description="Container image, ideally pinned by digest.")


@strawberry.type(description="A final metric value of a run.")
class RunMetric:
    name: str = strawberry.field(description="Metric name.")
    value: float = strawberry.field(description="The value.")


@strawberry.type(description="A run parameter.")
class RunParam:
    name: str = strawberry.field(description="Parameter name.")
    value: str = strawberry.field(description="Parameter value, as text.")


@strawberry.type(description="An experiment run, identified by tracker and run id.")
class Run(Node):
    id: strawberry.ID = strawberry.field(description="Globally unique opaque id.")
    tracker: TrackerKind = strawberry.field(description="Tracker that holds the run.")
    run_id: str = strawberry.field(description="Run id within the tracker.")
    run_uri: str | None = strawberry.field(description="Link to the run.")
    experiment_name: str | None = strawberry.field(description="Experiment the run belongs to.")
    params: list[RunParam] = strawberry.field(description="Parameters, sorted by name.")
    metrics: list[RunMetric] = strawberry.field(description="Final metric values, sorted by name.")
    started_at: datetime | None = strawberry.field(description="When the run started.")
    ended_at: datetime | None = strawberry.field(description="When the run ended.")
    environment: RunEnvironment = strawberry.field(description="Where it ran.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: Actor = strawberry.field(description="Who registered it.")

    @classmethod
    def of(cls, entity: lineage.Run) -> Run:
        env = entity.environment
        return cls(
            id=to_global_id("Run", entity.id),
            tracker=TrackerKind(entity.tracker.value),
            run_id=entity.run_id,
            run_uri=entity.run_uri,
            experiment_name=entity.experiment_name,
            params=[RunParam(name=k, value=v) for k, v in sorted(entity.params.items())],
            metrics=[RunMetric(name=k, value=v) for k, v in sorted(entity.metrics.items())],
            started_at=entity.started_at,
            ended_at=entity.ended_at,
            environment=RunEnvironment(
                python_version=env.python_version,
                requirements_digest=env.requirements_digest,
                container_image=env.container_image,
            ),
            created_at=entity.created_at,
            created_by=Actor.of(entity.created_by),
        )


@strawberry.type(description="A commit of a code repository, identified by repository URL and commit SHA.")
class CodeCommit(Node):
    id: strawberry.ID = strawberry.field(description="Globally unique opaque id.")
    repository_url: str = strawberry.field(description="Repository URL.")
    commit_sha: str = strawberry.field(description="Commit id.")
    branch: str | None = strawberry.field(description="Branch it was built from, when given.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: Actor = strawberry.field(description="Who registered it.")

    @classmethod
    def of(cls, entity: lineage.CodeCommit) -> CodeCommit:
        return cls(
            id=to_global_id("CodeCommit", entity.id),
            repository_url=entity.repository_url,
            commit_sha=entity.commit_sha,
            branch=entity.branch,
            created_at=entity.created_at,
            created_by=Actor.of(entity.created_by),
        )


@strawberry.type(
    description="Anything else lineage should show (a feature store, a labelling job, an endpoint), identified by name."
)
class ExternalNode(Node):
    id: strawberry.ID = strawberry.field(description="Globally unique opaque id.")
    name: str = strawberry.field(description="Unique name.")
    category: str | None = strawberry.field(description="What sort of thing it is: `feature-store`, `labelling`...")
    uri: str | None = strawberry.field(description="Where it lives.")
    description: str | None = strawberry.field(description="Free text.")
    properties: JSON | None = strawberry.field(description="Free-form JSON properties.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: Actor = strawberry.field(description="Who registered it.")

    @classmethod
    def of(cls, entity: lineage.ExternalNode) -> ExternalNode:
        return cls(
            id=to_global_id("ExternalNode", entity.id),
            name=entity.name,
            category=entity.category,
            uri=entity.uri,
            description=entity.description,
            properties=entity.properties,
            created_at=entity.created_at,
            created_by=Actor.of(entity.created_by),
        )


NODE_TYPES: dict[type, Any] = {  # entity class -> GraphQL type with `of(entity)`
    lineage.Dataset: Dataset,
    lineage.Run: Run,
    lineage.CodeCommit: CodeCommit,
    lineage.ExternalNode: ExternalNode,
}
# Global id type names of lineage nodes, and the node kind each stands for.
KIND_OF_TYPE_NAME = {
    "Dataset": lineage.NodeKind.DATASET,
    "Run": lineage.NodeKind.RUN,
    "CodeCommit": lineage.NodeKind.CODE_COMMIT,
    "ExternalNode": lineage.NodeKind.EXTERNAL,
    "ModelVersion": lineage.NodeKind.MODEL_VERSION,
}


def node_type(
    entity: lineage.Dataset | lineage.Run | lineage.CodeCommit | lineage.ExternalNode,
) -> Dataset | Run | CodeCommit | ExternalNode:
    """The GraphQL object for a lineage entity that is not a version."""
    return NODE_TYPES[type(entity)].of(entity)


_TYPE_NAMES = {kind: name for name, kind in KIND_OF_TYPE_NAME.items()}


def node_ref(global_id: str, field: str = "id") -> lineage.NodeRef:
    """The lineage node a global id names; ids of other objects are BAD_USER_INPUT."""
    type_name, key = from_global_id(global_id)
    if type_name not in KIND_OF_TYPE_NAME:
        raise BadUserInput(
            f"{field} must be the id of a Dataset, Run, CodeCommit, ModelVersion or ExternalNode, not of a {type_name}",
            field=field,
        )
    return lineage.NodeRef(KIND_OF_TYPE_NAME[type_name], key)


async def walk_root(context: Context, node: str, field: str) -> lineage.NodeRef:
    """The lineage node a global id or a ``models:/`` URI names (a URI: the version it points at now)."""
    if node.startswith("models:/"):
        resolved = await context.services.reads.resolve_uri(context.principal, node)
        return lineage.NodeRef(lineage.NodeKind.MODEL_VERSION, resolved.version.id)
    return node_ref(node, field)


def ref_id(ref: lineage.NodeRef) -> strawberry.ID:
    return to_global_id(_TYPE_NAMES[ref.kind], ref.key)


MAX_WALKS_PER_REQUEST = 5


def count_walk(context: Context) -> None:
    """Each lineage walk costs a recursive query: a request may ask for a few (nested ones multiply)."""
    walks = context.extra.get("lineage_walks", 0) + 1
    context.extra["lineage_walks"] = walks
    if walks > MAX_WALKS_PER_REQUEST:
        raise BadUserInput(
            f"at most {MAX_WALKS_PER_REQUEST} lineage walks per request; ask for the others in separate requests",
            field="lineage",
        )


def _fetch_lineage_node(type_name: str) -> None:
    @fetches_node(type_name)
    async def fetch(info: Info, key: int) -> Dataset | Run | CodeCommit | ExternalNode | None:
        ref = lineage.NodeRef(KIND_OF_TYPE_NAME[type_name], key)
        found = (await info.context.services.lineage_reads.nodes(info.context.principal, [ref])).get(ref)
        return node_type(found) if found else None


for _name in KIND_OF_TYPE_NAME:
    if _name != "ModelVersion":
        _fetch_lineage_node(_name)
