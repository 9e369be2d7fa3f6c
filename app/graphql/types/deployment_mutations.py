"""Deployment mutations: deploy, canaries, shadows, rollback and undeploy (docs/deployments.md)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain import deployments

from ..context import Info
from .deployments import Deployment

_EXPECTED = (
    "The deployment's revision you decided on (0: not deployed there yet). When it is at another one by then (a "
    "retry that already acted, someone else's change), the call is FAILED_PRECONDITION naming the current revision "
    "and changes nothing. Null: no such condition."
)


@strawberry.input(description="A model version to deploy to an environment.")
class DeployInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number (READY; in PRODUCTION for production environments).")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Optional, 1-255 printable characters chosen by the caller (a CI job id, a UUID): a retry "
        "with the same key within 24 hours returns the deployment the first call made (as it is now) instead of "
        "deploying again; the same key with another input is CONFLICT. Keys are per caller and per mutation.",
    )


@strawberry.input(description="A canary: a new version on a share of the live traffic.")
class StartCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number of the canary.")
    percent: int = strawberry.field(description="Its share of the live traffic, 1-99.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="A new share of the live traffic for the running canary.")
class SetCanaryTrafficInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    percent: int = strawberry.field(description="The canary's share, 1-99.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="The deployment whose canary becomes its primary.")
class PromoteCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="The deployment whose canary is removed.")
class AbortCanaryInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(
    description="The deployment to take back to what it served before its last change (under the rules of "
    "docs/deployments.md, 'Stages and serving')."
)
class RollbackDeploymentInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="A version to mirror the traffic of a deployment to.")
class AddShadowInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(
        description="Version number of the shadow (READY; in PRODUCTION for production environments)."
    )
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="A shadow to stop mirroring the traffic to.")
class RemoveShadowInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    version: int = strawberry.field(description="Version number of the shadow.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


@strawberry.input(description="The deployment to take out of its environment.")
class UndeployInput:
    name: str = strawberry.field(description="Model name.")
    environment: str = strawberry.field(description="Environment.")
    expected_revision: int | None = strawberry.field(default=None, description=_EXPECTED)


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
                info.context.principal,
                input.name,
                input.environment,
                input.version,
                input.expected_revision,
                input.idempotency_key,
            )
        )

    @strawberry.mutation(description="Send a share of the live traffic to a new version. Requires deployment:write.")
    async def start_canary(
        self, info: Info, input: Annotated[StartCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.start_canary(
                info.context.principal,
                input.name,
                input.environment,
                input.version,
                input.percent,
                input.expected_revision,
            )
        )

    @strawberry.mutation(description="Change the canary's share. Requires deployment:write.")
    async def set_canary_traffic(
        self, info: Info, input: Annotated[SetCanaryTrafficInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.set_canary_traffic(
                info.context.principal, input.name, input.environment, input.percent, input.expected_revision
            )
        )

    @strawberry.mutation(description="Make the canary the primary, on all the traffic. Requires deployment:write.")
    async def promote_canary(
        self, info: Info, input: Annotated[PromoteCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.promote_canary(
                info.context.principal, input.name, input.environment, input.expected_revision
            )
        )

    @strawberry.mutation(description="Remove the canary; the primary takes all the traffic. Requires deployment:write.")
    async def abort_canary(
        self, info: Info, input: Annotated[AbortCanaryInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.abort_canary(
                info.context.principal, input.name, input.environment, input.expected_revision
            )
        )

    @strawberry.mutation(
        description="Mirror the traffic to a version whose answers are not used. Requires deployment:write."
    )
    async def add_shadow(
        self, info: Info, input: Annotated[AddShadowInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.add_shadow(
                info.context.principal, input.name, input.environment, input.version, input.expected_revision
            )
        )

    @strawberry.mutation(description="Stop mirroring to a shadow. Requires deployment:write.")
    async def remove_shadow(
        self, info: Info, input: Annotated[RemoveShadowInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.remove_shadow(
                info.context.principal, input.name, input.environment, input.version, input.expected_revision
            )
        )

    @strawberry.mutation(description="Back to what was served before the last change. Requires deployment:write.")
    async def rollback_deployment(
        self, info: Info, input: Annotated[RollbackDeploymentInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.rollback(
                info.context.principal, input.name, input.environment, input.expected_revision
            )
        )

    @strawberry.mutation(
        description="Take the model out of the environment (no entries; the history stays), so it can be retired "
        "and deleted. Requires deployment:write."
    )
    async def undeploy(
        self, info: Info, input: Annotated[UndeployInput, strawberry.argument(description=_ARG)]
    ) -> DeploymentPayload:
        return _payload(
            await info.context.services.deployments.undeploy(
                info.context.principal, input.name, input.environment, input.expected_revision
            )
        )
