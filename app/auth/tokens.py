"""Bearer token validation with Authlib (RFC 9068 JWT access tokens) into a Principal."""

from __future__ import annotations

import logging
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oauth2.claims import JWTClaims
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jws, jwt
from joserfc.errors import InvalidClaimError, JoseError
from joserfc.jwk import KeySet

from app.domain.errors import Unauthenticated
from app.domain.identity import Principal, PrincipalKind

from .jwks import KeySource

log = logging.getLogger("modelreg.auth")

ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")
MAX_TOKEN_BYTES = 16 * 1024
LEEWAY_SECONDS = 60
MAX_SUBJECT_LENGTH = 256  # subjects are stored as creators and owners


ACCEPTED_TYPES = {"at+jwt", "application/at+jwt", "jwt"}


class _AccessTokenClaims(JWTAccessTokenClaims):
    """RFC 9068 claims that also accept ``typ: JWT``, which Entra ID, Okta and others put on access tokens.
    ID tokens are still refused by the audience check (their audience is a client, not this API)."""

    def validate(self, **kwargs: Any) -> None:
        typ = self.header.get("typ")
        if typ is not None and str(typ).lower() not in ACCEPTED_TYPES:
            raise InvalidClaimError("typ")
        JWTClaims.validate(self, **kwargs)


class _AccessTokenValidator(JWTBearerTokenValidator):
    """Authlib's RFC 9068 validator with keys handed in per call and only ``sub``, ``exp`` and ``aud``
    essential, since not every OpenID provider sets ``client_id`` and ``jti``."""

    def __init__(self, issuer: str, audience: str) -> None:
        super().__init__(issuer=issuer, resource_server=audience)

    def decode(self, token: str, keys: KeySet) -> JWTAccessTokenClaims:
        options = {
            "iss": {"essential": True, "validate": self.validate_iss},
            "aud": {"essential": True, "value": self.resource_server},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        decoded = jwt.decode(token, key=keys, algorithms=list(ALLOWED_ALGORITHMS))
        claims = _AccessTokenClaims(decoded.claims, decoded.header, options)
        claims.validate(leeway=LEEWAY_SECONDS)
        return claims


def claim_values(claims: dict[str, Any], path: str) -> list[str]:
    """Values at a dotted claim path (``realm_access.roles``); a string is split on spaces (``scope``)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class TokenAuthenticator:
    """Turns a bearer token into a Principal, or raises Unauthenticated with a reason safe to show."""

    def __init__(self, *, issuer: str, audience: str, keys: KeySource, roles_claim: str,
                 roles_for: Any) -> None:
        self._validator = _AccessTokenValidator(issuer, audience)
        self._keys = keys
        self._roles_claim = roles_claim
        self._roles_for = roles_for

    async def authenticate(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("the bearer token is too large")
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, UnicodeError):
            raise Unauthenticated("the bearer token is not a well-formed JWT") from None
        keys = await self._keys.keys_for(header.get("kid"))
        try:
            claims = self._validator.decode(token, keys)
        except JoseError as error:
            reason = getattr(error, "error", type(error).__name__)
            log.info("token rejected", extra={"reason": reason})
            if reason == "expired_token":
                raise Unauthenticated("the bearer token has expired; get a new one") from None
            raise Unauthenticated("the bearer token is not valid for this server") from None
        return self._principal(dict(claims))

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the bearer token has no subject")
        if len(subject) > MAX_SUBJECT_LENGTH:
            raise Unauthenticated(f"the bearer token's subject is longer than {MAX_SUBJECT_LENGTH} characters")
        client_id = claims.get("client_id") or claims.get("azp")
        kind = PrincipalKind.SERVICE if client_id == subject else PrincipalKind.USER
        roles = self._roles_for(claim_values(claims, self._roles_claim))
        return Principal(subject=subject, kind=kind, roles=roles, claims=claims)
