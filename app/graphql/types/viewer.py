"""The caller (`viewer`) and fetching any object by its global id (`node`)."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from app.domain.errors import BadUserInput
from app.domain.identity import Permission
from app.domain.rules import check_model_name

from ..context import Info
from ..relay import Node, fetch_node, from_global_id
from .common import PrincipalKind

_RESOURCES = sorted({p.resource for p in Permission})
_ACTIONS = sorted({p.action for p in Permission})


def permission_named(action: str, resource: str) -> Permission:
    """The permission `can(action, resource)` asks about; BAD_USER_INPUT naming the argument that is not one the
    policy knows (a misspelt action used to answer false, as if denied)."""
    if resource not in _RESOURCES:
        raise BadUserInput(
            f"resource {resource[:50]!r} is unknown; resources: {', '.join(_RESOURCES)}", field="resource"
        )
    if action not in _ACTIONS:
        raise BadUserInput(f"action {action[:50]!r} is unknown; actions: {', '.join(_ACTIONS)}", field="action")
    try:
        return Permission(f"{resource}:{action}")
    except ValueError:
        actions = ", ".join(p.action for p in Permission if p.resource == resource)
        raise BadUserInput(
            f"{action!r} is not an action on {resource!r}; actions on it: {actions}", field="action"
        ) from None


def namespace_argument(text: str) -> str:
    """A namespace (``fraud/``) or model name, checked like a model name; ``""`` is the root namespace."""
    if text in ("", "/"):
        return ""
    check_model_name(text[:-1] if text.endswith("/") else text, "namespace")
    return text


@strawberry.type(description="Who is calling and what they may do, so a frontend can show the right buttons.")
class Viewer:
    subject: str = strawberry.field(description="Subject (`sub`) of the caller's token.")
    kind: PrincipalKind = strawberry.field(description="A person or a machine identity.")
    roles: list[str] = strawberry.field(
        description="Registry roles the caller holds: `mlops` everywhere, `data-scientist@fraud/` within a namespace."
    )
    permissions: list[str] = strawberry.field(
        description="Permissions (`resource:action`) those roles grant, globally or in some namespace."
    )

    @strawberry.field(
        description="Whether the caller may do `action` on `resource` (for example `can(action: "
        '"write", resource: "model")`), decided by the policy; with `id`, whether they may do it to that '
        "object now, by the checks the mutation runs (approve: not one's own request nor one about a version "
        "one registered, the request open, not decided by the caller yet; cancel: one's own request or "
        "transition:cancel-any, the request open; delete: the deletion rules). A frontend uses it to show or "
        "hide a button. An action, resource or pair the policy does not know is BAD_USER_INPUT; with `id`, "
        "an object that does not exist is NOT_FOUND."
    )
    async def can(
        self,
        info: Info,
        action: Annotated[
            str,
            strawberry.argument(
                description=f"An action, as in `permissions` after the colon: {', '.join(_ACTIONS)} (`approve` "
                "covers approving and rejecting)."
            ),
        ],
        resource: Annotated[
            str,
            strawberry.argument(
                description=f"A resource, as in `permissions` before the colon: {', '.join(_RESOURCES)}."
            ),
        ],
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Ask about one object: a TransitionRequest (approve or cancel on transition), a "
                "RegisteredModel (write or delete on model) or a ModelVersion (write or delete on version)."
            ),
        ] = None,
        namespace: Annotated[
            str | None,
            strawberry.argument(
                description="Ask about a place: a namespace (`fraud/`) or a model name (`fraud/cards/x`), answered by "
                "the roles the caller holds globally, in that namespace or in one above it (docs/authorization.md). "
                "Without it and without `id`: whether the caller holds the permission globally or in some namespace."
            ),
        ] = None,
    ) -> bool:
        permission = permission_named(action, resource)
        principal = info.context.principal
        if id is None:
            where = "*" if namespace is None else namespace_argument(namespace)
            return info.context.services.authorizer.allows(principal, permission, where)
        type_name, key = from_global_id(id)
        return await info.context.services.governance.may(principal, permission, type_name, key)


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
