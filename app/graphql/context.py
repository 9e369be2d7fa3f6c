"""The per-request context: the caller, the services, and fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar, cast

import strawberry
from strawberry.dataloader import DataLoader

from app.domain.entities import ModelVersion, Stage
from app.domain.errors import Unauthenticated
from app.domain.identity import Principal
from app.services.aliases import AliasService
from app.services.artifacts import ArtifactService
from app.services.audit_log import AuditLogService
from app.services.deployments import DeploymentReads, DeploymentService
from app.services.documents import DocumentService
from app.services.event_feed import EventSubscriptions
from app.services.governance_reads import GovernanceReads
from app.services.lineage import LineageService
from app.services.lineage_reads import LineageReads
from app.services.models import ModelService
from app.services.ports import Authorizer
from app.services.reads import ReadService
from app.services.transitions import TransitionService
from app.services.versions import VersionService
from app.services.webhooks import WebhookService

K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """Use cases, built once at start-up."""

    models: ModelService
    versions: VersionService
    aliases: AliasService
    reads: ReadService
    artifacts: ArtifactService
    authorizer: Authorizer
    transitions: TransitionService
    documents: DocumentService
    governance: GovernanceReads
    audit_log: AuditLogService
    lineage: LineageService
    lineage_reads: LineageReads
    webhooks: WebhookService
    events: EventSubscriptions
    deployments: DeploymentService
    deployment_reads: DeploymentReads


class BatchLoader(DataLoader[K, T]):
    """A DataLoader over a ``fetch(keys) -> {key: value}`` batch read (``default`` for keys it did not find), whose
    batches can also be read ahead into a plain dict (``read_ahead``): a page's nested fields then answer from
    ``ready`` without a future per key (see prefetch.py)."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Mapping[K, T]]], default: Any = None) -> None:
        async def load(keys: list[K]) -> list[T]:
            found = await fetch(list(dict.fromkeys(keys)))
            return [found.get(key, default) for key in keys]

        super().__init__(load_fn=load)
        self._fetch = fetch
        self._default = default
        self.ready: dict[K, T] = {}

    def clear(self, key: K) -> None:
        self.ready.pop(key, None)
        with suppress(KeyError):  # read ahead only, never loaded
            super().clear(key)

    def clear_many(self, keys: Iterable[K]) -> None:
        for key in keys:
            self.clear(key)

    def clear_all(self) -> None:
        self.ready.clear()
        super().clear_all()

    def replace(self, key: K, value: T) -> None:
        """Answer ``value`` for ``key`` from now on: what a change in this request left (fields selected after it
        must not answer what was loaded before it)."""
        self.clear(key)
        self.ready[key] = value

    def missing(self, keys: Iterable[K]) -> list[K]:
        """Those of ``keys`` not read ahead yet, once each."""
        ready = self.ready
        return [key for key in dict.fromkeys(keys) if key not in ready]

    def fill(self, keys: Iterable[K], found: Mapping[K, T]) -> None:
        """Keep ``found``'s values of ``keys`` in ``ready`` (the default for those it lacks); keys read ahead
        before keep their value."""
        ready, default = self.ready, self._default
        for key in keys:
            if key not in ready:
                ready[key] = found.get(key, default)

    async def read_ahead(self, keys: list[K]) -> list[T]:
        """The values of ``keys``, read in one batch for those not read ahead before and kept in ``ready``."""
        missing = self.missing(keys)
        if missing:
            self.fill(missing, await self._fetch(missing))
        return [self.ready[key] for key in keys]


RelatedFetch = Callable[[list[int], list[str]], Awaitable[Mapping[str, Mapping[int, Any]]]]


