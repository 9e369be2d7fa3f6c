"""Deployments: the types, the query and the mutations (docs/deployments.md)."""

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
    ROLLBACK = strawberry.enum_value("ROLLBACK", description="Back to the entries of the revision before.")


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


@strawberry.input(description="A model version to deploy to an environment.")
class DeployInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number (READY; in PRODUCTION for production environments).")


@strawberry.input(description="A canary: a new version on a share of the live traffic.")
class StartCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number of the canary.")
    percent: int = strawberry.field(description="Its share of the live traffic, 1-99.")


@strawberry.input(description="A new share of the live traffic for the running canary.")
class SetCanaryTrafficInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    percent: int = strawberry.field(description="The canary's share, 1-99.")


@strawberry.input(description="The deployment whose canary becomes its primary.")
class PromoteCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")


@strawberry.input(description="The deployment whose canary is removed.")
class AbortCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")


@strawberry.input(description="The deployment to take back to what it served before its last change.")
class RollbackDeploymentInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")


@strawberry.input(description="A version to mirror the traffic of a deployment to.")
class AddShadowInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(
        description="Version number of the shadow (READY; in PRODUCTION for production environments)."
    )


@strawberry.input(description="A shadow to stop mirroring the traffic to.")
class RemoveShadowInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number of the shadow.")


@strawberry.type(description="The deployment after the change.")
class DeploymentPayload:
    deployment: Deployment = strawberry.field(description="The deployment, at its new revision.")


def _payload(found: deployments.Deployment) -> DeploymentPayload:
    return DeploymentPayload(deployment=Deployment(entity=found))


_ARG = "What to change."


@strawberry.type(
    description="Deployment mutations. Each makes a new revision, an audit record, a "
    "`deployment.changed` event and DEPLOYED_AS lineage for versions it adds."
)
class DeploymentMutations:
    @strawberry.mutation(description="Blue-green switch: all live traffic to this version. Requires deployment:write.")
    async def deploy(
        self, info: Info, input: Annotated[DeployInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.deploy(
                info.context.principal, input.name, input.environment, input.version
            )
        )

    @strawberry.mutation(description="Send a share of the live traffic to a new version. Requires deployment:write.")
    async def start_canary(
        self, info: Info, input: Annotated[StartCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.start_canary(
                info.context.principal, input.name, input.environment, input.version, input.percent
            )
        )

    @strawberry.mutation(description="Change the canary's share. Requires deployment:write.")
    async def set_canary_traffic(
        self, info: Info, input: Annotated[SetCanaryTrafficInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.set_canary_traffic(
                info.context.principal, input.name, input.environment, input.percent
            )
        )

    @strawberry.mutation(description="Make the canary the primary, on all the traffic. Requires deployment:write.")
    async def promote_canary(
        self, info: Info, input: Annotated[PromoteCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.promote_canary(
                info.context.principal, input.name, input.environment
            )
        )

    @strawberry.mutation(description="Remove the canary; the primary takes all the traffic. Requires deployment:write.")
    async def abort_canary(
        self, info: Info, input: Annotated[AbortCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.abort_canary(info.context.principal, input.name, input.environment)
        )

    @strawberry.mutation(
        description="Mirror the traffic to a version whose answers are not used. Requires deployment:write."
    )
    async def add_shadow(
        self, info: Info, input: Annotated[AddShadowInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.add_shadow(
                info.context.principal, input.name, input.environment, input.version
            )
        )

    @strawberry.mutation(description="Stop mirroring to a shadow. Requires deployment:write.")
    async def remove_shadow(
        self, info: Info, input: Annotated[RemoveShadowInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.remove_shadow(
                info.context.principal, input.name, input.environment, input.version
            )
        )

    @strawberry.mutation(description="Back to what was served before the last change. Requires deployment:write.")
    async def rollback_deployment(
        self, info: Info, input: Annotated[RollbackDeploymentInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.rollback(info.context.principal, input.name, input.environment)
        )


@fetches_node("Deployment")
async def _deployment_node(info: Info, key: int) -> Deployment | None:
    found = (await info.context.services.deployment_reads.deployments_by_id(info.context.principal, [key])).get(key)
    return Deployment(entity=found) if found else None


@fetches_node("DeploymentRevision")
async def _revision_node(info: Info, key: int) -> DeploymentRevision | None:
    deployment_id, number = deployments.split_revision_key(key)
    found = await info.context.services.deployment_reads.revision(info.context.principal, deployment_id, number)
    return DeploymentRevision(deployment_id=deployment_id, entity=found) if found else None
