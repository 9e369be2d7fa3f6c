"""Reading governance data: transition requests, approvals, stage history, documents, time travel, and whether the
caller may act on one object (``viewer.can(..., id:)``)."""

from __future__ import annotations

from datetime import datetime

from app.domain.deletion import check_model_deletable, check_version_deletable
from app.domain.entities import Stage
from app.domain.errors import BadUserInput, NotFound
from app.domain.governance import (
    Approval,
    Document,
    StageChange,
    TransitionFilter,
    TransitionRequest,
    VersionAt,
)
from app.domain.identity import Permission, Principal
from app.domain.public_ids import global_id
from app.domain.queries import Page, PageRequest, check_page
from app.domain.rules import check_alias
from app.domain.transitions import check_may_approve, check_may_cancel, passes

from .lineage_links import derivations
from .ports import UnitOfWork
from .reads import RegistryReader

# The permissions ``may`` answers for one object, with the type of object (global id) each takes. The others have
# no rule beyond the permission, or need more than an id to decide (a request takes its target stage).
OBJECT_TYPES: dict[Permission, str] = {
    Permission.TRANSITION_APPROVE: "TransitionRequest",
    Permission.TRANSITION_CANCEL: "TransitionRequest",
    Permission.MODEL_WRITE: "RegisteredModel",
    Permission.MODEL_DELETE: "RegisteredModel",
    Permission.VERSION_WRITE: "ModelVersion",
    Permission.VERSION_DELETE: "ModelVersion",
}
_NAMED = {"TransitionRequest": "transition request", "RegisteredModel": "registered model", "ModelVersion": "version"}


def _missing(type_name: str, key: int) -> NotFound:
    return NotFound(f"{_NAMED[type_name]} {global_id(type_name, key)} does not exist", field="id")


