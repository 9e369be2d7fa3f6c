"""Use cases on model aliases (``champion``, ``challenger``)."""

from __future__ import annotations

import hashlib

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
from .ports import Authorizer, Clock

# A model's aliases have no key of their own (the model and the name identify one), so their global ids carry
# ``alias_key``: the model's key times 2**31 plus 31 bits of the sha256 of the name. Stable (the same alias of the
# same model always has the same id, wherever it points) and found again without storing anything: node(id:) reads
# the model's aliases and picks the one whose name hashes alike. Two names of one model whose hashes share 31 bits
# would share an id (odds about n**2 / 2**32 for a model with n aliases).
_ALIAS_BITS = 31


def alias_key(model_id: int, alias: str) -> int:
    digest = int.from_bytes(hashlib.sha256(alias.encode()).digest()[:4], "big") & ((1 << _ALIAS_BITS) - 1)
    return (model_id << _ALIAS_BITS) | digest


def model_of_alias_key(key: int) -> int:
    """The key of the model whose alias ``alias_key`` gave ``key``."""
    return key >> _ALIAS_BITS


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
            self._authorizer.require(principal, Permission.ALIAS_WRITE)
            check_alias(alias)
            check_alias_unprotected(self._policy, alias)
            async with attempt.transaction() as uow:
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
            self._authorizer.require(principal, Permission.ALIAS_WRITE)
            check_alias_unprotected(self._policy, alias)
            async with attempt.transaction() as uow:
                model = await find_model(uow, name)
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
