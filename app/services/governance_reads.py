"""Reading governance data: transition requests, approvals, stage history, documents, and time travel."""

from __future__ import annotations

from datetime import datetime

from app.domain.entities import Stage
from app.domain.errors import BadUserInput
from app.domain.governance import (
    Approval,
    Document,
    StageChange,
    TransitionFilter,
    TransitionRequest,
    VersionAt,
)
from app.domain.identity import Principal
from app.domain.queries import Page, PageRequest
from app.domain.rules import check_alias

from .common import check_page
from .reads import RegistryReader


class GovernanceReads(RegistryReader):
    """Everything here is readable by every role (registry:read); denials are recorded."""

    async def requests(
        self, principal: Principal, filter: TransitionFilter, page: PageRequest, with_total: bool
    ) -> Page[TransitionRequest]:
        """Transition requests, newest first."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.transitions.list(filter, page, with_total)

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
            return await uow.transitions.get(key)

    async def approval(self, principal: Principal, key: int) -> Approval | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return (await uow.transitions.decisions_by_id([key])).get(key)

    async def stage_change(self, principal: Principal, key: int) -> StageChange | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return (await uow.transitions.stage_changes_by_id([key])).get(key)

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
