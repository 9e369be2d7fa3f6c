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

    @property
    def resource(self) -> str:
        return self.value.split(":", 1)[0]

    @property
    def action(self) -> str:
        return self.value.split(":", 1)[1]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person or a machine identity.

    ``roles`` are the registry roles the policy derived from the token's claims.
    """

    subject: str
    kind: PrincipalKind = PrincipalKind.USER
    roles: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
