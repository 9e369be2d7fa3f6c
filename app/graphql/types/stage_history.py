"""A version's stage history and time travel: which version was in a stage, or behind an alias, at a moment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import governance

from ..context import Info
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    connection_from_list,
    fetches_node,
    page_request,
    to_global_id,
)
from .common import Actor, Stage, _aware

if TYPE_CHECKING:
    from app.domain import entities

    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


@strawberry.type(description="One stage move of a version, kept after the version is deleted.")
class StageChange(Node):
    entity: strawberry.Private[governance.StageChange]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        assert self.entity.id is not None, "a stage change read from the history has its key"
        return to_global_id("StageChange", self.entity.id)

    @strawberry.field(description="Model name.")
    def name(self) -> str:
        return self.entity.model_name

    @strawberry.field(description="Version number (the version itself may have been deleted since).")
    def version(self) -> int:
        return self.entity.version

    @strawberry.field(description="The version that moved, or null when it has been deleted since.")
    async def model_version(self, info: Info) -> ModelVersionRef | None:
        from .versions import ModelVersion

        found = await info.context.loaders.version_by_number.load((self.entity.model_name, self.entity.version))
        return ModelVersion(entity=found) if found else None

    @strawberry.field(description="Stage before the move.")
    def from_stage(self) -> Stage:
        return Stage(self.entity.from_stage.value)

    @strawberry.field(description="Stage after the move.")
    def to_stage(self) -> Stage:
        return Stage(self.entity.to_stage.value)

    @strawberry.field(description="When it moved.")
    def changed_at(self) -> datetime:
        return self.entity.changed_at

    @strawberry.field(
        description="Who moved it: the approver who completed the request, the requester when no "
        "approval was needed, or whoever rolled back."
    )
    def changed_by(self) -> Actor:
        return Actor.of(self.entity.changed_by)

    @strawberry.field(description="Why, for moves that were not a plain request (rollback, replaced in production).")
    def reason(self) -> str | None:
        return self.entity.reason

    @strawberry.field(description="The transition request that caused it, if any.")
    def request_id(self) -> strawberry.ID | None:
        return to_global_id("TransitionRequest", self.entity.request_id) if self.entity.request_id else None


@strawberry.type(description="The version an alias pointed at, at a point in time.")
class VersionAtTime:
    entity: strawberry.Private[governance.VersionAt]
    model_name: strawberry.Private[str]

    @strawberry.field(description="Version number (the version itself may have been deleted since).")
    def version(self) -> int:
        return self.entity.version

    @strawberry.field(description="When the alias was moved to it (it pointed there from then on).")
    def changed_at(self) -> datetime:
        return self.entity.since

    @strawberry.field(description="Who moved the alias there.")
    def changed_by(self) -> Actor:
        return Actor.of(self.entity.by)

    @strawberry.field(description="The version, or null when it has been deleted since.")
    async def model_version(self, info: Info) -> ModelVersionRef | None:
        from .versions import ModelVersion

        found = await info.context.loaders.version_by_number.load((self.model_name, self.entity.version))
        return ModelVersion(entity=found) if found else None


@strawberry.type(description="Time travel on a model's stages and aliases.")
class ModelHistoryFields:
    if TYPE_CHECKING:  # declared by RegisteredModel, which this mixin is part of
        entity: entities.RegisteredModel

    @strawberry.field(
        description="The versions that were in `stage` (default PRODUCTION) at `time`, as the stage changes that "
        "put them there (`changedAt`: since when, `changedBy`: by whom): what was serving at that moment? "
        "Newest version (highest number) first."
    )
    async def stage_at(
        self,
        info: Info,
        time: Annotated[
            datetime, strawberry.argument(description="The moment asked about (UTC unless an offset is given).")
        ],
        stage: Annotated[
            Stage | None, strawberry.argument(description="STAGING, PRODUCTION or ARCHIVED; null: PRODUCTION.")
        ] = Stage.PRODUCTION,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[StageChange]:
        stage = stage or Stage.PRODUCTION
        moment = _aware(time)
        found = await info.context.services.governance.stage_at(
            info.context.principal, self.entity.id, stage.to_domain(), moment
        )
        items = [StageChange(entity=change) for change in found]
        # A snapshot: its cursors belong to this stage at this moment.
        list_name = f"stage-at/{stage.value}/{moment.isoformat()}"
        return connection_from_list(items, list_name, page_request(first, after, last, before))

    @strawberry.field(description="The version `alias` pointed at, at `time`, or null when it was not set then.")
    async def alias_at(
        self,
        info: Info,
        alias: Annotated[str, strawberry.argument(description="The alias, such as `champion`.")],
        time: Annotated[datetime, strawberry.argument(description="The moment asked about.")],
    ) -> VersionAtTime | None:
        found = await info.context.services.governance.alias_at(
            info.context.principal, self.entity.id, alias, _aware(time)
        )
        return VersionAtTime(entity=found, model_name=self.entity.name) if found else None


@fetches_node("StageChange")
async def _stage_change_node(info: Info, key: int) -> StageChange | None:
    found = await info.context.services.governance.stage_change(info.context.principal, key)
    return StageChange(entity=found) if found else None
