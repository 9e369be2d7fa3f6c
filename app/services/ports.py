"""Interfaces the services need; ``app.db`` and ``app.auth`` implement them."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, Self

from app.domain.artifacts import ArtifactFile, StagedFile
from app.domain.audit import AuditDraft, AuditEvent, AuditFilter
from app.domain.commands import ModelChanges, NewModel, NewVersion, VersionChanges
from app.domain.deployments import Deployment, DeploymentAction, DeploymentFilter, DeploymentOrder, Entry, Revision
from app.domain.entities import ArtifactRef, Metric, ModelAlias, ModelVersion, RegisteredModel, Stage, VersionStatus
from app.domain.events import DomainEvent, EventFilter
from app.domain.governance import (
    Approval,
    Decision,
    Document,
    DocumentKind,
    GateResult,
    NewDocument,
    NewTransition,
    StageChange,
    TransitionFilter,
    TransitionRequest,
    TransitionStatus,
    VersionAt,
)
from app.domain.idempotency import IdempotencyRecord
from app.domain.identity import Permission, Principal
from app.domain.imports import ImportedModel
from app.domain.lineage import (
    Dataset,
    EdgeKind,
    LineageEdge,
    NodeKind,
    NodeRef,
    Run,
    WalkDirection,
)
from app.domain.lineage_commands import NewCodeCommit, NewDataset, NewExternalNode, NewRun
from app.domain.lineage_queries import DatasetFilter, RunFilter, Walk
from app.domain.queries import Direction, ModelFilter, ModelOrder, Page, PageRequest, VersionFilter, VersionOrder
from app.domain.read_scope import EVERYTHING, ReadScope
from app.domain.webhooks import Claim, Delivery, DeliveryStatus, NewWebhook, Webhook, WebhookChanges


class ModelRepository(Protocol):
    async def add(self, command: NewModel, owner: str, actor: str, now: datetime) -> RegisteredModel: ...
    async def get_by_name(self, name: str, *, for_update: bool = False) -> RegisteredModel | None: ...
    async def get_by_name_with(
        self, name: str, names: Collection[str]
    ) -> tuple[RegisteredModel | None, dict[str, dict[int, Any]]]:
        """The model and the relations ``names`` of it that were read in the same statement (maybe none)."""
        ...

    async def get_many(self, ids: list[int]) -> dict[int, RegisteredModel]: ...
    async def update(self, model_id: int, changes: ModelChanges, now: datetime) -> RegisteredModel: ...
    async def touch(self, model_id: int, now: datetime) -> RegisteredModel: ...
    async def delete(self, model_id: int) -> None: ...
    async def allocate_version_number(self, model_id: int, now: datetime) -> int: ...
    async def allocate_version_number_by_name(self, name: str, now: datetime) -> tuple[RegisteredModel, int] | None:
        """Lock the model named ``name`` and take its next version number: the model and the number, or None."""
        ...

    async def list(
        self,
        filter: ModelFilter,
        order: ModelOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
    ) -> Page[RegisteredModel]: ...
    async def tags(self, model_ids: builtins.list[int]) -> dict[int, dict[str, str]]: ...
    async def set_tag(self, model_id: int, key: str, value: str) -> None: ...
    async def delete_tag(self, model_id: int, key: str) -> bool: ...


class VersionRepository(Protocol):
    async def add(
        self,
        model: RegisteredModel,
        number: int,
        command: NewVersion,
        actor: str,
        now: datetime,
        files: Sequence[ArtifactFile | StagedFile] = (),
        status: VersionStatus = VersionStatus.READY,
    ) -> ModelVersion: ...
    async def get(self, model_id: int, number: int) -> ModelVersion | None: ...
    async def find_with_model(
        self, name: str, number: int, *, for_update: bool = False, with_aliases: bool = False
    ) -> tuple[RegisteredModel | None, ModelVersion | None, tuple[str, ...] | None]:
        """The model named ``name`` and its version ``number`` (each None when missing), read together;
        ``for_update`` locks the model's row. With ``with_aliases`` the version's alias names may come along
        (where that saves a round trip), else None."""
        ...

    async def get_many(self, ids: list[int]) -> dict[int, ModelVersion]: ...
    async def find_by_model_number(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]: ...
    async def update(self, version_id: int, changes: VersionChanges, now: datetime) -> ModelVersion: ...
    async def touch(self, version: ModelVersion, now: datetime) -> ModelVersion: ...
    async def delete(self, version_id: int) -> None: ...
    async def count_in_stage(self, model_id: int, stage: Stage) -> int: ...
    async def list(
        self,
        filter: VersionFilter,
        order: VersionOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
    ) -> Page[ModelVersion]: ...
    async def list_with_tags(
        self,
        filter: VersionFilter,
        order: VersionOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
        *,
        with_tags: bool = True,
    ) -> tuple[Page[ModelVersion], dict[int, dict[str, str]] | None]:
        """``list`` and, where that saves a round trip, the page's tags read along (else None)."""
        ...

    async def latest(self, model_ids: builtins.list[int], stage: Stage | None) -> dict[int, ModelVersion]: ...
    async def latest_in_stages(
        self, model_ids: builtins.list[int], stages: frozenset[Stage | None]
    ) -> dict[int, dict[Stage | None, ModelVersion]]: ...
    async def latest_in_stages_with(
        self, model_ids: builtins.list[int], stages: frozenset[Stage | None], names: Collection[str]
    ) -> tuple[dict[int, dict[Stage | None, ModelVersion]], dict[str, dict[int, Any]]]:
        """``latest_in_stages`` and the relations ``names`` of the versions that were read in the same statement
        (maybe none)."""
        ...

    async def tags(self, version_ids: builtins.list[int]) -> dict[int, dict[str, str]]: ...
    async def metrics(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[Metric]]: ...
    async def set_tag(
        self, version: ModelVersion, key: str, value: str, now: datetime
    ) -> tuple[dict[str, str], ModelVersion]:
        """Set one tag of a locked version: its tags before, and the version as changed at ``now``."""
        ...

    async def delete_tag(self, version_id: int, key: str) -> bool: ...
    async def files(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[ArtifactFile]]: ...
    async def staged_files(self, version_id: int) -> builtins.list[StagedFile]: ...
    async def finish_registration(
        self, version_id: int, status: VersionStatus, message: str | None, now: datetime
    ) -> bool: ...
    async def pending_registrations(self) -> builtins.list[int]: ...
    async def referenced_digests(self, digests: builtins.list[str]) -> set[str]: ...
    async def set_stage(self, version_id: int, stage: Stage, now: datetime) -> ModelVersion: ...
    async def in_stage(self, model_id: int, stage: Stage) -> builtins.list[ModelVersion]: ...