class GovernanceReads(RegistryReader):
    """Everything here is readable by every role (registry:read); denials are recorded."""

    async def requests(
        self, principal: Principal, filter: TransitionFilter, page: PageRequest, with_total: bool
    ) -> Page[TransitionRequest]:
        """Transition requests, newest first."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.transitions.list(filter, page, with_total, self._scope(principal))

    async def stage_at(self, principal: Principal, model_id: int, stage: Stage, moment: datetime) -> list[StageChange]:
        """The versions that were in ``stage`` at ``moment``, as the stage changes that put them there (the last
        move of each version up to ``moment``), newest version first."""
        await self._require(principal)
        if stage is Stage.NONE:
            raise BadUserInput("stageAt answers for STAGING, PRODUCTION or ARCHIVED", field="stage")
        async with self._uow(write=False) as uow:
            changes = await uow.transitions.model_history(model_id, until=moment)
        last: dict[int, StageChange] = {}
        for change in changes:
            last[change.version] = change
        return [change for _, change in sorted(last.items(), reverse=True) if change.to_stage is stage]

    async def alias_at(self, principal: Principal, model_id: int, alias: str, moment: datetime) -> VersionAt | None:
        """The version ``alias`` pointed at, at ``moment`` (None when it was not set then)."""
        await self._require(principal)
        check_alias(alias)
        async with self._uow(write=False) as uow:
            return await uow.aliases.at(model_id, alias, moment)

    # One object by its key (``node(id:)``); None when there is none.

    async def request(self, principal: Principal, key: int) -> TransitionRequest | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            found = await uow.transitions.get(key)
        return found if found is not None and self._scope(principal).covers(found.model_name) else None

    async def approval(self, principal: Principal, key: int) -> Approval | None:
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = (await uow.transitions.decisions_by_id([key])).get(key)
            if found is None or scope.everything:
                return found
            request = await uow.transitions.get(found.request_id)
        return found if request is not None and scope.covers(request.model_name) else None

    async def stage_change(self, principal: Principal, key: int) -> StageChange | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            found = (await uow.transitions.stage_changes_by_id([key])).get(key)
        return found if found is not None and self._scope(principal).covers(found.model_name) else None

    # What the caller may do to one object.

    async def may(self, principal: Principal, permission: Permission, type_name: str, key: int) -> bool:
        """Whether ``principal`` may do what ``permission`` guards to object ``key`` of ``type_name``, by the checks
        the mutation runs: the permission, then the object's own rules (approving: separation of duties, an open
        request, one decision per approver; cancelling: one's own or transition:cancel-any, an open request;
        deleting: the deletion guards). BAD_USER_INPUT for a permission that takes no object or an id of another
        type; looking at the object takes registry:read; NOT_FOUND when it does not exist."""
        expected = OBJECT_TYPES.get(permission)
        if expected is None:
            takes = ", ".join(f"{p.action} on {p.resource}" for p in OBJECT_TYPES)
            raise BadUserInput(
                f"can answers about one object only for {takes}; ask about {permission.action} on "
                f"{permission.resource} without an id",
                field="id",
            )
        if type_name != expected:
            raise BadUserInput(
                f"id {global_id(type_name, key)!r} is not the id of a {_NAMED[expected]}, which "
                f"{permission.action} on {permission.resource} is about",
                field="id",
            )
        await self._require(principal)
        async with self._uow(write=False) as uow:
            if expected == "TransitionRequest":
                return await self._may_decide(uow, principal, permission, key)
            if expected == "RegisteredModel":
                return await self._may_change_model(uow, principal, permission, key)
            return await self._may_change_version(uow, principal, permission, key)

    async def _may_decide(self, uow: UnitOfWork, principal: Principal, permission: Permission, key: int) -> bool:
        request = await uow.transitions.get(key)
        if request is None or not self._scope(principal).covers(request.model_name):
            raise _missing("TransitionRequest", key)
        if not self._authorizer.allows(principal, permission, request.model_name):  # scoped roles count there
            return False
        if permission is Permission.TRANSITION_CANCEL:
            may_cancel_any = self._authorizer.allows(principal, Permission.TRANSITION_CANCEL_ANY, request.model_name)
            return passes(check_may_cancel, principal.subject, request, may_cancel_any)
        version = (await uow.versions.get_many([request.version_id]))[request.version_id]
        decisions = (await uow.transitions.decisions([request.id]))[request.id]
        return passes(check_may_approve, principal.subject, request, version, decisions)

    async def _may_change_model(self, uow: UnitOfWork, principal: Principal, permission: Permission, key: int) -> bool:
        model = (await uow.models.get_many([key])).get(key)
        if model is None or not self._scope(principal).covers(model.name):
            raise _missing("RegisteredModel", key)
        owner = model.owner if permission is Permission.MODEL_WRITE else None  # the owner may update the model
        allowed = self._authorizer.allows(principal, permission, model.name, owner=owner)
        if not allowed or permission is not Permission.MODEL_DELETE:
            return allowed
        return passes(
            check_model_deletable,
            model.name,
            model.id,
            in_production=await uow.versions.count_in_stage(model.id, Stage.PRODUCTION),
            derived=await derivations(uow, model_id=model.id),
            deployed_in=await uow.deployments.of_model(model.id),
        )

    async def _may_change_version(
        self, uow: UnitOfWork, principal: Principal, permission: Permission, key: int
    ) -> bool:
        version = (await uow.versions.get_many([key])).get(key)
        if version is None or not self._scope(principal).covers(version.model_name):
            raise _missing("ModelVersion", key)
        allowed = self._authorizer.allows(principal, permission, version.model_name)
        if not allowed or permission is not Permission.VERSION_DELETE:
            return allowed
        aliases = (await uow.aliases.for_versions([version.id]))[version.id]
        return passes(
            check_version_deletable,
            version.model_name,
            version,
            derived=await derivations(uow, version),
            serving_in=(await uow.deployments.environments_serving([version.id])).get(version.id, []),
            aliases=[alias.alias for alias in aliases],
        )

    # Batch reads for DataLoaders.

    async def approvals(self, principal: Principal, request_ids: list[int]) -> dict[int, list[Approval]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.transitions.decisions(request_ids)

    async def stage_history(self, principal: Principal, version_ids: list[int]) -> dict[int, list[StageChange]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.transitions.stage_history(version_ids)

    async def documents(self, principal: Principal, version_ids: list[int]) -> dict[int, list[Document]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.documents.for_versions(version_ids)

    async def documents_by_id(self, principal: Principal, ids: list[int]) -> dict[int, Document]:
        """Documents by id (``node(id:)``)."""
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = await uow.documents.get_many(ids)
            if scope.everything or not found:
                return found
            versions = await uow.versions.get_many(list({document.version_id for document in found.values()}))
        return {
            key: document
            for key, document in found.items()
            if document.version_id in versions and scope.covers(versions[document.version_id].model_name)
        }
