"""Registered models: the type, its filters, queries and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import commands, entities, queries

from ..context import Info
from ..prefetch import LoadedRelation, MaybeAwaitable, loaded, models_loaded, selected
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
from .common import (
    Actor,
    OrderDirection,
    RegulatoryStatus,
    RiskTier,
    Stage,
    StringMatch,
    Tag,
    TagInput,
    TagMatch,
    alias_objects,
    tag_map,
    tags_of,
    time_range,
)
from .stage_history import ModelHistoryFields

if TYPE_CHECKING:
    from .aliases import ModelAlias
    from .versions import ModelVersion, ModelVersionFilter, ModelVersionOrder

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]
ModelVersionFilterRef = Annotated["ModelVersionFilter", strawberry.lazy("app.graphql.types.versions")]
ModelVersionOrderRef = Annotated["ModelVersionOrder", strawberry.lazy("app.graphql.types.versions")]
ModelAliasRef = Annotated["ModelAlias", strawberry.lazy("app.graphql.types.aliases")]


def _created_by_of(root: RegisteredModel) -> Actor:
    # built when asked for: a page of models seldom asks
    return Actor.of(root.entity.created_by)


# The relations answer synchronously when a list resolver loaded them ahead (app/graphql/prefetch.py).
_TAGS = LoadedRelation("model_tags", tags_of)
_ALIASES = LoadedRelation("model_aliases", alias_objects)


@strawberry.type(description="A named model. Its versions are the immutable registered artifacts.")
class RegisteredModel(ModelHistoryFields, Node):
    entity: strawberry.Private[entities.RegisteredModel]
    # Plain fields, filled from the entity once (__post_init__; the defaults only let `RegisteredModel(entity=...)`
    # construct): a field without a resolver costs a getattr, a method resolver cost Strawberry an Info object and
    # an argument conversion per field.
    id: strawberry.ID = strawberry.field(default=strawberry.ID(""), description="Globally unique opaque id.")
    name: str = strawberry.field(default="", description="Unique name; `/` separates namespaces (`fraud/scoring`).")
    description: str | None = strawberry.field(default=None, description="Free-text description (Markdown).")
    owner: str = strawberry.field(default="", description="Subject responsible for the model; the creator unless set.")
    use_case: str | None = strawberry.field(default=None, description="What the model is used for (business metadata).")
    risk_tier: RiskTier | None = strawberry.field(
        default=None, description="Risk tier (business metadata); null until set."
    )
    regulatory_status: RegulatoryStatus | None = strawberry.field(
        default=None, description="Regulatory status (business metadata); null until set."
    )
    created_at: datetime = strawberry.field(default=None, description="When the model was registered.")
    created_by: Actor = strawberry.field(resolver=_created_by_of, description="Who registered the model.")
    updated_at: datetime = strawberry.field(
        default=None, description="When the model, its tags or its versions last changed."
    )
    uri: str = strawberry.field(default="", description="The `models:/` URI of the model's newest version.")

    def __post_init__(self) -> None:
        entity = self.entity
        self.id = to_global_id("RegisteredModel", entity.id)
        self.name = entity.name
        self.description = entity.description
        self.owner = entity.owner
        self.use_case = entity.use_case
        self.risk_tier = RiskTier(entity.risk_tier.value) if entity.risk_tier else None
        self.regulatory_status = RegulatoryStatus(entity.regulatory_status.value) if entity.regulatory_status else None
        self.created_at = entity.created_at
        self.updated_at = entity.updated_at
        self.uri = f"models:/{entity.name}/latest"

    @strawberry.field(description="Tags on the model, sorted by key.", graphql_type=list[Tag], metadata=_TAGS.metadata)
    def tags(self, info: Info) -> MaybeAwaitable[list[Tag]]:
        return _TAGS.answer(self, info)

    @strawberry.field(
        description="Aliases of this model and the versions they point at, sorted by name.",
        graphql_type=list[ModelAliasRef],
        metadata=_ALIASES.metadata,
    )
    def aliases(self, info: Info) -> MaybeAwaitable[list[ModelAliasRef]]:
        return _ALIASES.answer(self, info)

    @strawberry.field(
        description="The newest version, or the newest in the given stage.", graphql_type=ModelVersionRef | None
    )
    def latest_version(
        self,
        info: Info,
        stage: Annotated[Stage | None, strawberry.argument(description="Only versions in this stage.")] = None,
    ) -> MaybeAwaitable[ModelVersionRef | None]:
        from .versions import ModelVersion

        key = (self.entity.id, stage.to_domain() if stage else None)
        return loaded(
            info.context.loaders.latest_version, key, lambda found: ModelVersion(entity=found) if found else None
        )

    @strawberry.field(description="Versions of this model, newest first unless ordered otherwise.")
    async def versions(
        self,
        info: Info,
        filter: Annotated[
            ModelVersionFilterRef | None, strawberry.argument(description="Conditions, combined with AND.")
        ] = None,
        order_by: Annotated[ModelVersionOrderRef | None, strawberry.argument(description="Sort order.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ModelVersionRef]:
        from .versions import list_versions

        return await list_versions(
            info, filter, order_by, page_request(first, after, last, before), model_id=self.entity.id
        )


@strawberry.enum(description="Fields registered models can be ordered by.")
class RegisteredModelOrderField(Enum):
    NAME = strawberry.enum_value("NAME", description="Model name.")
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="Registration time.")
    UPDATED_AT = strawberry.enum_value("UPDATED_AT", description="Time of the last change.")


@strawberry.input(description="Order of a registered model listing.")
class RegisteredModelOrder:
    field: RegisteredModelOrderField = strawberry.field(
        default=RegisteredModelOrderField.CREATED_AT, description="What to order by (default: registration time)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Sort direction (default: DESC, newest first)."
    )


@strawberry.input(description="Conditions on registered models, combined with AND.")
class RegisteredModelFilter:
    name: StringMatch | None = strawberry.field(default=None, description="Match on the model name.")
    tags: list[TagMatch] | None = strawberry.field(default=None, description="Tags that must all be present.")
    owner: str | None = strawberry.field(default=None, description="Owned by this subject.")
    created_by: str | None = strawberry.field(default=None, description="Registered by this subject.")
    created_after: datetime | None = strawberry.field(default=None, description="Registered at or after this time.")
    created_before: datetime | None = strawberry.field(default=None, description="Registered before this time.")
    use_case: StringMatch | None = strawberry.field(default=None, description="Match on the use case.")
    risk_tier: list[RiskTier] | None = strawberry.field(default=None, description="In any of these risk tiers.")
    regulatory_status: list[RegulatoryStatus] | None = strawberry.field(
        default=None, description="In any of these regulatory statuses."
    )

    def to_domain(self) -> queries.ModelFilter:
        return queries.ModelFilter(
            name=self.name.to_domain() if self.name else None,
            tags=tuple(tag.to_domain() for tag in self.tags or ()),
            owner=self.owner,
            created_by=self.created_by,
            created=time_range(self.created_after, self.created_before),
            use_case=self.use_case.to_domain() if self.use_case else None,
            risk_tiers=tuple(tier.to_domain() for tier in self.risk_tier or ()),
            regulatory_statuses=tuple(status.to_domain() for status in self.regulatory_status or ()),
        )


@strawberry.type(description="Registered model queries.")
class ModelQueries:
    @strawberry.field(description="A registered model by name, or null when there is none.")
    async def registered_model(
        self, info: Info, name: Annotated[str, strawberry.argument(description="Model name.")]
    ) -> RegisteredModel | None:
        fields = selected(info)
        relations = info.context.loaders.model_relations
        names = relations.names_among(field.name.value for field in fields)
        found, related = await info.context.services.reads.model_with(info.context.principal, name, names)
        if found is None:
            return None
        relations.fill([found.id], related)  # what was read with the model (PostgreSQL), the rest read ahead next
        await models_loaded(info, [found], fields)
        return RegisteredModel(entity=found)

    @strawberry.field(description="Registered models matching a filter, one page at a time.")
    async def registered_models(
        self,
        info: Info,
        filter: Annotated[
            RegisteredModelFilter | None, strawberry.argument(description="Conditions, combined with AND.")
        ] = None,
        order_by: Annotated[
            RegisteredModelOrder | None, strawberry.argument(description="Sort order (default: newest first).")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[RegisteredModel] | None:
        order = order_by or RegisteredModelOrder()
        page = await info.context.services.reads.models(
            info.context.principal,
            (filter or RegisteredModelFilter()).to_domain(),
            queries.ModelOrder(queries.ModelOrderField(order.field.value), order.direction.to_domain()),
            page_request(first, after, last, before),
            with_total=wants_total(info),
        )
        await models_loaded(info, [model for _, model in page.items], selected(info, "edges", "node"))
        return to_connection(page, lambda m: RegisteredModel(entity=m))


@strawberry.input(description="A new registered model.")
class CreateRegisteredModelInput:
    name: str = strawberry.field(description="Unique name: 1-256 letters, digits, `-_.` and `/` for namespaces.")
    description: str | None = strawberry.field(default=None, description="Free-text description (Markdown).")
    owner: str | None = strawberry.field(default=None, description="Owner subject; defaults to the caller.")
    tags: list[TagInput] | None = strawberry.field(default=None, description="Initial tags.")
    use_case: str | None = strawberry.field(default=None, description="What the model is used for.")
    risk_tier: RiskTier | None = strawberry.field(default=None, description="Risk tier.")
    regulatory_status: RegulatoryStatus | None = strawberry.field(default=None, description="Regulatory status.")


@strawberry.input(description="Changes to a registered model; fields left out stay as they are.")
class UpdateRegisteredModelInput:
    name: str = strawberry.field(description="Name of the model to change.")
    description: str | None = strawberry.field(default=None, description="New description.")
    owner: str | None = strawberry.field(default=None, description="New owner subject.")
    use_case: str | None = strawberry.field(default=None, description="New use case.")
    risk_tier: RiskTier | None = strawberry.field(default=None, description="New risk tier.")
    regulatory_status: RegulatoryStatus | None = strawberry.field(default=None, description="New regulatory status.")


@strawberry.input(description="The registered model to delete.")
class DeleteRegisteredModelInput:
    name: str = strawberry.field(description="Name of the model to delete with all its versions.")


@strawberry.input(description="A tag to set on a registered model.")
class SetRegisteredModelTagInput:
    name: str = strawberry.field(description="Model name.")
    key: str = strawberry.field(description="Tag key.")
    value: str = strawberry.field(description="Tag value.")


@strawberry.input(description="A tag to remove from a registered model.")
class DeleteRegisteredModelTagInput:
    name: str = strawberry.field(description="Model name.")
    key: str = strawberry.field(description="Tag key to remove.")


@strawberry.type(description="Result of a mutation that changed a registered model.")
class RegisteredModelPayload:
    registered_model: RegisteredModel = strawberry.field(description="The model as it is now.")


@strawberry.type(description="Result of deleting a registered model.")
class DeleteRegisteredModelPayload:
    deleted_id: strawberry.ID = strawberry.field(description="Global id the deleted model had.")
    name: str = strawberry.field(description="Name the deleted model had.")


@strawberry.type(description="Registered model mutations.")
class ModelMutations:
    @strawberry.mutation(description="Register a new model name. Requires model:write.")
    async def create_registered_model(
        self,
        info: Info,
        input: Annotated[CreateRegisteredModelInput, strawberry.argument(description="The new model.")],
    ) -> RegisteredModelPayload:
        command = commands.NewModel(
            name=input.name,
            description=input.description,
            owner=input.owner,
            tags=tag_map(input.tags),
            use_case=input.use_case,
            risk_tier=input.risk_tier.to_domain() if input.risk_tier else None,
            regulatory_status=input.regulatory_status.to_domain() if input.regulatory_status else None,
        )
        model = await info.context.services.models.create(info.context.principal, command)
        return RegisteredModelPayload(registered_model=RegisteredModel(entity=model))

    @strawberry.mutation(description="Change a model's description, owner or business metadata. Requires model:write.")
    async def update_registered_model(
        self, info: Info, input: Annotated[UpdateRegisteredModelInput, strawberry.argument(description="The changes.")]
    ) -> RegisteredModelPayload:
        changes = commands.ModelChanges(
            description=input.description,
            owner=input.owner,
            use_case=input.use_case,
            risk_tier=input.risk_tier.to_domain() if input.risk_tier else None,
            regulatory_status=input.regulatory_status.to_domain() if input.regulatory_status else None,
        )
        model = await info.context.services.models.update(info.context.principal, input.name, changes)
        return RegisteredModelPayload(registered_model=RegisteredModel(entity=model))

    @strawberry.mutation(
        description="Delete a model and all its versions; refused while a version is in "
        "PRODUCTION. Requires model:delete."
    )
    async def delete_registered_model(
        self, info: Info, input: Annotated[DeleteRegisteredModelInput, strawberry.argument(description="The model.")]
    ) -> DeleteRegisteredModelPayload:
        model = await info.context.services.models.delete(info.context.principal, input.name)
        return DeleteRegisteredModelPayload(deleted_id=to_global_id("RegisteredModel", model.id), name=model.name)

    @strawberry.mutation(description="Set a tag on a model, replacing its value if present. Requires model:write.")
    async def set_registered_model_tag(
        self, info: Info, input: Annotated[SetRegisteredModelTagInput, strawberry.argument(description="The tag.")]
    ) -> RegisteredModelPayload:
        model = await info.context.services.models.set_tag(info.context.principal, input.name, input.key, input.value)
        return RegisteredModelPayload(registered_model=RegisteredModel(entity=model))

    @strawberry.mutation(description="Remove a tag from a model. Requires model:write.")
    async def delete_registered_model_tag(
        self, info: Info, input: Annotated[DeleteRegisteredModelTagInput, strawberry.argument(description="The tag.")]
    ) -> RegisteredModelPayload:
        model = await info.context.services.models.delete_tag(info.context.principal, input.name, input.key)
        return RegisteredModelPayload(registered_model=RegisteredModel(entity=model))


@fetches_node("RegisteredModel")
async def _model_node(info: Info, key: int) -> RegisteredModel | None:
    found = (await info.context.services.reads.models_by_id(info.context.principal, [key])).get(key)
    return RegisteredModel(entity=found) if found else None
