"""Model aliases: the type and its mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import entities
from app.domain.errors import BadUserInput
from app.domain.public_ids import alias_id, split_alias_key

from ..context import Info
from ..relay import Node, fetches_node
from .common import Actor

if TYPE_CHECKING:
    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


def _alias_id_of(root: ModelAlias) -> strawberry.ID:
    return strawberry.ID(alias_id(root.entity.model_id, root.entity.alias))


def _updated_by_of(root: ModelAlias) -> Actor:
    return Actor.of(root.entity.updated_by)


@strawberry.type(description="A per-model name (`champion`, `challenger`) pointing at one version.")
class ModelAlias(Node):
    entity: strawberry.Private[entities.ModelAlias]
    id: strawberry.ID = strawberry.field(
        resolver=_alias_id_of,
        description="Globally unique opaque id; the same for this alias of this model wherever it points.",
    )
    # Plain fields, filled from the entity once (__post_init__; the defaults only let `ModelAlias(entity=...)`
    # construct): the executor answers them without a resolver call (see RegisteredModel).
    alias: str = strawberry.field(default="", description="The alias name.")
    name: str = strawberry.field(default="", description="Model name.")
    version: int = strawberry.field(default=0, description="Number of the version the alias points at.")
    uri: str = strawberry.field(default="", description="The URI that follows this alias: `models:/NAME@ALIAS`.")
    updated_at: datetime = strawberry.field(default=None, description="When the alias was last moved.")
    updated_by: Actor = strawberry.field(resolver=_updated_by_of, description="Who last moved the alias.")

    def __post_init__(self) -> None:
        entity = self.entity
        self.alias = entity.alias
        self.name = entity.model_name
        self.version = entity.version
        self.uri = f"models:/{entity.model_name}@{entity.alias}"
        self.updated_at = entity.updated_at

    @strawberry.field(description="The version the alias points at.")
    async def model_version(self, info: Info) -> ModelVersionRef:
        from .versions import ModelVersion

        return ModelVersion(entity=await info.context.loaders.version.load(self.entity.version_id))


@strawberry.input(description="Point an alias at a version (moving it if it points elsewhere).")
class SetModelAliasInput:
    name: str = strawberry.field(description="Model name.")
    alias: str = strawberry.field(description="Alias: a letter or `_`, then letters, digits, `_` or `-` (max 64).")
    version: int = strawberry.field(description="Version number to point at.")


@strawberry.input(description="The alias to remove.")
class DeleteModelAliasInput:
    name: str = strawberry.field(description="Model name.")
    alias: str = strawberry.field(description="Alias to remove.")


@strawberry.type(description="Result of setting an alias.")
class ModelAliasPayload:
    model_alias: ModelAlias = strawberry.field(description="The alias as it is now.")


@strawberry.type(description="Result of removing an alias.")
class DeleteModelAliasPayload:
    name: str = strawberry.field(description="Model name.")
    alias: str = strawberry.field(description="The alias that was removed.")


@strawberry.type(description="Alias mutations.")
class AliasMutations:
    @strawberry.mutation(description="Point an alias at a version; the move is recorded. Requires alias:write.")
    async def set_model_alias(
        self, info: Info, input: Annotated[SetModelAliasInput, strawberry.argument(description="The alias.")]
    ) -> ModelAliasPayload:
        alias = await info.context.services.aliases.set(info.context.principal, input.name, input.alias, input.version)
        return ModelAliasPayload(model_alias=ModelAlias(entity=alias))

    @strawberry.mutation(description="Remove an alias from a model; the removal is recorded. Requires alias:write.")
    async def delete_model_alias(
        self, info: Info, input: Annotated[DeleteModelAliasInput, strawberry.argument(description="The alias.")]
    ) -> DeleteModelAliasPayload:
        await info.context.services.aliases.delete(info.context.principal, input.name, input.alias)
        return DeleteModelAliasPayload(name=input.name, alias=input.alias)


@fetches_node("ModelAlias", text_key=True)
async def _alias_node(info: Info, key: str) -> ModelAlias | None:
    parts = split_alias_key(key)
    if parts is None:
        raise BadUserInput("id is not an id this server handed out", field="id")
    model_id, alias = parts
    aliases = await info.context.loaders.model_aliases.load(model_id)
    found = next((a for a in aliases if a.alias == alias), None)
    return ModelAlias(entity=found) if found else None
