"""Use cases on model aliases (``champion``, ``challenger``)."""

from __future__ import annotations

from app.domain.entities import ModelAlias
from app.domain.errors import NotFound
from app.domain.identity import Permission, Principal
from app.domain.rules import check_alias

from .common import find_model, find_version, utc_now
from .ports import Authorizer, Clock, UnitOfWorkFactory


class AliasService:
    def __init__(self, uow: UnitOfWorkFactory, authorizer: Authorizer, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self._clock = clock

    async def set(self, principal: Principal, name: str, alias: str, number: int) -> ModelAlias:
        """Point ``alias`` at a version of the model, moving it if it pointed elsewhere. The move is recorded."""
        self._authorizer.require(principal, Permission.ALIAS_WRITE)
        check_alias(alias)
        async with self._uow(write=True) as uow:
            _, version = await find_version(uow, name, number)
            result = await uow.aliases.set(version, alias, principal.subject, self._clock())
            await uow.commit()
        return result

    async def delete(self, principal: Principal, name: str, alias: str) -> str:
        """Remove an alias from a model. The removal is recorded."""
        self._authorizer.require(principal, Permission.ALIAS_WRITE)
        async with self._uow(write=True) as uow:
            model = await find_model(uow, name)
            if not await uow.aliases.delete(model.id, alias, principal.subject, self._clock()):
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            await uow.commit()
        return alias
