"""Who is calling, and what they may be allowed to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class PrincipalKind(str, Enum):
    USER = "USER"
    SERVICE = "SERVICE"


class Permission(str, Enum):
    """Every permission a policy can grant. Each use case requires exactly one."""

    REGISTRY_READ = "registry:read"
    MODEL_WRITE = "model:write"
    MODEL_DELETE = "model:delete"
    VERSION_WRITE = "version:write"
    VERSION_DELETE = "version:delete"
    ALIAS_WRITE = "alias:write"
    ARTIFACT_READ = "artifact:read"
    ARTIFACT_WRITE = "artifact:write"
    TRANSITION_REQUEST = "transition:request"
    TRANSITION_APPROVE = "transition:approve"  # approve or reject (separation of duties checked in the service)
    TRANSITION_CANCEL = "transition:cancel"  # one's own requests
    TRANSITION_CANCEL_ANY = "transition:cancel-any"  # anyone's requests (checked after transition:cancel)
    PRODUCTION_ROLLBACK = "production:rollback"
    DOCUMENT_WRITE = "document:write"
    AUDIT_READ = "audit:read"
    LINEAGE_WRITE = "lineage:write"  # registering datasets, runs, commits, external nodes and edges
    WEBHOOK_MANAGE = "webhook:manage"  # creating, changing, reading webhooks and their deliveries
    DEPLOYMENT_WRITE = "deployment:write"  # deploying, canaries, shadows, rollbacks of deployments
    REGISTRY_IMPORT = "registry:import"  # modelreg import mlflow: stages and aliases recorded as they were

    @property
    def resource(self) -> str:
        return self.value.split(":", 1)[0]

    @property
    def action(self) -> str:
        return self.value.split(":", 1)[1]


@dataclass(frozen=True)
class RequestInfo:
    """Where a call came from, for the audit log: set by the HTTP layer, absent for the CLI and background work."""

    request_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person or a machine identity.

    ``roles`` are the registry roles the policy derived from the token's claims.
    """

    subject: str
    kind: PrincipalKind = PrincipalKind.USER
    roles: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    request: RequestInfo | None = field(default=None, compare=False, hash=False)

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups the token's ``groups`` claim names (a list, or a space-separated string): what owner groups
        (``group:NAME``) and the promotion policy's ``approver_groups`` are matched against."""
        value = self.claims.get("groups")
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(item for item in value if isinstance(item, str) and item)
        return ()
