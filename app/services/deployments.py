"""Deployment use cases: blue-green switches, canaries, shadows and rollbacks, and what serving systems pull."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.domain import deployments as rules
from app.domain.audit import AuditTarget
from app.domain.deployments import (
    Deployment,
    DeploymentAction,
    DeploymentFilter,
    DeploymentOrder,
    Entry,
    Environment,
    Revision,
)
from app.domain.entities import ModelVersion
from app.domain.errors import NotFound
from app.domain.events import EventDraft, EventType
from app.domain.identity import Permission, Principal
from app.domain.lineage import EdgeKind, NodeKind, NodeRef
from app.domain.lineage_commands import NewEdge, NewExternalNode
from app.domain.queries import Page, PageRequest, check_page

from . import idempotency
from .audit import AuditTrail
from .common import find_model, find_version, utc_now
from .lineage_links import link, register
from .ports import Authorizer, Clock, UnitOfWork
from .reads import RegistryReader

# (current entries, the version named by the call or None) -> the next entries
Compute = Callable[[tuple[Entry, ...], Any], tuple[Entry, ...]]
# (unit of work, current deployment) -> the next entries, for changes that read more than the current entries
BeforeChange = Callable[[UnitOfWork, Deployment | None], Awaitable[tuple[Entry, ...]]]


def _target(name: str, environment: str, model_id: int | None = None) -> AuditTarget:
    return AuditTarget("Deployment", str(model_id) if model_id is not None else None, f"{name}@{environment}"[:256])


def _state(entries: tuple[Entry, ...]) -> list[dict]:
    return [{"version": e.version, "role": e.role.value, "trafficPercent": e.traffic_percent} for e in entries]


class DeploymentService:
    """Every change locks the model row, computes the next entries (domain/deployments.py), saves a revision,
    records it in the audit log (so it is also a ``deployment.changed`` event) and links new versions to the
    deployment with DEPLOYED_AS lineage edges, all in one transaction."""

    def __init__(
        self,
        authorizer: Authorizer,
        environments: list[Environment],
        trail: AuditTrail,
        clock: Clock = utc_now,
    ) -> None:
        self._authorizer = authorizer
        self._environments = {environment.name: environment for environment in environments}
        self._trail = trail
        self._clock = clock

    async def deploy(
        self,
        principal: Principal,
        name: str,
        environment: str,
        number: int,
        expected_revision: int | None = None,
        idempotency_key: str | None = None,
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.DEPLOY,
            number,
            lambda entries, v: rules.deploy(entries, v.id, v.version),
            expected_revision=expected_revision,
            idempotency_key=idempotency_key,
        )

    async def start_canary(
        self,
        principal: Principal,
        name: str,
        environment: str,
        number: int,
        percent: int,
        expected_revision: int | None = None,
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.START_CANARY,
            number,
            lambda entries, v: rules.start_canary(entries, v.id, v.version, percent),
            expected_revision=expected_revision,
        )

    async def set_canary_traffic(
        self, principal: Principal, name: str, environment: str, percent: int, expected_revision: int | None = None
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.SET_CANARY_TRAFFIC,
            None,
            lambda entries, _: rules.set_canary_traffic(entries, percent),
            expected_revision=expected_revision,
        )

    async def promote_canary(
        self, principal: Principal, name: str, environment: str, expected_revision: int | None = None
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.PROMOTE_CANARY,
            None,
            lambda entries, _: rules.promote_canary(entries),
            expected_revision=expected_revision,
        )

    async def abort_canary(
        self, principal: Principal, name: str, environment: str, expected_revision: int | None = None
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.ABORT_CANARY,
            None,
            lambda entries, _: rules.abort_canary(entries),
            expected_revision=expected_revision,
        )

    async def add_shadow(
        self, principal: Principal, name: str, environment: str, number: int, expected_revision: int | None = None
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.ADD_SHADOW,
            number,
            lambda entries, v: rules.add_shadow(entries, v.id, v.version),
            expected_revision=expected_revision,
        )

    async def remove_shadow(
        self, principal: Principal, name: str, environment: str, number: int, expected_revision: int | None = None
    ) -> Deployment:
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.REMOVE_SHADOW,
            number,
            lambda entries, v: rules.remove_shadow(entries, v.id, v.version),
            expected_revision=expected_revision,
        )

    async def undeploy(
        self, principal: Principal, name: str, environment: str, expected_revision: int | None = None
    ) -> Deployment:
        """Take the model out of the environment: a revision with no entries (the serving endpoint answers 404; the
        history stays). A model no environment serves can be deleted."""
        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.UNDEPLOY,
            None,
            lambda entries, _: rules.undeploy(entries, name, environment),
            expected_revision=expected_revision,
        )

    async def rollback(
        self, principal: Principal, name: str, environment: str, expected_revision: int | None = None
    ) -> Deployment:
        """Back to the entries of the revision before the current one (a new revision, like any change)."""

        async def previous(uow: UnitOfWork, current: Deployment | None) -> tuple[Entry, ...]:
            history = await uow.deployments.history(current.id) if current else []
            return rules.rollback_entries(history, name, environment)

        return await self._change(
            principal,
            name,
            environment,
            DeploymentAction.ROLLBACK,
            None,
            None,
            before_change=previous,
            expected_revision=expected_revision,
        )

    async def follow_production_rollback(
        self,
        uow: UnitOfWork,
        model_id: int,
        name: str,
        archived: ModelVersion,
        restored: ModelVersion,
        actor: str,
        now: datetime,
    ) -> dict[str, int]:
        """Rule 3 of docs/deployments.md, inside rollbackProduction's transaction (the model row is locked): every
        production environment giving the archived version live traffic gives it all to the restored version, as a
        ROLLBACK revision with its DEPLOYED_AS lineage. Returns {environment: new revision} of those changed; the
        caller records them in its audit record and emits one ``deployment.changed`` event when any changed."""
        changed: dict[str, int] = {}
        for environment in sorted(e.name for e in self._environments.values() if e.production):
            current = await uow.deployments.get(model_id, environment)
            if current is None:
                continue
            after = rules.follow_production_rollback(current.entries, archived.id, restored.id, restored.version)
            if after is None:
                continue
            rules.check_entries(after)
            await uow.deployments.save(model_id, environment, after, DeploymentAction.ROLLBACK, actor, now)
            await self._link(uow, name, environment, current.entries, after, actor, now)
            changed[environment] = current.revision + 1
        return changed

    async def _change(
        self,
        principal: Principal,
        name: str,
        environment: str,
        action: DeploymentAction,
        number: int | None,
        compute: Compute | None,
        before_change: BeforeChange | None = None,
        expected_revision: int | None = None,
        idempotency_key: str | None = None,
    ) -> Deployment:
        async with self._trail.attempt(
            principal, f"deployment.{action.value.lower()}", _target(name, environment)
        ) as attempt:
            self._authorizer.require(principal, Permission.DEPLOYMENT_WRITE, name)
            target = rules.find_environment(self._environments, environment)
            now = self._clock()
            async with attempt.transaction() as uow:
                # idempotency key (issue 14, deploy only): a retry with the same key answers the deployment as it is
                asked = {"name": name, "environment": environment, "version": number, "revision": expected_revision}
                done = await idempotency.replay(
                    attempt,
                    uow,
                    "deploy",
                    idempotency_key,
                    asked,
                    now,
                    uow.deployments.get_many,
                    lambda found: _target(name, environment, found.model_id),
                )
                if done is not None:
                    return done
                model = await find_model(uow, name, for_update=True)  # one change per model at a time
                current = await uow.deployments.get(model.id, environment)
                entries = current.entries if current else ()
                rules.check_expected_revision(current.revision if current else 0, expected_revision, name, environment)
                if before_change is not None:
                    after = await before_change(uow, current)
                else:
                    version = (await find_version(uow, name, number))[1] if number is not None else None
                    if version is not None:
                        rules.check_named_version(action, version, target)
                    assert compute is not None, "a change computes its entries unless before_change brings them"
                    after = compute(entries, version)
                found = await uow.versions.get_many([entry.version_id for entry in after])
                if action is DeploymentAction.ROLLBACK:
                    rules.check_still_servable(after, found, target, name)
                rules.check_follows_stages(entries, after, found, target, name)
                rules.check_entries(after)
                await uow.deployments.save(model.id, environment, after, action, principal.subject, now)
                await self._link(uow, name, environment, entries, after, principal.subject, now)
                saved = await uow.deployments.get(model.id, environment)
                assert saved is not None, "the deployment was saved just now"
                attempt.record(
                    before={"entries": _state(entries)},
                    after={"revision": saved.revision, "action": action.value, "entries": _state(saved.entries)},
                    target=_target(name, environment, model.id),
                    events=[EventDraft(EventType.DEPLOYMENT_CHANGED, name)],
                )
                await idempotency.remember(uow, principal, "deploy", idempotency_key, saved.id)  # issue 14
        return saved

    async def _link(
        self,
        uow: UnitOfWork,
        name: str,
        environment: str,
        before: tuple[Entry, ...],
        after: tuple[Entry, ...],
        actor: str,
        now: datetime,
    ) -> None:
        """A DEPLOYED_AS lineage edge from each version that joins the deployment to the deployment's node."""
        joined = rules.joined_versions(before, after)
        if not joined:
            return
        node, _ = await register(
            uow,
            NewExternalNode(f"deployment:{environment}/{name}", "deployment", description=f"{name} in {environment}"),
            actor,
            now,
        )
        for version_id in joined:
            await link(
                uow,
                NewEdge(
                    EdgeKind.DEPLOYED_AS,
                    NodeRef(NodeKind.MODEL_VERSION, version_id),
                    NodeRef(NodeKind.EXTERNAL, node.id),
                ),
                actor,
                now,
            )


