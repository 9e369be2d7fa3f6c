"""Use cases on registered models."""

from __future__ import annotations

from app.domain.audit import model_target
from app.domain.commands import ModelChanges, NewModel
from app.domain.deletion import check_model_deletable
from app.domain.entities import RegisteredModel, Stage
from app.domain.errors import Conflict, NotFound
from app.domain.events import EventDraft, EventType
from app.domain.identity import Permission, Principal
from app.domain.rules import check_tag

from .audit import AuditTrail, model_state
from .common import find_model, utc_now
from .lineage_links import derivations
from .ports import ANYWHERE, Authorizer, Clock


class ModelService:
    def __init__(self, authorizer: Authorizer, trail: AuditTrail, clock: Clock = utc_now) -> None:
        self._authorizer = authorizer
        self._trail = trail
        self._clock = clock

    async def create(self, principal: Principal, command: NewModel) -> RegisteredModel:
        """Register a new model name. The owner defaults to the caller."""
        async with self._trail.attempt(principal, "model.create", model_target(command.name)) as attempt:
            self._authorizer.require(principal, Permission.MODEL_WRITE, command.name)  # a role in its namespace
            command.validate()
            async with attempt.transaction() as uow:
                if await uow.models.get_by_name(command.name) is not None:
                    raise Conflict(f"registered model {command.name!r} already exists", field="name")
                model = await uow.models.add(
                    command, command.owner or principal.subject, principal.subject, self._clock()
                )
                attempt.record(
                    after=model_state(model, dict(command.tags)),
                    target=model_target(model.name, model.id),
                    events=[EventDraft(EventType.MODEL_CREATED, model.name)],
                )
        return model

    async def update(self, principal: Principal, name: str, changes: ModelChanges) -> RegisteredModel:
        """Change a model's description, owner or business metadata."""
        async with self._trail.attempt(principal, "model.update", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.MODEL_WRITE, ANYWHERE)
            changes.validate()
            async with attempt.transaction() as uow:
                model = await find_model(uow, name)
                self._authorizer.require(principal, Permission.MODEL_WRITE, name, owner=model.owner)
                updated = await uow.models.update(model.id, changes, self._clock())
                attempt.record(
                    before=model_state(model),
                    after=model_state(updated),
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.MODEL_UPDATED, name)],
                )
        return updated

    async def delete(self, principal: Principal, name: str) -> RegisteredModel:
        """Delete a model with all its versions, unless one of them is in PRODUCTION."""
        async with self._trail.attempt(principal, "model.delete", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.MODEL_DELETE, name)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                check_model_deletable(
                    name,
                    model.id,
                    in_production=await uow.versions.count_in_stage(model.id, Stage.PRODUCTION),
                    derived=await derivations(uow, model_id=model.id),
                    deployed_in=await uow.deployments.of_model(model.id),
                )
                await uow.deployments.forget_model(model.id)  # undeployed everywhere: only histories remain
                await uow.models.delete(model.id)
                attempt.record(
                    before=model_state(model),
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.MODEL_DELETED, name)],
                )
        return model

    async def set_tag(self, principal: Principal, name: str, key: str, value: str) -> RegisteredModel:
        """Set (or overwrite) one tag on a model."""
        async with self._trail.attempt(principal, "model.tag.set", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.MODEL_WRITE, ANYWHERE)
            check_tag(key, value, "key")
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                self._authorizer.require(principal, Permission.MODEL_WRITE, name, owner=model.owner)
                old = (await uow.models.tags([model.id]))[model.id].get(key)
                await uow.models.set_tag(model.id, key, value)
                model = await uow.models.touch(model.id, self._clock())
                attempt.record(
                    before={"tags": {key: old}},
                    after={"tags": {key: value}},
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.MODEL_TAGS_CHANGED, name)],
                )
        return model

    async def delete_tag(self, principal: Principal, name: str, key: str) -> RegisteredModel:
        """Remove one tag from a model; removing a tag that is not there is NOT_FOUND."""
        async with self._trail.attempt(principal, "model.tag.delete", model_target(name)) as attempt:
            self._authorizer.require(principal, Permission.MODEL_WRITE, ANYWHERE)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                self._authorizer.require(principal, Permission.MODEL_WRITE, name, owner=model.owner)
                old = (await uow.models.tags([model.id]))[model.id].get(key)
                if not await uow.models.delete_tag(model.id, key):
                    raise NotFound(f"model {name!r} has no tag {key!r}", field="key")
                model = await uow.models.touch(model.id, self._clock())
                attempt.record(
                    before={"tags": {key: old}},
                    after={"tags": {key: None}},
                    target=model_target(name, model.id),
                    events=[EventDraft(EventType.MODEL_TAGS_CHANGED, name)],
                )
        return model