@dataclass(frozen=True)
class RelationLoaders:
    """The loaders of several relations of one kind of owner (a model's tags and aliases, say), which ``fetch``
    also reads together: ``fetch(ids, names) -> {name: {id: value}}``."""

    loaders: Mapping[str, BatchLoader[int, Any]]
    fetch: RelatedFetch

    def names_among(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` (selected fields, say) that are relations here."""
        return [name for name in names if name in self.loaders]

    def fill(self, ids: Iterable[int], related: Mapping[str, Mapping[int, Any]]) -> None:
        """Keep relations read with their owners (``related``: ``{name: {owner id: value}}``) for the owners
        ``ids``."""
        for name, found in related.items():
            self.loaders[name].fill(ids, found)

    async def read_ahead(self, ids: list[int], names: Iterable[str]) -> None:
        """Read the relations ``names`` of ``ids`` ahead into their loaders: with one ``fetch`` when several need
        reading, with the loader's own read when one does."""
        missing = {name: self.loaders[name].missing(ids) for name in dict.fromkeys(names) if name in self.loaders}
        missing = {name: keys for name, keys in missing.items() if keys}
        if len(missing) == 1:
            [(name, keys)] = missing.items()
            await self.loaders[name].read_ahead(keys)
        elif missing:
            owners = list(dict.fromkeys(key for keys in missing.values() for key in keys))
            found = await self.fetch(owners, list(missing))
            for name in missing:
                self.loaders[name].fill(owners, found[name])


class Loaders:
    """DataLoaders for one request: each nested field costs one statement per page, not one per parent. Each is made
    when first used: a request uses a few of them."""

    def __init__(
        self,
        reads: ReadService,
        artifacts: ArtifactService,
        principal: Principal | None,
        governance: GovernanceReads | None = None,
        lineage: LineageReads | None = None,
    ) -> None:
        # Resolvers reach the loaders through an authenticated context only (Context.principal raises otherwise).
        self._caller = cast(Principal, principal)
        self._reads, self._artifacts, self._governance, self._lineage = reads, artifacts, governance, lineage

    def _bind(
        self, method: Callable[[Principal, list[Any]], Awaitable[Mapping[Any, Any]]], default: Any = None
    ) -> BatchLoader:
        caller = self._caller
        return BatchLoader(lambda keys: method(caller, keys), default)

    def _governance_reads(self, name: str) -> GovernanceReads:
        if self._governance is None:
            raise AttributeError(f"no {name} loader: the context was made without governance reads")
        return self._governance

    @cached_property
    def model(self) -> BatchLoader:
        return self._bind(self._reads.models_by_id)

    @cached_property
    def version_by_number(self) -> BatchLoader:
        return self._bind(self._reads.versions_by_number)

    @cached_property
    def version(self) -> BatchLoader:
        return self._bind(self._reads.versions_by_id)

    @cached_property
    def model_tags(self) -> BatchLoader:
        return self._bind(self._reads.model_tags, {})

    @cached_property
    def version_tags(self) -> BatchLoader:
        return self._bind(self._reads.version_tags, {})

    @cached_property
    def metrics(self) -> BatchLoader:
        return self._bind(self._reads.metrics, [])

    @cached_property
    def model_aliases(self) -> BatchLoader:
        return self._bind(self._reads.model_aliases, [])

    @cached_property
    def version_aliases(self) -> BatchLoader:
        return self._bind(self._reads.version_aliases, [])

    @cached_property
    def files(self) -> BatchLoader:
        return self._bind(self._artifacts.files_of, [])

    @cached_property
    def approvals(self) -> BatchLoader:
        return self._bind(self._governance_reads("approvals").approvals, [])

    @cached_property
    def stage_history(self) -> BatchLoader:
        return self._bind(self._governance_reads("stage_history").stage_history, [])

    @cached_property
    def documents(self) -> BatchLoader:
        return self._bind(self._governance_reads("documents").documents, [])

    @cached_property
    def reproducibility(self) -> DataLoader:
        """Keyed by version entity (the record needs its artifact), cached by version id."""
        lineage, caller = self._lineage, self._caller
        if lineage is None:
            raise AttributeError("no reproducibility loader: the context was made without lineage reads")

        async def reproducibility(versions: list[ModelVersion]) -> list:
            found = await lineage.reproducibility(caller, list({v.id: v for v in versions}.values()))
            return [found[v.id] for v in versions]

        return DataLoader(load_fn=reproducibility, cache_key_fn=lambda version: version.id)

    @cached_property
    def latest_version(self) -> BatchLoader[tuple[int, Stage | None], ModelVersion | None]:
        """Keyed by (model id, stage or None for the newest overall): every latestVersion field of a page, whatever
        its stage, is one statement."""
        return self._bind(self._reads.latest_versions_in_stages)

    @cached_property
    def model_relations(self) -> RelationLoaders:
        """Relations a page's look-ahead reads together (one statement on PostgreSQL; see prefetch.py)."""
        reads, caller = self._reads, self._caller
        return RelationLoaders(
            {"tags": self.model_tags, "aliases": self.model_aliases},
            lambda ids, names: reads.related_of_models(caller, ids, names),
        )

    @cached_property
    def version_relations(self) -> RelationLoaders:
        reads, caller = self._reads, self._caller
        return RelationLoaders(
            {"tags": self.version_tags, "metrics": self.metrics, "aliases": self.version_aliases},
            lambda ids, names: reads.related_of_versions(caller, ids, names),
        )

    async def newest_versions(
        self, keys: list[tuple[int, Stage | None]], names: Iterable[str]
    ) -> list[ModelVersion | None]:
        """``latest_version``'s values of ``keys``, read ahead with the relations ``names`` of the versions found
        where the database reads them in the same statement (PostgreSQL)."""
        missing = self.latest_version.missing(keys)
        if missing:
            found, related = await self._reads.latest_versions_with(
                self._caller, missing, self.version_relations.names_among(names)
            )
            self.latest_version.fill(missing, found)
            self.version_relations.fill([version.id for version in found.values()], related)
        return [self.latest_version.ready[key] for key in keys]


@dataclass
class Context:
    """What every resolver gets as ``info.context``."""

    services: Services
    principal_or_none: Principal | None
    request_id: str
    loaders: Loaders
    request: Any = None
    response: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The WebSocket connection_init payload (subscriptions): where the token comes from there.
    connection_params: dict[str, Any] | None = None

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:
            raise Unauthenticated("send a bearer token in the Authorization header")
        return self.principal_or_none


Info = strawberry.Info[Context, None]