class DeploymentReads(RegistryReader):
    """Reads of deployments (registry:read)."""

    async def deployment(self, principal: Principal, name: str, environment: str) -> Deployment | None:
        await self._require(principal)
        if not self._scope(principal).covers(name):
            return None
        async with self._uow(write=False) as uow:
            model = await uow.models.get_by_name(name)
            return await uow.deployments.get(model.id, environment) if model else None

    async def deployments_by_id(self, principal: Principal, ids: list[int]) -> dict[int, Deployment]:
        await self._require(principal)
        scope = self._scope(principal)
        async with self._uow(write=False) as uow:
            found = await uow.deployments.get_many(ids)
        return found if scope.everything else {k: d for k, d in found.items() if scope.covers(d.model_name)}

    async def deployments(
        self,
        principal: Principal,
        filter: DeploymentFilter,
        order: DeploymentOrder,
        page: PageRequest,
        with_total: bool,
    ) -> Page[Deployment]:
        """Deployments of every model and environment matching ``filter``, one page at a time."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            return await uow.deployments.list(filter, order, page, with_total, self._scope(principal))

    async def history(
        self, principal: Principal, deployment_id: int, page: PageRequest, with_total: bool
    ) -> Page[Revision]:
        """A deployment's revisions, newest first, one page at a time."""
        await self._require(principal)
        check_page(page, self.max_page_size)
        async with self._uow(write=False) as uow:
            if not await self._readable(principal, uow, deployment_id):
                return Page()
            return await uow.deployments.history_page(deployment_id, page, with_total)

    async def revision(self, principal: Principal, deployment_id: int, number: int) -> Revision | None:
        await self._require(principal)
        async with self._uow(write=False) as uow:
            if not await self._readable(principal, uow, deployment_id):
                return None
            return await uow.deployments.revision(deployment_id, number)

    async def _readable(self, principal: Principal, uow: UnitOfWork, deployment_id: int) -> bool:
        """Whether the deployment's model is in the caller's read scope (no statement when they read everything)."""
        scope = self._scope(principal)
        if scope.everything:
            return True
        found = (await uow.deployments.get_many([deployment_id])).get(deployment_id)
        return found is not None and scope.covers(found.model_name)

    async def serving(
        self, principal: Principal, name: str, environment: str
    ) -> tuple[Deployment, dict[int, ModelVersion], dict[int, list]]:
        """What a serving system pulls: the deployment, its versions and their files (one read transaction)."""
        await self._require(principal)
        if not self._scope(principal).covers(name):  # as if it did not exist (scoped reads)
            raise NotFound(f"registered model {name!r} does not exist", field="name")
        async with self._uow(write=False) as uow:
            model = await find_model(uow, name)
            deployment = await uow.deployments.get(model.id, environment)
            if deployment is None or not deployment.entries:  # never deployed there, or undeployed
                raise NotFound(f"{name!r} is not deployed in {environment!r}", field="environment")
            ids = [entry.version_id for entry in deployment.entries]
            return deployment, await uow.versions.get_many(ids), await uow.versions.files(ids)
