"""Browser sessions: sealed (encrypted and authenticated) cookies, no server-side state.

Two cookies, each sealed with its own key derived from ``MODELREG_SESSION_SECRET`` (JWE ``dir`` +
``A256GCM`` by joserfc), so any replica can read them and neither can pass for the other:

- ``modelreg_session``: who signed in (subject, kind, registry roles, issuer, and the access token's ``groups``
  claim, which owner groups and approver groups are matched against) until it expires: when the access token it
  was made from expires, at most ``MODELREG_SESSION_TTL``. HttpOnly, SameSite=Lax, Path=/, Secure on https.
- ``modelreg_login``: the state, nonce and PKCE verifier of one sign-in in progress, ten minutes, Path=/auth.

Requests authenticated by the session cookie are checked against cross-site request forgery by
``app.http.middleware`` (``csrf_safe``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.domain.identity import Principal, PrincipalKind

log = logging.getLogger("modelreg.auth")

SESSION_COOKIE = "modelreg_session"
LOGIN_COOKIE = "modelreg_login"
LOGIN_TTL = 600
MAX_COOKIE_BYTES = 4000
_HEADER = {"alg": "dir", "enc": "A256GCM"}


class Sealer:
    """Seals small JSON documents for one purpose with a key derived from the secret."""

    def __init__(self, secret: str, purpose: str) -> None:
        digest = hashlib.sha256(f"modelreg/{purpose}/v1\x00{secret}".encode()).digest()
        self._key = OctKey.import_key(digest)
        self._purpose = purpose

    def seal(self, data: dict[str, Any], expires_at: int) -> str:
        payload = json.dumps({"p": self._purpose, "exp": expires_at, "d": data}, separators=(",", ":"))
        sealed = jwe.encrypt_compact(dict(_HEADER), payload.encode(), self._key)
        if len(sealed) > MAX_COOKIE_BYTES:
            raise ValueError("sealed cookie would be too large")
        return sealed

    def unseal(self, value: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The data, or None when the value is missing, forged, for another purpose, or expired."""
        sealed = self.unseal_with_expiry(value, now)
        return sealed[0] if sealed else None

    def unseal_with_expiry(self, value: str | None, now: float | None = None) -> tuple[dict[str, Any], int] | None:
        """The data and when it expires (Unix seconds), or None as for ``unseal``."""
        if not value or len(value) > MAX_COOKIE_BYTES:
            return None
        try:
            plaintext = jwe.decrypt_compact(value, self._key, algorithms=["dir", "A256GCM"]).plaintext
            payload = json.loads(plaintext or b"")
        except (JoseError, ValueError, TypeError):
            return None
        if not isinstance(payload, dict) or payload.get("p") != self._purpose:
            return None
        expires = payload.get("exp")
        if not isinstance(expires, (int, float)) or expires <= (time.time() if now is None else now):
            return None
        data = payload.get("d")
        return (data, int(expires)) if isinstance(data, dict) else None


class SessionCodec:
    """Principal <-> session cookie value."""

    def __init__(self, secret: str, ttl: int) -> None:
        self._sealer = Sealer(secret, "session")
        self.ttl = ttl

    def expiry(self, token_expires_at: int | None) -> int:
        cap = int(time.time()) + self.ttl
        return min(cap, int(token_expires_at)) if token_expires_at else cap

    def seal(self, principal: Principal, issuer: str, expires_at: int) -> str:
        """The cookie value. The token's ``groups`` go along so that a session decides as the bearer token would
        (a model owned by ``group:NAME``, approvals from named groups); when they would make the cookie too large
        (hundreds of groups), the session goes without them and the log says so."""
        data: dict[str, Any] = {
            "iss": issuer,
            "sub": principal.subject,
            "kind": principal.kind.value,
            "roles": sorted(principal.roles),
        }
        groups = list(principal.groups)
        if groups:
            try:
                return self._sealer.seal({**data, "groups": groups}, expires_at)
            except ValueError:
                log.warning(
                    "session without the groups claim: too many groups for a cookie",
                    extra={"subject": principal.subject, "groups": len(groups)},
                )
        return self._sealer.seal(data, expires_at)

    def principal(self, value: str | None) -> Principal | None:
        """Who the cookie signs in; its ``exp`` claim is the session's end (a WebSocket is closed then)."""
        sealed = self._sealer.unseal_with_expiry(value)
        if sealed is None:
            return None
        data, expires_at = sealed
        try:
            kind = PrincipalKind(data["kind"])
            roles = frozenset(str(role) for role in data["roles"])
            subject, issuer = str(data["sub"]), str(data["iss"])
            groups = [str(group) for group in data.get("groups") or ()]
        except (KeyError, ValueError, TypeError):
            return None
        claims: dict[str, Any] = {"iss": issuer, "sub": subject, "modelreg_auth": "session", "exp": expires_at}
        if groups:
            claims["groups"] = groups
        return Principal(subject=subject, kind=kind, roles=roles, claims=claims)


def cookie_header(name: str, value: str, *, max_age: int, path: str, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax (the callback arrives as a top-level GET from the provider)."""
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max(0, max_age)}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
