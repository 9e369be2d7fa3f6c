"""Deployments: the types and the queries (docs/deployments.md); the mutations are in deployment_mutations.py."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain import deployments

from ..context import Info
from ..relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    fetches_node,
    page_request,
    to_connection,
    to_global_id,
    wants_total,
)
from .common import Actor, OrderDirection, StringMatch

if TYPE_CHECKING:
    from .versions import ModelVersion

ModelVersionRef = Annotated["ModelVersion", strawberry.lazy("app.graphql.types.versions")]


@strawberry.enum(description="What an entry of a deployment does with the traffic.")
class DeploymentRole(Enum):
    PRIMARY = strawberry.enum_value("PRIMARY", description="Serves the live traffic not sent to the canary.")
    CANARY = strawberry.enum_value("CANARY", description="Serves `trafficPercent` of the live traffic on trial.")
    SHADOW = strawberry.enum_value(
        "SHADOW", description="Gets a mirrored copy of the traffic; its answers are not used (0 percent)."
    )


@strawberry.enum(description="The change that made a revision.")
class DeploymentAction(Enum):
    DEPLOY = strawberry.enum_value("DEPLOY", description="Blue-green switch: all traffic to one version.")
    START_CANARY = strawberry.enum_value("START_CANARY", description="A canary started.")
    SET_CANARY_TRAFFIC = strawberry.enum_value("SET_CANARY_TRAFFIC", description="The canary's share changed.")
    PROMOTE_CANARY = strawberry.enum_value("PROMOTE_CANARY", description="The canary became the primary.")
    ABORT_CANARY = strawberry.enum_value("ABORT_CANARY", description="The canary was removed.")
    ADD_SHADOW = strawberry.enum_value("ADD_SHADOW", description="A shadow was added.")
    REMOVE_SHADOW = strawberry.enum_value("REMOVE_SHADOW", description="A shadow was removed.")
    ROLLBACK = strawberry.enum_value(
        "ROLLBACK",
        description="Back to the entries of the revision before (rollbackDeployment), or the traffic following "
        "rollbackProduction to the restored version.",
    )
    UNDEPLOY = strawberry.enum_value("UNDEPLOY", description="Taken out of the environment: no entries.")


@strawberry.type(description="A version a deployment serves, with its role and share of traffic.")
class DeploymentEntry:
    entry: strawberry.Private[deployments.Entry]

    @strawberry.field(description="Version number.")
    def version(self) -> int:
        return self.entry.version

    @strawberry.field(description="Its role.")
    def role(self) -> DeploymentRole:
        return DeploymentRole(self.entry.role.value)

    @strawberry.field(description="Percent of the live traffic (0 for shadows).")
    def traffic_percent(self) -> int:
        return self.entry.traffic_percent

    @strawberry.field(description="The version, with its files and manifest digest.")
    async def model_version(self, info: Info) -> ModelVersionRef | None:
        from .versions import ModelVersion

        found = await info.context.loaders.version.load(self.entry.version_id)
        return ModelVersion(entity=found) if found else None


def _entries(entries: tuple[deployments.Entry, ...]) -> list[DeploymentEntry]:
    return [DeploymentEntry(entry=entry) for entry in entries]


@strawberry.type(description="One state of a deployment in its history.")
class DeploymentRevision(Node):
    deployment_id: strawberry.Private[int]
    entity: strawberry.Private[deployments.Revision]
    # the deployment, when the revision was reached through it (its history), so asking for it costs nothing
    parent: strawberry.Private[deployments.Deployment | None] = None

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("DeploymentRevision", deployments.revision_key(self.deployment_id, self.entity.revision))

    @strawberry.field(description="1, 2, 3... per deployment.")
    def revision(self) -> int:
        return self.entity.revision

    @strawberry.field(description="The change that made it.")
    def action(self) -> DeploymentAction:
        return DeploymentAction(self.entity.action.value)

    @strawberry.field(description="What was served from then on.")
    def entries(self) -> list[DeploymentEntry]:
        return _entries(self.entity.entries)

    @strawberry.field(description="When.")
    def changed_at(self) -> datetime:
        return self.entity.changed_at

    @strawberry.field(description="Who.")
    def changed_by(self) -> Actor:
        return Actor.of(self.entity.changed_by)

    @strawberry.field(description="The deployment this is a revision of, as it is now.")
    async def deployment(self, info: Info) -> Deployment:
        if self.parent is not None:
            return Deployment(entity=self.parent)
        reads = info.context.services.deployment_reads
        return Deployment(
            entity=(await reads.deployments_by_id(info.context.principal, [self.deployment_id]))[self.deployment_id]
        )


@strawberry.type(description="What an environment serves of a model: versions, roles and traffic shares.")
class Deployment(Node):
    entity: strawberry.Private[deployments.Deployment]

    @strawberry.field(description="Globally unique opaque id.")
    def id(self) -> strawberry.ID:
        return to_global_id("Deployment", self.entity.id)

    @strawberry.field(description="Model name.")
    def name(self) -> str:
        return self.entity.model_name

    @strawberry.field(description="Environment, such as `production`.")
    def environment(self) -> str:
        return self.entity.environment

    @strawberry.field(description="Current revision number; every change adds one.")
    def revision(self) -> int:
        return self.entity.revision

    @strawberry.field(description="What is served now: PRIMARY first, then CANARY, then SHADOWs.")
    def entries(self) -> list[DeploymentEntry]:
        return _entries(self.entity.entries)

    @strawberry.field(description="When it last changed.")
    def updated_at(self) -> datetime:
        return self.entity.updated_at

    @strawberry.field(description="Who changed it last.")
    def updated_by(self) -> Actor:
        return Actor.of(self.entity.updated_by)

    @strawberry.field(description="Its revisions, newest first.")
    async def history(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[DeploymentRevision]:
        page = await info.context.services.deployment_reads.history(
            info.context.principal, self.entity.id, page_request(first, after, last, before), wants_total(info)
        )
        return to_connection(
            page, lambda r: DeploymentRevision(deployment_id=self.entity.id, entity=r, parent=self.entity)
        )


@strawberry.enum(description="Fields deployments can be ordered by.")
class DeploymentOrderField(Enum):
    UPDATED_AT = strawberry.enum_value("UPDATED_AT", description="Time of the last change.")
    NAME = strawberry.enum_value("NAME", description="Model name.")
    ENVIRONMENT = strawberry.enum_value("ENVIRONMENT", description="Environment name.")


_ORDER_FIELDS = {
    DeploymentOrderField.UPDATED_AT: deployments.DeploymentOrderField.UPDATED_AT,
    DeploymentOrderField.NAME: deployments.DeploymentOrderField.MODEL_NAME,
    DeploymentOrderField.ENVIRONMENT: deployments.DeploymentOrderField.ENVIRONMENT,
}


@strawberry.input(description="Order of a deployment listing.")
class DeploymentOrder:
    field: DeploymentOrderField = strawberry.field(
        default=DeploymentOrderField.UPDATED_AT, description="What to order by (default: time of the last change)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Sort direction (default: DESC, most recently changed first)."
    )

    def to_domain(self) -> deployments.DeploymentOrder:
        return deployments.DeploymentOrder(_ORDER_FIELDS[self.field], self.direction.to_domain())


@strawberry.input(description="Conditions on deployments, combined with AND.")
class DeploymentFilter:
    name: StringMatch | None = strawberry.field(default=None, description="Match on the model name.")
    environment: list[str] | None = strawberry.field(default=None, description="In any of these environments.")
    has_canary: bool | None = strawberry.field(
        default=None, description="true: only deployments running a canary; false: only those without one."
    )

    def to_domain(self) -> deployments.DeploymentFilter:
        return deployments.DeploymentFilter(
            model_name=self.name.to_domain() if self.name else None,
            environments=tuple(self.environment or ()),
            canary=self.has_canary,
        )


_NAME = Annotated[str, strawberry.argument(description="Model name.")]
_ENVIRONMENT = Annotated[str, strawberry.argument(description="Environment, such as `production`.")]


@strawberry.type(description="Deployment queries.")
class DeploymentQueries:
    @strawberry.field(
        description="What an environment serves of a model, with its history; null when it was never deployed there."
    )
    async def deployment(self, info: Info, name: _NAME, environment: _ENVIRONMENT) -> Deployment | None:
        found = await info.context.services.deployment_reads.deployment(info.context.principal, name, environment)
        return Deployment(entity=found) if found else None

    @strawberry.field(
        description="Deployments of every model and environment matching a filter, most recently changed first "
        "unless ordered otherwise. Requires registry:read."
    )
    async def deployments(
        self,
        info: Info,
        filter: Annotated[
            DeploymentFilter | None, strawberry.argument(description="Conditions, combined with AND.")
        ] = None,
        order_by: Annotated[
            DeploymentOrder | None,
            strawberry.argument(description="Sort order (default: most recently changed first)."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Deployment] | None:
        page = await info.context.services.deployment_reads.deployments(
            info.context.principal,
            (filter or DeploymentFilter()).to_domain(),
            (order_by or DeploymentOrder()).to_domain(),
            page_request(first, after, last, before),
            with_total=wants_total(info),
        )
        return to_connection(page, lambda d: Deployment(entity=d))


@fetches_node("Deployment")
async def _deployment_node(info: Info, key: int) -> Deployment | None:
    found = (await info.context.services.deployment_reads.deployments_by_id(info.context.principal, [key])).get(key)
    return Deployment(entity=found) if found else None


@fetches_node("DeploymentRevision")
async def _revision_node(info: Info, key: int) -> DeploymentRevision | None:
    deployment_id, number = deployments.split_revision_key(key)
    found = await info.context.services.deployment_reads.revision(info.context.principal, deployment_id, number)
    return DeploymentRevision(deployment_id=deployment_id, entity=found) if found else None
