"""The Casbin authorizer: the one place that decides whether a principal may do something."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import casbin

from app.domain.errors import Forbidden
from app.domain.identity import Permission, Principal

log = logging.getLogger("modelreg.auth")


class CasbinAuthorizer:
    """Decides with policies/model.conf and policies/policy.csv. The policy is read once at start-up."""

    def __init__(self, policy_dir: Path) -> None:
        self._enforcer = casbin.Enforcer(str(policy_dir / "model.conf"), str(policy_dir / "policy.csv"))
        self.roles: frozenset[str] = frozenset(rule[0] for rule in self._enforcer.get_policy())
        # The policy is immutable while the process runs, so decisions per role set can be cached.
        self._decide = lru_cache(maxsize=4096)(self._decide_uncached)

    def _decide_uncached(self, roles: frozenset[str], permission: Permission) -> bool:
        return any(self._enforcer.enforce(role, permission.resource, permission.action) for role in sorted(roles))

    def allows(self, principal: Principal, permission: Permission) -> bool:
        return self._decide(principal.roles, permission)

    def require(self, principal: Principal, permission: Permission) -> None:
        """Raise Forbidden, naming the missing permission, unless the principal holds it."""
        if not self.allows(principal, permission):
            log.warning(
                "permission denied",
                extra={"subject": principal.subject, "permission": permission.value, "roles": sorted(principal.roles)},
            )
            roles = ", ".join(sorted(principal.roles)) or "no registry role"
            raise Forbidden(f"missing permission {permission.value} (caller has {roles})")

    def permissions_of(self, principal: Principal) -> frozenset[Permission]:
        return frozenset(p for p in Permission if self.allows(principal, p))

    def roles_for(self, claim_values: list[str]) -> frozenset[str]:
        """Registry roles for the role or group names a token carries, after the policy's grouping rules."""
        found: set[str] = set()
        for value in claim_values:
            if value in self.roles:
                found.add(value)
            found.update(r for r in self._enforcer.get_implicit_roles_for_user(value) if r in self.roles)
        return frozenset(found)
