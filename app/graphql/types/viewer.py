"""The caller (`viewer`) and fetching any object by its global id (`node`)."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from app.domain.identity import Permission

from ..context import Info
from ..relay import Node, fetch_node
from .common import PrincipalKind


@strawberry.type(description="Who is calling and what they may do, so a frontend can show the right buttons.")
class Viewer:
    subject: str = strawberry.field(description="Subject (`sub`) of the caller's token.")
    kind: PrincipalKind = strawberry.field(description="A person or a machine identity.")
    roles: list[str] = strawberry.field(description="Registry roles the caller holds.")
    permissions: list[str] = strawberry.field(description="Permissions (`resource:action`) those roles grant.")

    @strawberry.field(
        description="Whether the caller may do `action` on `resource` (for example `can(action: "
        '"write", resource: "model")`), decided by the policy; false for pairs the '
        "registry does not know. A frontend uses it to show or hide a button."
    )
    def can(
        self,
        info: Info,
        action: Annotated[str, strawberry.argument(description="An action: read, write, delete.")],
        resource: Annotated[
            str,
            strawberry.argument(
                description="A resource: registry, model, version, alias, "
                "artifact, transition, production, document, audit."
            ),
        ],
    ) -> bool:
        try:
            permission = Permission(f"{resource}:{action}")
        except ValueError:
            return False
        return info.context.services.authorizer.allows(info.context.principal, permission)


@strawberry.type(description="Queries about the caller and global ids.")
class ViewerQueries:
    @strawberry.field(description="The authenticated caller. Works with any valid token, even one without roles.")
    def viewer(self, info: Info) -> Viewer | None:
        principal = info.context.principal
        permissions = info.context.services.authorizer.permissions_of(principal)
        return Viewer(
            subject=principal.subject,
            kind=PrincipalKind(principal.kind.value),
            roles=sorted(principal.roles),
            permissions=sorted(p.value for p in permissions),
        )

    @strawberry.field(description="Any object by its global id, or null when it no longer exists.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")]
    ) -> Node | None:
        return cast("Node | None", await fetch_node(info, id))