class ArtifactRepository(Protocol):
    async def add_upload(self, upload_id: str, actor: str, now: datetime, expires_at: datetime) -> None: ...
    async def unused_uploads(self, upload_ids: list[str], now: datetime, *, for_update: bool = False) -> set[str]: ...
    async def use_uploads(self, upload_ids: list[str], version_id: int) -> None: ...
    async def expired_uploads(self, now: datetime) -> list[str]: ...
    async def forget_uploads(self, upload_ids: list[str]) -> None: ...
    async def record_download(
        self, version_id: int, path: str | None, subject: str, subject_kind: str, now: datetime, request_id: str | None
    ) -> None: ...


class AliasRepository(Protocol):
    async def get(self, model_id: int, alias: str) -> ModelAlias | None: ...
    async def set(self, version: ModelVersion, alias: str, actor: str, now: datetime) -> ModelAlias: ...
    async def delete(self, model_id: int, alias: str, actor: str, now: datetime) -> bool: ...
    async def for_models(self, model_ids: list[int]) -> dict[int, list[ModelAlias]]: ...
    async def for_versions(self, version_ids: list[int]) -> dict[int, list[ModelAlias]]: ...
    async def at(self, model_id: int, alias: str, moment: datetime) -> VersionAt | None: ...


class RelatedReads(Protocol):
    """Several relations of many models or versions at once: ``{relation: {owner id: value}}``, each value as the
    relation's own read gives it (``ModelRepository.tags``, ``AliasRepository.for_models``, ...)."""

    async def of_models(self, ids: list[int], names: Collection[str]) -> dict[str, dict[int, Any]]: ...
    async def of_versions(self, ids: list[int], names: Collection[str]) -> dict[str, dict[int, Any]]: ...


