"""The Casbin authorizer: the one place that decides whether a principal may do something, and where.

A principal holds registry roles *globally* (``mlops``) or *within a namespace* (``data-scientist@fraud/``: the
role, ``@``, a model-name prefix ending in ``/``). A namespace covers the namespaces under it: a role in
``fraud/`` applies to ``fraud/cards/x``. A decision asks about a permission *where*: a model name (its namespace is
the prefix up to the last ``/``, ``""`` for a name without one), a namespace (ending in ``/``), ``ANYWHERE``
(the permission held globally or in some namespace) or nothing (an operation on the whole registry: global roles
only, but the open reads count a role held anywhere). docs/authorization.md explains the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import casbin

from app.domain.errors import Forbidden
from app.domain.identity import Permission, Principal
from app.domain.read_scope import EVERYTHING, ReadScope

log = logging.getLogger("modelreg.auth")

GLOBAL = "*"  # the scope of a role held everywhere (and of a request about no model in particular)
ANYWHERE = "*"  # where=ANYWHERE: held globally or in some namespace (app.services.ports.ANYWHERE)
SCOPE_MARK = "@"  # data-scientist@fraud/: a role within a namespace (model names never contain "@")
# Reading the catalogue stays open to every role, wherever it is held (the default reads mode of issue 18).
OPEN_READS = frozenset({Permission.REGISTRY_READ, Permission.ARTIFACT_READ})
# Permissions over the registry as a whole, never about one model: only a role held globally grants them.
REGISTRY_WIDE = frozenset({Permission.WEBHOOK_MANAGE, Permission.AUDIT_READ, Permission.REGISTRY_IMPORT})
# In the scoped reads mode an auditor within a namespace reads that namespace's audit events.
SCOPED_AUDIT = frozenset({Permission.AUDIT_READ})
CACHE_SIZE = 8192


def namespace_of(where: str) -> str:
    """The namespace a model name lives in (``fraud/cards/x`` -> ``fraud/cards/``, ``churn`` -> ``""``); a
    namespace (ending in ``/``) is itself."""
    return where[: where.rfind("/") + 1]


def within(namespace: str, scope: str) -> bool:
    """Whether a role held in ``scope`` applies in ``namespace`` (the Casbin model's ``within`` function)."""
    return scope == GLOBAL or namespace == ANYWHERE or namespace.startswith(scope)


def split_holding(holding: str) -> tuple[str, str]:
    """``data-scientist@fraud/`` -> (``data-scientist``, ``fraud/``); ``mlops`` -> (``mlops``, ``*``)."""
    role, mark, scope = holding.partition(SCOPE_MARK)
    return (role, scope) if mark else (role, GLOBAL)


def holding(role: str, scope: str) -> str:
    return role if scope == GLOBAL else f"{role}{SCOPE_MARK}{scope}"


def valid_scope(scope: str) -> bool:
    """A namespace as written in a rule or a token: segments ending in ``/``, no empty or ``..`` segment."""
    if scope == GLOBAL:
        return True
    if not scope.endswith("/") or scope.startswith("/") or SCOPE_MARK in scope:
        return False
    return all(part not in ("", "..") for part in scope[:-1].split("/"))


@dataclass(frozen=True)
class Explanation:
    """Why a decision went the way it did (``modelreg policy explain``)."""

    allowed: bool
    namespace: str
    holdings: tuple[str, ...]  # every role the caller holds, with its scope
    assignments: tuple[str, ...]  # the grouping rules (g, g2) that gave them
    granted_by: tuple[str, str, str] | None  # (holding, scope, "p, role, resource, action") that allowed
    ignored: tuple[str, ...]  # holdings whose role grants the permission but in another namespace


class CasbinAuthorizer:
    """Decides with policies/model.conf and policies/policy.csv. The policy is read once at start-up."""

    def __init__(self, policy_dir: Path, read_scope: str = "global") -> None:
        self._enforcer = casbin.Enforcer(str(policy_dir / "model.conf"), str(policy_dir / "policy.csv"))
        # MODELREG_READ_SCOPE: "global", reads open to every role wherever held; "scoped", a read is decided in
        # the model's namespace like any other permission, and the audit log is read within one's namespaces.
        self.scoped_reads = read_scope == "scoped"
        self._open = frozenset() if self.scoped_reads else OPEN_READS
        self._unplaced_anywhere = OPEN_READS | SCOPED_AUDIT if self.scoped_reads else OPEN_READS
        self._registry_wide = REGISTRY_WIDE - SCOPED_AUDIT if self.scoped_reads else REGISTRY_WIDE
        self._enforcer.add_function("within", within)
        self.roles: frozenset[str] = frozenset(rule[0] for rule in self._enforcer.get_policy())
        self._scoped = self._scoped_rules()
        # The policy is immutable while the process runs, so decisions per (roles, namespace, permission) can be
        # cached; bounded, the namespaces a process sees are few.
        self._decide = lru_cache(maxsize=CACHE_SIZE)(self._decide_uncached)
        self._read_scope = lru_cache(maxsize=CACHE_SIZE)(self._read_scope_uncached)

    def _scoped_rules(self) -> dict[str, list[tuple[str, str]]]:
        """``g2, name, role, namespace`` lines: name -> [(role, namespace)]."""
        found: dict[str, list[tuple[str, str]]] = {}
        if "g2" not in self._enforcer.get_model().model.get("g", {}):
            return found
        for name, role, scope, *_ in self._enforcer.get_named_grouping_policy("g2"):
            if role not in self.roles or not valid_scope(scope) or scope == GLOBAL:
                roles = ", ".join(sorted(self.roles))
                raise ValueError(
                    f"policy rule 'g2, {name}, {role}, {scope}' needs a registry role ({roles}) "
                    "and a namespace ending in '/' such as fraud/"
                )
            found.setdefault(name, []).append((role, scope))
        return found

    # Deciding.

    def _grants(self, role: str, scope: str, namespace: str, permission: Permission) -> bool:
        return bool(self._enforcer.enforce(role, scope, namespace, permission.resource, permission.action))

    def _decide_uncached(self, roles: frozenset[str], namespace: str | None, permission: Permission) -> bool:
        if namespace is None:
            namespace = ANYWHERE if permission in self._unplaced_anywhere else ""
            global_only = permission not in self._unplaced_anywhere
        else:
            global_only = permission in self._registry_wide
        for entry in sorted(roles):
            role, scope = split_holding(entry)
            if global_only and scope != GLOBAL:
                continue
            if self._grants(role, scope, namespace, permission):
                return True
        return False

    def allows(
        self, principal: Principal, permission: Permission, where: str | None = None, *, owner: str | None = None
    ) -> bool:
        """Whether the principal may do what ``permission`` guards ``where`` (a model name, a namespace ending in
        ``/``, ANYWHERE, or None for the registry as a whole). With ``owner`` (the model's owner), a caller who
        owns the model holds there any permission they hold somewhere."""
        if permission in self._open:
            namespace: str | None = None  # reading the catalogue (global reads mode): a role held anywhere
        elif where is None or where == ANYWHERE:
            namespace = where
        else:
            namespace = namespace_of(where)
        if self._decide(principal.roles, namespace, permission):
            return True
        return owner is not None and owns(principal, owner) and self._decide(principal.roles, ANYWHERE, permission)

    def require(
        self, principal: Principal, permission: Permission, where: str | None = None, *, owner: str | None = None
    ) -> None:
        """Raise Forbidden, naming the missing permission (and where), unless the principal holds it."""
        if not self.allows(principal, permission, where, owner=owner):
            log.warning(
                "permission denied",
                extra={
                    "subject": principal.subject,
                    "permission": permission.value,
                    "roles": sorted(principal.roles),
                    "where": where,
                },
            )
            roles = ", ".join(sorted(principal.roles)) or "no registry role"
            scoped = any(SCOPE_MARK in role for role in principal.roles)  # messages of global roles are unchanged
            place = ""
            if scoped and where not in (None, ANYWHERE):
                place = f" in {namespace_of(where) or 'the root namespace'!r}"
            raise Forbidden(f"missing permission {permission.value}{place} (caller has {roles})")

    def read_scope(self, principal: Principal, permission: Permission = Permission.REGISTRY_READ) -> ReadScope:
        """Where the principal may read (``permission``: registry:read, artifact:read or audit:read): everything
        in the global reads mode or with a global role granting it; in the scoped mode, the namespaces where a
        role granting it is held. Cached per set of roles, so a request derives it once."""
        if not self.scoped_reads:
            return EVERYTHING
        return self._read_scope(principal.roles, permission)

    def _read_scope_uncached(self, roles: frozenset[str], permission: Permission) -> ReadScope:
        namespaces: set[str] = set()
        for entry in sorted(roles):
            role, scope = split_holding(entry)
            if scope == GLOBAL:
                if self._grants(role, GLOBAL, ANYWHERE, permission):
                    return EVERYTHING
            elif self._grants(role, scope, scope, permission):
                namespaces.add(scope)
        return ReadScope.of(namespaces)

    def permissions_of(self, principal: Principal) -> frozenset[Permission]:
        """What the principal holds globally or in some namespace (``viewer.permissions``)."""
        return frozenset(p for p in Permission if self.allows(principal, p, ANYWHERE))

    # From a token's names to roles.

    def roles_for(self, claim_values: list[str]) -> frozenset[str]:
        """Registry roles for the role or group names a token carries, after the policy's grouping rules: ``g``
        rules give global roles, ``g2`` rules roles within a namespace (``data-scientist@fraud/``); a name that
        is itself a scoped role (``data-scientist@fraud/``, as an identity provider's role) counts as one."""
        found: set[str] = set()
        for value in claim_values:
            role, scope = split_holding(value)
            if scope != GLOBAL and role in self.roles and valid_scope(scope):
                found.add(value)
                continue
            names = [value, *self._enforcer.get_implicit_roles_for_user(value)]
            found.update(name for name in names if name in self.roles)
            for name in names:
                found.update(holding(role, scope) for role, scope in self._scoped.get(name, ()))
        return frozenset(_without_redundant(found))

    # Explaining.

    def explain(self, names: Iterable[str], permission: Permission, where: str | None) -> Explanation:
        """The decision for a caller whose token carries ``names``, and the rules that made it."""
        names = list(names)
        roles = self.roles_for(names)
        principal = Principal("explain", roles=roles)
        allowed = self.allows(principal, permission, where)
        namespace = ANYWHERE if where == ANYWHERE else "" if where is None else namespace_of(where)
        assignments: list[str] = []
        for name in names:
            for group in [name, *self._enforcer.get_implicit_roles_for_user(name)]:
                assignments += [f"g, {a}, {b}" for a, b, *_ in self._enforcer.get_grouping_policy() if a == group]
                assignments += [f"g2, {group}, {r}, {s}" for r, s in self._scoped.get(group, ())]
        granted_by = None
        ignored: list[str] = []
        for entry in sorted(roles):
            role, scope = split_holding(entry)
            rule = self._rule_for(role, permission)
            if rule is None:
                continue
            if self.allows(Principal("explain", roles=frozenset({entry})), permission, where):
                granted_by = granted_by or (entry, scope, rule)
            else:
                ignored.append(entry)
        return Explanation(
            allowed, namespace, tuple(sorted(roles)), tuple(dict.fromkeys(assignments)), granted_by, tuple(ignored)
        )

    def _rule_for(self, role: str, permission: Permission) -> str | None:
        for sub, obj, act, *_ in self._enforcer.get_policy():
            if sub == role and obj == permission.resource and act == permission.action:
                return f"p, {sub}, {obj}, {act}"
        return None


def _without_redundant(holdings: set[str]) -> set[str]:
    """Drop ``role@ns/`` when the same role is held globally or in a namespace above (same decisions, shorter)."""
    kept = set()
    for entry in holdings:
        role, scope = split_holding(entry)
        if scope != GLOBAL and any(
            other != entry and split_holding(other)[0] == role and within(scope, split_holding(other)[1])
            for other in holdings
        ):
            continue
        kept.add(entry)
    return kept


def owns(principal: Principal, owner: str) -> bool:
    """Whether the caller is the model's owner: its subject, or ``group:NAME`` for a group in the token's ``groups``
    claim (docs/authorization.md)."""
    if owner == principal.subject:
        return True
    kind, mark, group = owner.partition(":")
    if not mark or kind != "group" or not group:
        return False
    groups = principal.claims.get("groups")
    if isinstance(groups, str):
        groups = groups.split()
    return isinstance(groups, list) and group in groups
