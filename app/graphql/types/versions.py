"""Model versions: the type, its filters, queries and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from app.domain import entities, queries

from ..context import Info
from ..prefetch import LoadedRelation, MaybeAwaitable, selected, versions_loaded
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    fetches_node,
    page_request,
    to_connection,
    to_global_id,
    wants_total,
)
from .artifacts import ArtifactReference
from .common import (
    Actor,
    OrderDirection,
    Stage,
    StringMatch,
    Tag,
    TagMatch,
    TrackerKind,
    VersionStatus,
    alias_objects,
    long_or_none,
    tags_of,
    time_range,
)
from .governance import VersionGovernanceFields
from .models import RegisteredModel
from .reproducibility import VersionLineageFields

T = TypeVar("T")


@strawberry.type(description="One measured value of a version.")
class Metric:
    name: str = strawberry.field(description="Metric name, such as `accuracy`.")
    value: float = strawberry.field(description="The value.")
    dataset: str | None = strawberry.field(description="Dataset it was measured on, when recorded.")
    step: int | None = strawberry.field(description="Training step or epoch, when recorded.")


def _as_is(value: T) -> T:
    return value


# The relations answer synchronously when a list resolver loaded them ahead (app/graphql/prefetch.py).
_TAGS = LoadedRelation("version_tags", tags_of)
# The domain's metrics are answered as they are: they have the GraphQL type's fields, and the type checks no
# is_type_of, so copying each into a GraphQL object (5% of a catalogue page's CPU) would buy nothing.
_METRICS = LoadedRelation("metrics", _as_is)
_ALIASES = LoadedRelation("version_aliases", alias_objects)


@strawberry.type(description="A hyper-parameter the version was trained with.")
class Param:
    name: str = strawberry.field(description="Parameter name.")
    value: str = strawberry.field(description="Parameter value, as text.")


@strawberry.type(description="The experiment run that produced a version.")
class RunReference:
    tracker: TrackerKind = strawberry.field(description="Tracker that holds the run.")
    run_id: str = strawberry.field(description="Run id within the tracker.")
    run_uri: str | None = strawberry.field(description="Link to the run, when given.")


@strawberry.type(description="The source code a version was built from.")
class CodeReference:
    repository_url: str = strawberry.field(description="Repository URL.")
    commit_sha: str = strawberry.field(description="Commit id.")


async def _model_of(root: ModelVersion, info: Info) -> RegisteredModel:
    return RegisteredModel(entity=await info.context.loaders.model.load(root.entity.model_id))


def _params_of(root: ModelVersion) -> list[Param]:
    return [Param(name=k, value=v) for k, v in sorted(root.entity.params.items())]


def _run_of(root: ModelVersion) -> RunReference | None:
    run = root.entity.run
    return RunReference(tracker=TrackerKind(run.tracker.value), run_id=run.run_id, run_uri=run.run_uri) if run else None


def _code_of(root: ModelVersion) -> CodeReference | None:
    code = root.entity.code
    return CodeReference(repository_url=code.repository_url, commit_sha=code.commit_sha) if code else None


def _artifact_of(root: ModelVersion) -> ArtifactReference | None:
    artifact = root.entity.artifact
    if artifact is None:
        return None
    return ArtifactReference(
        version=root.entity, uri=artifact.uri, digest=artifact.digest, size=long_or_none(artifact.size)
    )


def _created_by_of(root: ModelVersion) -> Actor:
    return Actor.of(root.entity.created_by)


# The API's enum member of each domain one (the same values), looked up rather than called for every version.
_STAGE_OF = {stage: Stage(stage.value) for stage in entities.Stage}
_STATUS_OF = {status: VersionStatus(status.value) for status in entities.VersionStatus}


@strawberry.type(description="One immutable registered version of a model.")
class ModelVersion(VersionGovernanceFields, VersionLineageFields, Node):
    entity: strawberry.Private[entities.ModelVersion]
    # Plain fields, filled from the entity once (__post_init__; the defaults only let `ModelVersion(entity=...)`
    # construct): see RegisteredModel.
    id: strawberry.ID = strawberry.field(default=strawberry.ID(""), description="Globally unique opaque id.")
    model: RegisteredModel = strawberry.field(
        resolver=_model_of, description="The registered model this version belongs to."
    )
    name: str = strawberry.field(default="", description="Name of the model.")
    version: int = strawberry.field(default=0, description="Version number within the model: 1, 2, 3...")
    uri: str = strawberry.field(
        default="", description="The URI that pins exactly this version: `models:/NAME/VERSION`."
    )
    stage: Stage = strawberry.field(default=Stage.NONE, description="Lifecycle stage.")
    status: VersionStatus = strawberry.field(default=VersionStatus.READY, description="Registration status.")
    status_message: str | None = strawberry.field(
        default=None, description="Why registration failed, or what a pending registration waits for."
    )
    description: str | None = strawberry.field(default=None, description="Free-text description (Markdown).")
    flavor: str | None = strawberry.field(
        default=None, description="Framework or packaging flavor, such as `sklearn`, `pytorch` or `onnx`."
    )
    signature: JSON | None = strawberry.field(
        default=None, description="Input and output schema as JSON (`{inputs, outputs}`)."
    )
    params: list[Param] = strawberry.field(resolver=_params_of, description="Hyper-parameters, sorted by name.")
    # Objects are built when asked for (most lists select a version's scalars only), by resolvers with no Info.
    run: RunReference | None = strawberry.field(resolver=_run_of, description="The run that produced this version.")
    code: CodeReference | None = strawberry.field(
        resolver=_code_of, description="The code this version was built from."
    )
    artifact: ArtifactReference | None = strawberry.field(resolver=_artifact_of, description="The version's files.")
    created_at: datetime = strawberry.field(default=None, description="When the version was registered.")
    created_by: Actor = strawberry.field(resolver=_created_by_of, description="Who registered the version.")
    updated_at: datetime = strawberry.field(
        default=None, description="When the version's description, tags or stage last changed."
    )

    def __post_init__(self) -> None:
        entity = self.entity
        self.id = to_global_id("ModelVersion", entity.id)
        self.name = entity.model_name
        self.version = entity.version
        self.uri = f"models:/{entity.model_name}/{entity.version}"
        self.stage = _STAGE_OF[entity.stage]
        self.status = _STATUS_OF[entity.status]
        self.status_message = entity.status_message
        self.description = entity.description
        self.flavor = entity.flavor
        self.signature = cast("JSON | None", entity.signature)
        self.created_at = entity.created_at
        self.updated_at = entity.updated_at

    @strawberry.field(
        description="Tags on the version, sorted by key.", graphql_type=list[Tag], metadata=_TAGS.metadata
    )
    def tags(self, info: Info) -> MaybeAwaitable[list[Tag]]:
        return _TAGS.answer(self, info)

    @strawberry.field(
        description="Measured values, in the order they were registered.",
        graphql_type=list[Metric],
        metadata=_METRICS.metadata,
    )
    def metrics(self, info: Info) -> MaybeAwaitable[list[entities.Metric]]:
        return _METRICS.answer(self, info)

    @strawberry.field(
        description="Aliases pointing at this version, such as `champion`, sorted by name.",
        # named lazily: a module-level import of aliases.py would be needed to name the type in the annotation
        graphql_type=list[strawberry.LazyType("ModelAlias", "app.graphql.types.aliases")],  # type: ignore[misc]
        metadata=_ALIASES.metadata,
    )
    def aliases(self, info: Info) -> MaybeAwaitable[list]:
        return _ALIASES.answer(self, info)


@strawberry.enum(description="Fields model versions can be ordered by.")
class ModelVersionOrderField(Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="Registration time.")
    NAME = strawberry.enum_value("NAME", description="Model name.")
    VERSION = strawberry.enum_value("VERSION", description="Version number.")
    METRIC = strawberry.enum_value(
        "METRIC",
        description="A metric's value (set `metric`); the highest value per version counts, versions "
        "without it come last.",
    )


@strawberry.input(description="Order of a model version listing.")
class ModelVersionOrder:
    field: ModelVersionOrderField = strawberry.field(
        default=ModelVersionOrderField.CREATED_AT, description="What to order by."
    )
    direction: OrderDirection = strawberry.field(default=OrderDirection.DESC, description="Sort direction.")
    metric: str | None = strawberry.field(default=None, description="Metric name when `field` is METRIC.")

    def to_domain(self) -> queries.VersionOrder:
        return queries.VersionOrder(
            queries.VersionOrderField(self.field.value), self.direction.to_domain(), self.metric
        )


@strawberry.input(
    description="A bound on a metric; a version matches when one of its values of that name lies "
    "within all the bounds given."
)
class MetricThreshold:
    name: str = strawberry.field(description="Metric name.")
    gt: float | None = strawberry.field(default=None, description="Greater than.")
    gte: float | None = strawberry.field(default=None, description="Greater than or equal to.")
    lt: float | None = strawberry.field(default=None, description="Less than.")
    lte: float | None = strawberry.field(default=None, description="Less than or equal to.")


@strawberry.input(description="Conditions on model versions, combined with AND.")
class ModelVersionFilter:
    name: StringMatch | None = strawberry.field(default=None, description="Match on the model name.")
    tags: list[TagMatch] | None = strawberry.field(default=None, description="Version tags that must all be present.")
    stage: list[Stage] | None = strawberry.field(default=None, description="In any of these stages.")
    status: list[VersionStatus] | None = strawberry.field(default=None, description="In any of these statuses.")
    owner: str | None = strawberry.field(default=None, description="The model is owned by this subject.")
    created_by: str | None = strawberry.field(default=None, description="Registered by this subject.")
    created_after: datetime | None = strawberry.field(default=None, description="Registered at or after this time.")
    created_before: datetime | None = strawberry.field(default=None, description="Registered before this time.")
    metrics: list[MetricThreshold] | None = strawberry.field(
        default=None, description='Metric bounds that must all hold, e.g. `[{name: "accuracy", gte: 0.9}]`.'
    )

    def to_domain(self, model_id: int | None = None) -> queries.VersionFilter:
        return queries.VersionFilter(
            model_name=self.name.to_domain() if self.name else None,
            model_id=model_id,
            tags=tuple(tag.to_domain() for tag in self.tags or ()),
            stages=tuple(stage.to_domain() for stage in self.stage or ()),
            statuses=tuple(entities.VersionStatus(status.value) for status in self.status or ()),
            owner=self.owner,
            created_by=self.created_by,
            created=time_range(self.created_after, self.created_before),
            metrics=tuple(queries.MetricThreshold(m.name, m.gt, m.gte, m.lt, m.lte) for m in self.metrics or ()),
        )


async def list_versions(
    info: Info,
    filter: ModelVersionFilter | None,
    order_by: ModelVersionOrder | None,
    page: queries.PageRequest,
    model_id: int | None = None,
) -> Connection[ModelVersion]:
    fields = selected(info, "edges", "node")
    relations = info.context.loaders.version_relations
    found, related = await info.context.services.reads.versions(
        info.context.principal,
        (filter or ModelVersionFilter()).to_domain(model_id),
        (order_by or ModelVersionOrder()).to_domain(),
        page,
        with_total=wants_total(info),
        names=relations.names_among(field.name.value for field in fields),
    )
    versions = [version for _, version in found.items]
    relations.fill([version.id for version in versions], related)  # read with the page (PostgreSQL)
    await versions_loaded(info, versions, fields)  # the rest
    return to_connection(found, lambda v: ModelVersion(entity=v))


@strawberry.type(description="Model version queries.")
class VersionQueries:
    @strawberry.field(description="One version of a model, or null when there is none.")
    async def model_version(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="Model name.")],
        version: Annotated[int, strawberry.argument(description="Version number.")],
    ) -> ModelVersion | None:
        found = await info.context.services.reads.version(info.context.principal, name, version)
        if found is None:
            return None
        await versions_loaded(info, [found], selected(info))
        return ModelVersion(entity=found)

    @strawberry.field(description="Model versions across all models matching a filter, one page at a time.")
    async def model_versions(
        self,
        info: Info,
        filter: Annotated[
            ModelVersionFilter | None, strawberry.argument(description="Conditions, combined with AND.")
        ] = None,
        order_by: Annotated[
            ModelVersionOrder | None, strawberry.argument(description="Sort order (default: newest first).")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ModelVersion] | None:
        return await list_versions(info, filter, order_by, page_request(first, after, last, before))

    @strawberry.field(
        description="What a `models:/` URI points at now: `models:/NAME/VERSION`, "
        "`models:/NAME/STAGE`, `models:/NAME/latest` or `models:/NAME@ALIAS`."
    )
    async def resolve_model_uri(
        self, info: Info, uri: Annotated[str, strawberry.argument(description="The model URI.")]
    ) -> ResolvedModelUri | None:
        resolved = await info.context.services.reads.resolve_uri(info.context.principal, uri)
        return ResolvedModelUri(uri=resolved.uri, alias=resolved.alias, entity=resolved.version)


@strawberry.type(description="A `models:/` URI resolved to one version.")
class ResolvedModelUri:
    entity: strawberry.Private[entities.ModelVersion]
    uri: str = strawberry.field(description="The URI as asked.")
    alias: str | None = strawberry.field(description="The alias followed, for `@ALIAS` URIs.")

    @strawberry.field(description="The version the URI points at now.")
    def model_version(self) -> ModelVersion:
        return ModelVersion(entity=self.entity)

    @strawberry.field(description="The URI that pins this exact version, stable from now on.")
    def pinned_uri(self) -> str:
        return f"models:/{self.entity.model_name}/{self.entity.version}"

    @strawberry.field(description="Where the version's files live.")
    def artifact_uri(self) -> str | None:
        return self.entity.artifact.uri if self.entity.artifact else None

    @strawberry.field(description="Digest of the version's files, so a deployment can verify what it pulls.")
    def digest(self) -> str | None:
        return self.entity.artifact.digest if self.entity.artifact else None


@fetches_node("ModelVersion")
async def _version_node(info: Info, key: int) -> ModelVersion | None:
    found = (await info.context.services.reads.versions_by_id(info.context.principal, [key])).get(key)
    return ModelVersion(entity=found) if found else None