class TransitionRepository(Protocol):
    async def add(
        self,
        model: RegisteredModel,
        version: ModelVersion,
        new: NewTransition,
        required_approvals: int,
        gates: list[GateResult],
        actor: str,
        now: datetime,
        production_versions: Sequence[int] | None = None,
        required_groups: Sequence[tuple[str, int]] = (),
    ) -> TransitionRequest: ...
    async def acknowledge_production(self, request_id: int, production_versions: Sequence[int]) -> None: ...
    async def get(self, request_id: int) -> TransitionRequest | None: ...
    async def get_many(self, ids: list[int]) -> dict[int, TransitionRequest]: ...
    async def open_duplicate(self, version_id: int, new: NewTransition) -> int | None: ...
    async def resolve(
        self,
        request_id: int,
        status: TransitionStatus,
        gates: list[GateResult] | None = None,
        *,
        by: str | None = None,
        at: datetime | None = None,
        comment: str | None = None,
    ) -> None: ...
    async def add_decision(
        self,
        request_id: int,
        approver: str,
        decision: Decision,
        comment: str | None,
        now: datetime,
        groups: Sequence[str] = (),
    ) -> None: ...
    async def decisions(self, request_ids: list[int]) -> dict[int, list[Approval]]: ...
    async def decisions_by_id(self, ids: list[int]) -> dict[int, Approval]: ...
    async def list(
        self, filter: TransitionFilter, page: PageRequest, with_total: bool, scope: ReadScope = EVERYTHING
    ) -> Page[TransitionRequest]: ...
    async def record_stage_change(self, change: StageChange) -> None: ...
    async def stage_history(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[StageChange]]: ...
    async def stage_changes_by_id(self, ids: builtins.list[int]) -> dict[int, StageChange]: ...
    async def model_history(self, model_id: int, until: datetime | None = None) -> builtins.list[StageChange]: ...


class DocumentRepository(Protocol):
    async def add(self, version_id: int, new: NewDocument, actor: str, now: datetime) -> Document: ...
    async def for_versions(self, version_ids: list[int]) -> dict[int, list[Document]]: ...
    async def get_many(self, ids: list[int]) -> dict[int, Document]: ...
    async def kinds(self, version_id: int) -> set[DocumentKind]: ...


class AuditRepository(Protocol):
    async def append(self, draft: AuditDraft) -> AuditEvent: ...
    async def list(
        self,
        filter: AuditFilter,
        page: PageRequest,
        with_total: bool,
        direction: Direction = Direction.DESC,
        scope: ReadScope = EVERYTHING,
    ) -> Page[AuditEvent]: ...
    async def chunk(
        self,
        after_seq: int,
        limit: int,
        *,
        until_seq: int | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
        scope: ReadScope = EVERYTHING,
    ) -> builtins.list[AuditEvent]: ...
    async def head(self) -> int: ...


class LineageRepository(Protocol):
    async def find(self, new: NewDataset | NewRun | NewCodeCommit | NewExternalNode) -> Any | None: ...
    async def find_or_add(
        self, new: NewDataset | NewRun | NewCodeCommit | NewExternalNode, actor: str, now: datetime
    ) -> tuple[Any | None, bool]:
        """The node ``new`` identifies, found or else registered now, and whether it was registered now; (None,
        False) when a concurrent transaction registered it first."""
        ...

    async def entities(self, kind: NodeKind, node_ids: list[int]) -> dict: ...
    async def node_id(self, ref: NodeRef) -> int | None: ...
    async def version_node(self, version_id: int, actor: str, now: datetime) -> int: ...
    async def refs(self, node_ids: list[int]) -> dict[int, NodeRef]: ...
    async def add_edge(
        self, kind: EdgeKind, source_id: int, target_id: int, relation: str | None, actor: str, now: datetime
    ) -> bool: ...
    async def edge(self, kind: EdgeKind, source_id: int, target_id: int) -> LineageEdge: ...
    async def sources(
        self, target_ids: list[int], kinds: list[EdgeKind]
    ) -> list[tuple[int, EdgeKind, int, str | None]]: ...
    async def version_nodes(self, version_ids: list[int]) -> dict[int, int]: ...
    async def link_new_version(
        self, version_id: int, edges: list[tuple[EdgeKind, int, str | None]], actor: str, now: datetime
    ) -> int: ...
    async def lock_graph(self) -> None: ...
    async def existing_edge(self, kind: EdgeKind, source_id: int, target_id: int) -> Any: ...
    async def produced_versions(self, run_node_id: int) -> list[int]: ...
    async def derived_children(
        self, version_ids: list[int] | None = None, *, model_id: int | None = None
    ) -> list[tuple[int, int]]: ...
    async def list_datasets(self, filter: DatasetFilter, page: PageRequest, with_total: bool) -> Page[Dataset]: ...
    async def list_runs(self, filter: RunFilter, page: PageRequest, with_total: bool) -> Page[Run]: ...


