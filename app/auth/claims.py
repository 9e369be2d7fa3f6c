"""From validated token claims to the names the policy's grouping rules map onto roles, and to a kind.

A *role source* is a template over claim paths. ``roles`` (a bare path) yields each value of the ``roles``
claim as it is; ``group:{groups}`` yields ``group:`` + each group; ``repo:{repository}:ref:{ref}`` yields one
name per combination of values (GitHub Actions). Paths are dotted (``realm_access.roles``); a claim whose
own name contains dots (Auth0's ``https://example.com/roles``) is found by its full name first.
A string claim is a space-separated list (``scope``, ``scp``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.identity import PrincipalKind

MAX_VALUES_PER_CLAIM = 500
MAX_NAMES = 2000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _lookup(value: Any, path: str) -> Any:
    """The value at ``path``: the full name first, then split at each dot from the left."""
    if not isinstance(value, Mapping):
        return None
    if path in value:
        return value[path]
    head, dot, rest = path.partition(".")
    while dot:
        if head in value:
            found = _lookup(value[head], rest)
            if found is not None:
                return found
        more_head, dot, rest = rest.partition(".")
        head = f"{head}.{more_head}"
    return None


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """String values at a claim path; a string is split on whitespace, non-strings are ignored."""
    value = _lookup(claims, path)
    if isinstance(value, str):
        values = value.split()
    elif isinstance(value, list):
        values = [item for item in value if isinstance(item, str) and item]
    else:
        values = []
    return values[:MAX_VALUES_PER_CLAIM]


@dataclass(frozen=True)
class RoleSource:
    """One template: literal text and claim paths in braces. A bare path means ``{path}``."""

    template: str

    @classmethod
    def parse(cls, text: str) -> RoleSource:
        """Check the syntax; raise ValueError with what is wrong."""
        text = text.strip()
        if not text:
            raise ValueError("a role claim must not be empty")
        if "{" not in text and "}" not in text:
            text = "{" + text + "}"
        paths = _PLACEHOLDER.findall(text)
        if not paths or any(not p.strip() for p in paths):
            raise ValueError(f"role claim {text!r} needs a claim path in braces, such as group:{{groups}}")
        if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
            raise ValueError(f"role claim {text!r} has unbalanced braces")
        return cls(text)

    @property
    def paths(self) -> list[str]:
        return _PLACEHOLDER.findall(self.template)

    def names(self, claims: Mapping[str, Any]) -> list[str]:
        """Every name the template yields; none when a placeholder's claim is missing."""
        literals = _PLACEHOLDER.split(self.template)[::2]
        choices = [claim_values(claims, path) for path in self.paths]
        if not all(choices):
            return []
        found = []
        for combination in itertools.islice(itertools.product(*choices), MAX_NAMES):
            parts = [literals[0]]
            for value, literal in zip(combination, literals[1:], strict=True):
                parts += [value, literal]
            found.append("".join(parts))
        return found


def role_names(claims: Mapping[str, Any], sources: tuple[RoleSource, ...]) -> list[str]:
    """Names from all sources, in order, without duplicates, at most MAX_NAMES."""
    seen: dict[str, None] = {}
    for source in sources:
        for name in source.names(claims):
            seen.setdefault(name, None)
            if len(seen) >= MAX_NAMES:
                return list(seen)
    return list(seen)


# Claims that mark a client-credentials (machine) token at common providers, besides client_id/azp == sub:
# Auth0 (gty), Microsoft Entra ID with the idtyp optional claim.
DEFAULT_SERVICE_MARKERS = ("gty=client-credentials", "idtyp=app")


def _matches(claims: Mapping[str, Any], condition: str) -> bool:
    """``claim`` (present, non-empty) or ``claim=value`` (one of its values)."""
    path, equals, expected = condition.partition("=")
    if not equals:
        value = _lookup(claims, path)
        return value not in (None, "", [], {}, False)
    return expected in claim_values(claims, path)


def client_of(claims: Mapping[str, Any]) -> str | None:
    """The OAuth client a token was issued to: ``client_id``, ``azp``, Okta's ``cid`` or Entra's ``appid``."""
    for name in ("client_id", "azp", "cid", "appid"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def kind_of(claims: Mapping[str, Any], *, forced: str = "auto", service_when: tuple[str, ...] = ()) -> PrincipalKind:
    """USER or SERVICE. ``forced`` is "user", "service" or "auto"; auto means SERVICE when the token's
    client is its own subject (client credentials), or a marker claim or a ``service_when`` condition holds."""
    if forced == "service":
        return PrincipalKind.SERVICE
    if forced == "user":
        return PrincipalKind.USER
    client = client_of(claims)
    if client is not None and client == claims.get("sub"):
        return PrincipalKind.SERVICE
    if any(_matches(claims, c) for c in (*DEFAULT_SERVICE_MARKERS, *service_when)):
        return PrincipalKind.SERVICE
    return PrincipalKind.USER
