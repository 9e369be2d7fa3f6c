"""Read use cases: lookups, listings, URI resolution, and the batch reads behind DataLoaders."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.domain.entities import Metric, ModelAlias, ModelVersion, RegisteredModel, Stage
from app.domain.errors import BadUserInput, NotFound
from app.domain.identity import Permission, Principal
from app.domain.queries import (
    ModelFilter,
    ModelOrder,
    Page,
    PageRequest,
    VersionFilter,
    VersionOrder,
    VersionOrderField,
    check_filter,
    check_page,
)
from app.domain.read_scope import ReadScope
from app.domain.uris import parse_model_uri

from .audit import AuditTrail
from .common import version_at_uri
from .ports import Authorizer, UnitOfWorkFactory

Related = dict[str, dict[int, Any]]  # relation name -> {owner id: value}


def _aliases_in(scope: ReadScope, found: dict[int, list[ModelAlias]]) -> dict[int, list[ModelAlias]]:
    """``found`` without the aliases of models out of ``scope``."""
    if scope.everything:
        return found
    return {key: [alias for alias in aliases if scope.covers(alias.model_name)] for key, aliases in found.items()}


@dataclass(frozen=True)
class ResolvedUri:
    """What a ``models:/`` URI points at right now."""

    uri: str
    version: ModelVersion
    alias: str | None = None


class RegistryReader:
    """Base of the read services: everything they answer needs registry:read, and a denial is audited."""

    def __init__(
        self, uow: UnitOfWorkFactory, authorizer: Authorizer, trail: AuditTrail, max_page_size: int = 100
    ) -> None:
        self._uow = uow
        self._authorizer = authorizer
        self.max_page_size = max_page_size
        self._trail = trail

    async def _require(self, principal: Principal) -> None:
        await self._trail.require(self._authorizer, principal, Permission.REGISTRY_READ, "registry.read")

    def _scope(self, principal: Principal) -> ReadScope:
        """Where the caller reads (MODELREG_READ_SCOPE): lists and counts pass it to SQL, single objects out of it
        answer as missing ones do."""
        return self._authorizer.read_scope(principal)


class ReadService(RegistryReader):
    async def model(self, principal: Principal, name: str) -> RegisteredModel | None:
        return (await self.model_with(principal, name, ()))[0]

    async def model_with(
        self, principal: Principal, name: str, names: Collection[str]
    ) -> tuple[RegisteredModel | None, Related]:
        """The model named ``name`` and those of its relations ``names`` (tags, aliases) that the database read with
        it (on PostgreSQL, all: one statement), as ``related_of_models`` answers them."""
        await self._require(principal)
        scope = self._scope(principal)
        if not scope.covers(name):
            return None, {}
        async with self._uow(write=False) as uow:
            found, related = await uow.models.get_by_name_with(name, names)
        if "aliases" in related:
            related["aliases"] = _aliases_in(scope, related["aliases"])
        return found, related

    async def version(self, principal: Principal, name: str, number: int) -> ModelVersion | None:
        await self._require(principal)
        if not self._scope(principal).covers(name):
            return None
        async with self._uow(write=False) as uow:
            return (await uow.versions.find_with_model(name, number))[1]

    async def models(
        self, principal: Principal, filter: ModelFilter, order: ModelOrder, page: PageRequest, with_total: bool
    ) -> Page[RegisteredModel]:
        await self._require(principal)
        check_page(page, self.max_page_size)
        check_filter(filter.tags)
        async with self._uow(write=False) as uow:
            return await uow.models.list(filter, order, page, with_total, self._scope(principal))

    async def versions(
        self,
        principal: Principal,
        filter: VersionFilter,
        order: VersionOrder,
        page: PageRequest,
        with_total: bool,
        names: Collection[str] = (),
    ) -> tuple[Page[ModelVersion], Related]:
        """A page of versions, and those of their relations ``names`` that the database read with them (on
        PostgreSQL, their tags), as ``related_of_versions`` answers them."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        check_filter(filter.tags, filter.metrics)
        if order.field is VersionOrderField.METRIC and not order.metric:
            raise BadUserInput(
                "orderBy.metric names the metric to order by when field is METRIC", field="orderBy.metric"
            )
        async with self._uow(write=False) as uow:
            found, tags = await uow.versions.list_with_tags(
                filter, order, page, with_total, self._scope(principal), with_tags="tags" in names
            )
        return found, ({} if tags is None else {"tags": tags})

    async def resolve_uri(self, principal: Principal, uri: str) -> ResolvedUri:
        """Resolve ``models:/NAME/VERSION``, ``/STAGE``, ``/latest`` or ``@ALIAS`` to one version."""
        await self._require(principal)
        parsed = parse_model_uri(uri)
        if not self._scope(principal).covers(parsed.name):
            raise NotFound(f"registered model {parsed.name!r} does not exist", field="name")
        async with self._uow(write=False) as uow:
            return ResolvedUri(uri, await version_at_uri(uow, parsed), parsed.alias)

    async def check_readable(self, principal: Principal) -> None:
        """The registry read check alone: ``node(id:)`` of a type nobody fetches answers null after it, like a
        missing object."""
        await self._require(principal)

    # Batch reads for DataLoaders: one statement for many parents.

    async def models_by_id(self, principal: Principal, ids: list[int]) -> dict[int, RegisteredModel]:
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = await uow.models.get_many(ids)
        return found if scope.everything else {k: m for k, m in found.items() if scope.covers(m.name)}

    async def versions_by_id(self, principal: Principal, ids: list[int]) -> dict[int, ModelVersion]:
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = await uow.versions.get_many(ids)
        return found if scope.everything else {k: v for k, v in found.items() if scope.covers(v.model_name)}

    async def versions_by_number(
        self, principal: Principal, keys: list[tuple[str, int]]
    ) -> dict[tuple[str, int], ModelVersion]:
        await self._require(principal)
        scope = self._scope(principal)
        keys = [key for key in keys if scope.covers(key[0])]
        async with self._uow(write=False) as uow:
            return await uow.versions.find_by_model_number(keys)

    async def model_tags(self, principal: Principal, ids: list[int]) -> dict[int, dict[str, str]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.models.tags(ids)

    async def version_tags(self, principal: Principal, ids: list[int]) -> dict[int, dict[str, str]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.versions.tags(ids)

    async def metrics(self, principal: Principal, ids: list[int]) -> dict[int, list[Metric]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.versions.metrics(ids)

    async def latest_versions_in_stages(
        self, principal: Principal, keys: list[tuple[int, Stage | None]]
    ) -> dict[tuple[int, Stage | None], ModelVersion]:
        """The newest version of each model (stage None) or the newest in a stage, for (model id, stage) keys."""
        return (await self.latest_versions_with(principal, keys, ()))[0]

    async def latest_versions_with(
        self, principal: Principal, keys: list[tuple[int, Stage | None]], names: Collection[str]
    ) -> tuple[dict[tuple[int, Stage | None], ModelVersion], Related]:
        """``latest_versions_in_stages`` and those of the versions' relations ``names`` (tags, metrics, aliases) that
        the database read with them (on PostgreSQL, all: one statement), as ``related_of_versions`` answers them."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            newest, related = await uow.versions.latest_in_stages_with(
                list({model_id for model_id, _ in keys}), frozenset(stage for _, stage in keys), names
            )
        found = {
            (model_id, stage): newest[model_id][stage] for model_id, stage in keys if stage in newest.get(model_id, {})
        }
        return found, related

    async def model_aliases(self, principal: Principal, ids: list[int]) -> dict[int, list[ModelAlias]]:
        """Each model's aliases (also ``node(id:)`` of a ModelAlias: none for a model out of the read scope)."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            found = await uow.aliases.for_models(ids)
        return _aliases_in(self._scope(principal), found)

    async def related_of_models(self, principal: Principal, ids: list[int], names: list[str]) -> Related:
        """Several relations of the models ``ids`` at once (``names`` among tags, aliases), each as its own batch
        read above answers it: ``{name: {model id: value}}``."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            found = await uow.related.of_models(ids, names)
        if "aliases" in found:
            found["aliases"] = _aliases_in(self._scope(principal), found["aliases"])
        return found

    async def related_of_versions(self, principal: Principal, ids: list[int], names: list[str]) -> Related:
        """Several relations of the versions ``ids`` at once (``names`` among tags, metrics, aliases), each as its
        own batch read above answers it."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.related.of_versions(ids, names)

    async def version_aliases(self, principal: Principal, ids: list[int]) -> dict[int, list[ModelAlias]]:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.aliases.for_versions(ids)

    async def version_sources(self, principal: Principal, ids: list[int]) -> dict[int, str]:
        """What each version registered from a source was copied from."""
        await self._require(principal)
        async with self._uow(write=False) as uow:
            return await uow.sources.uris(ids)