class LineageWalks(Protocol):
    async def walk(
        self,
        root_id: int,
        direction: WalkDirection,
        depth: int,
        kinds: tuple[EdgeKind, ...],
        max_nodes: int,
        scope: ReadScope = EVERYTHING,
    ) -> Walk: ...
    async def path(self, from_id: int, to_id: int) -> list[int] | None: ...
    async def downstream_versions(
        self, root_id: int, stage: Stage | None, page: PageRequest, with_total: bool, scope: ReadScope = EVERYTHING
    ) -> Page[ModelVersion]: ...


class EventRepository(Protocol):
    async def add(self, event: DomainEvent) -> DomainEvent: ...
    async def add_all(self, events: list[DomainEvent]) -> list[DomainEvent]: ...
    async def add_all_with_webhooks(
        self, events: list[DomainEvent]
    ) -> tuple[list[DomainEvent], list[tuple[int, EventFilter]]]:
        """``add_all``, and the active webhooks as (id, the events it wants), read with the events' insert where
        that saves a round trip."""
        ...

    async def after(self, seq: int, limit: int) -> list[DomainEvent]: ...
    async def head(self) -> int: ...


class OutboxListener(Protocol):
    """Hears that another process added events to the outbox (PostgreSQL LISTEN)."""

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Run until cancelled, calling ``on_notify`` per notification and after each (re)connection."""


class WebhookRepository(Protocol):
    async def add(
        self, new: NewWebhook, sealed_secret: str, actor: str, now: datetime, scope: ReadScope = EVERYTHING
    ) -> Webhook: ...
    async def get(self, webhook_id: int) -> Webhook | None: ...
    async def update(
        self, webhook_id: int, changes: WebhookChanges, sealed_secret: str | None, now: datetime
    ) -> Webhook: ...
    async def delete(self, webhook_id: int) -> Webhook: ...
    async def target(self, webhook_id: int) -> tuple[str, str]: ...
    async def add_deliveries(
        self, event_seq: int, webhook_ids: builtins.list[int], now: datetime
    ) -> builtins.list[int]: ...
    async def any_due(self, now: datetime) -> bool: ...
    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, room: dict[int, int], per_webhook: int
    ) -> builtins.list[Claim]: ...
    async def record_attempt(
        self,
        delivery_id: int,
        *,
        status: DeliveryStatus,
        now: datetime,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None: ...
    async def deliveries(
        self, webhook_id: int, status: DeliveryStatus | None, page: PageRequest, with_total: bool
    ) -> Page[Delivery]: ...
    async def event_seq(self, event_id: str) -> int | None: ...
    async def delivery(self, delivery_id: int) -> Delivery: ...
    async def find_delivery(self, delivery_id: int) -> Delivery | None: ...
    async def page(self, page: PageRequest, with_total: bool) -> Page[Webhook]: ...


class DeploymentRepository(Protocol):
    async def get(self, model_id: int, environment: str) -> Deployment | None: ...
    async def save(
        self,
        model_id: int,
        environment: str,
        entries: tuple[Entry, ...],
        action: DeploymentAction,
        actor: str,
        now: datetime,
    ) -> None: ...
    async def get_many(self, ids: builtins.list[int]) -> dict[int, Deployment]: ...
    async def list(
        self,
        filter: DeploymentFilter,
        order: DeploymentOrder,
        page: PageRequest,
        with_total: bool,
        scope: ReadScope = EVERYTHING,
    ) -> Page[Deployment]: ...
    async def history(self, deployment_id: int) -> builtins.list[Revision]: ...
    async def history_page(self, deployment_id: int, page: PageRequest, with_total: bool) -> Page[Revision]: ...
    async def revision(self, deployment_id: int, number: int) -> Revision | None: ...
    async def environments_serving(self, version_ids: builtins.list[int]) -> dict[int, builtins.list[str]]: ...
    async def of_model(self, model_id: int) -> builtins.list[str]: ...
    async def forget_model(self, model_id: int) -> None: ...


class IdempotencyRepository(Protocol):
    async def claim(
        self, subject: str, operation: str, key: str, digest: str, now: datetime, expired_before: datetime
    ) -> IdempotencyRecord | None: ...
    async def complete(self, subject: str, operation: str, key: str, result_id: int) -> None: ...
    async def forget_expired(self, expired_before: datetime) -> int: ...


class SecretBox(Protocol):
    """Seals secrets the registry must read back later (webhook signing secrets)."""

    def seal(self, secret: str) -> str: ...
    def open(self, sealed: str) -> str: ...


class ImportRepository(Protocol):
    """What ``modelreg import mlflow`` imported (services/imports.py)."""

    async def model(self, source: str, mlflow_name: str) -> ImportedModel | None: ...
    async def is_recorded(self, source: str, mlflow_name: str, mlflow_version: int) -> bool: ...
    async def add(
        self,
        source: str,
        mlflow_name: str,
        mlflow_version: int | None,
        model_id: int,
        version_id: int | None,
        actor: str,
        now: datetime,
        original: dict[str, Any],
    ) -> None: ...
    async def next_version(self, model_id: int) -> int: ...
    async def skip_version_numbers(self, model_id: int, next_number: int) -> None: ...


class VersionSourceRepository(Protocol):
    async def add(self, version_id: int, uri: str) -> None: ...
    async def uris(self, version_ids: list[int]) -> dict[int, str]: ...
    async def pending(self) -> list[tuple[int, str]]: ...
    async def attach(
        self, version_id: int, files: Sequence[ArtifactFile], artifact: ArtifactRef, now: datetime
    ) -> bool: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit()`` rolls everything back.

    The repositories are read-only properties here, so an implementation may hold more specific types.
    """

    @property
    def models(self) -> ModelRepository: ...
    @property
    def versions(self) -> VersionRepository: ...
    @property
    def aliases(self) -> AliasRepository: ...
    @property
    def related(self) -> RelatedReads: ...
    @property
    def artifacts(self) -> ArtifactRepository: ...
    @property
    def transitions(self) -> TransitionRepository: ...
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def lineage(self) -> LineageRepository: ...
    @property
    def walks(self) -> LineageWalks: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def deployments(self) -> DeploymentRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def sources(self) -> VersionSourceRepository: ...
    @property
    def imports(self) -> ImportRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def commit(self) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` right after the commit (not at all on rollback)."""


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work to enter with ``async with``; reads within a request may share one."""


# ``where`` of a check made before the model is read: the permission held globally or in some namespace. The use
# case checks again with the model's name (and owner) once it has read the model.
ANYWHERE = "*"


class Authorizer(Protocol):
    """The one authorization decision point."""

    def require(
        self, principal: Principal, permission: Permission, where: str | None = None, *, owner: str | None = None
    ) -> None:
        """Raise ``Forbidden`` naming the permission unless the principal holds it ``where``: a model name (roles
        held in its namespace count, docs/authorization.md), a namespace ending in ``/``, ``"*"`` (held globally
        or in some namespace: the check before the model is read) or None (the registry as a whole: global roles).
        With ``owner`` (the model's), the model's owner holds there what they hold somewhere."""

    def allows(
        self, principal: Principal, permission: Permission, where: str | None = None, *, owner: str | None = None
    ) -> bool:
        """Whether the principal holds the permission ``where``: for showing, or for choosing between two equal ways
        of answering (``ReadService.reads_allowed``); never for deciding whether an operation runs."""

    def permissions_of(self, principal: Principal) -> frozenset[Permission]: ...

    def read_scope(self, principal: Principal, permission: Permission = Permission.REGISTRY_READ) -> ReadScope:
        """Where the principal may read (MODELREG_READ_SCOPE): everything, or the models of some namespaces; the
        read use cases pass it to the repositories, which filter in SQL."""

    def roles_for(self, claim_values: list[str]) -> frozenset[str]:
        """Registry roles for role or group names found in a token (grouping rules applied)."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...
