"""Use cases on model aliases (``champion``, ``challenger``)."""

from __future__ import annotations

from app.domain.audit import AuditTarget
from app.domain.entities import ModelAlias
from app.domain.errors import NotFound
from app.domain.events import EventDraft, EventType
from app.domain.identity import Permission, Principal
from app.domain.promotion import PromotionPolicy
from app.domain.rules import check_alias
from app.domain.transitions import check_alias_unprotected

from .audit import AuditTrail
from .common import find_model, find_version, utc_now
from .ports import ANYWHERE, Authorizer, Clock


def alias_target(name: str, alias: str, model_id: int | None = None) -> AuditTarget:
    return AuditTarget("ModelAlias", str(model_id) if model_id is not None else None, f"{name}@{alias}")


class AliasService:
    def __init__(
        self,
        authorizer: Authorizer,
        trail: AuditTrail,
        clock: Clock = utc_now,
        policy: PromotionPolicy | None = None,
    ) -> None:
        self._authorizer = authorizer
        self._trail = trail
        self._clock = clock
        self._policy = policy or PromotionPolicy()

    async def set(self, principal: Principal, name: str, alias: str, number: int) -> ModelAlias:
        """Point ``alias`` at a version of the model, moving it if it pointed elsewhere. The move is recorded.
        Protected aliases move only through an approved transition request."""
        async with self._trail.attempt(principal, "alias.set", alias_target(name, alias)) as attempt:
            self._authorizer.require(principal, Permission.ALIAS_WRITE, ANYWHERE)
            check_alias(alias)
            check_alias_unprotected(self._policy, alias)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                self._authorizer.require(principal, Permission.ALIAS_WRITE, name, owner=model.owner)
                model, version = await find_version(uow, name, number)
                current = await uow.aliases.get(model.id, alias)
                result = await uow.aliases.set(version, alias, principal.subject, self._clock())
                attempt.record(
                    before={"version": current.version if current else None},
                    after={"version": number},
                    target=alias_target(name, alias, model.id),
                    events=[EventDraft(EventType.ALIAS_MOVED, name, number)],
                )
        return result

    async def delete(self, principal: Principal, name: str, alias: str) -> str:
        """Remove an alias from a model. The removal is recorded. Protected aliases cannot be removed."""
        async with self._trail.attempt(principal, "alias.delete", alias_target(name, alias)) as attempt:
            self._authorizer.require(principal, Permission.ALIAS_WRITE, ANYWHERE)
            check_alias_unprotected(self._policy, alias)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name, for_update=True)
                self._authorizer.require(principal, Permission.ALIAS_WRITE, name, owner=model.owner)
                current = await uow.aliases.get(model.id, alias)
                if not await uow.aliases.delete(model.id, alias, principal.subject, self._clock()):
                    raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
                attempt.record(
                    before={"version": current.version if current else None},
                    after={"version": None},
                    target=alias_target(name, alias, model.id),
                    events=[EventDraft(EventType.ALIAS_MOVED, name, current.version if current else None)],
                )
        return alias
