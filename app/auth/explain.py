"""``modelreg policy explain``: the decision the policy makes for a caller, and the rules that made it."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.domain.errors import RegistryError
from app.domain.identity import Permission, Principal
from app.domain.uris import parse_model_uri

from .authorizer import ANYWHERE, REGISTRY_WIDE, CasbinAuthorizer, namespace_of


def permission_for(action: str) -> Permission:
    """``model:write`` as it is; a bare action (``approve``) names the one permission with it, ``model:`` first."""
    if ":" in action:
        try:
            return Permission(action)
        except ValueError:
            raise ValueError(f"unknown permission {action!r}; permissions: {_all()}") from None
    matching = [p for p in Permission if p.action == action]
    if len(matching) == 1:
        return matching[0]
    for permission in matching:
        if permission.resource == "model":
            return permission
    if not matching:
        raise ValueError(f"unknown action {action!r}; permissions: {_all()}")
    raise ValueError(f"action {action!r} is ambiguous; give one of {', '.join(p.value for p in matching)}")


def _all() -> str:
    return ", ".join(p.value for p in Permission)


def place_of(resource: str | None) -> str | None:
    """Where a decision is about: ``models:/fraud/x`` (or ``/3``, ``/Production``, ``@champion``) -> the model name,
    ``models:/fraud/`` or ``fraud/`` -> the namespace, ``*`` -> anywhere, nothing -> the registry as a whole."""
    if resource in (None, ""):
        return None
    if resource == ANYWHERE:
        return ANYWHERE
    text = resource.removeprefix("models:/")
    if text.endswith("/"):
        return text
    if resource.startswith("models:/"):
        try:
            parsed = parse_model_uri(resource)
        except RegistryError:
            return text
        return parsed.name  # models:/fraud/x/3, models:/fraud/x/Production, models:/fraud/x@champion
    return text  # fraud/x, or models:/fraud/x (a name, not a URI of a version)


def explain(policy_dir: Path, args: argparse.Namespace, read_scope: str = "global") -> tuple[str, int]:
    """The report and the exit status (0 allowed, 1 refused); reads are decided in the MODELREG_READ_SCOPE mode."""
    authorizer = CasbinAuthorizer(policy_dir, read_scope)
    permission = permission_for(args.action)
    where = place_of(args.resource)
    names = [*(args.role or []), *(f"group:{group}" for group in args.group or []), *(args.name or [])]
    found = authorizer.explain(names, permission, where)
    principal = Principal(args.sub, roles=frozenset(found.holdings), claims={"groups": list(args.group or [])})
    allowed, by_owner = found.allowed, False
    if not allowed and args.owner:
        allowed = by_owner = authorizer.allows(principal, permission, where, owner=args.owner)
    if where is None or where == ANYWHERE:
        place = "the registry as a whole" if where is None else "anywhere"
    elif where.endswith("/"):
        place = f"namespace {where}"
    else:
        place = f"model {where} in namespace {namespace_of(where) or '(root)'}"
    lines = [f"{'ALLOWED' if allowed else 'REFUSED'}: {permission.value} on {place}"]
    lines.append(f"  caller: sub={args.sub} names={', '.join(names) or '(none)'}")
    lines.append(f"  roles: {', '.join(found.holdings) or '(no registry role)'}")
    for rule in found.assignments:
        lines.append(f"  assigned by: {rule}")
    if found.granted_by is not None:
        holding, scope, rule = found.granted_by
        held = "globally" if scope == "*" else f"within {scope}"
        lines.append(f"  granted by: {rule} (role {holding}, held {held})")
    elif by_owner:
        lines.append(
            f"  granted by: ownership ({args.owner} owns the model; the caller holds {permission.value} somewhere)"
        )
    else:
        for holding in () if permission in REGISTRY_WIDE else found.ignored:
            lines.append(f"  not here: {holding} grants {permission.value} only within {holding.split('@', 1)[1]}")
        if permission in REGISTRY_WIDE and found.ignored:
            lines.append(f"  {permission.value} is registry-wide: only a role held globally grants it")
        if not found.ignored:
            lines.append(f"  no role the caller holds grants {permission.value}")
    return "\n".join(lines), 0 if allowed else 1
