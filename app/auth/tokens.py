"""Bearer token validation with Authlib (RFC 9068 JWT access tokens) into a Principal, for several issuers.

A token is routed by its (unverified) ``iss`` to the one trusted issuer of that name; no other issuer's
keys are ever tried and an unknown issuer is refused before anything is fetched. Then, in order: size limit,
header ``alg`` against the issuer's allow-list (so ``none`` and HMAC never reach key lookup), the signature
with the issuer's JWKS, and the claims ``iss``, ``aud`` (any accepted audience), ``exp``, ``nbf``, ``iat``
(with leeway) and ``sub``. Every refusal is ``Unauthenticated`` with a message safe to show; the reason is
kept on the exception for the log, never the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.claims import JWTClaims
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jwt
from joserfc.errors import InvalidClaimError, JoseError
from joserfc.jwk import KeySet

from app.domain.errors import Unauthenticated
from app.domain.identity import Principal

from .claims import client_of, kind_of, role_names
from .issuers import IssuerConfig
from .jwks import KeySource, KeysUnavailable

MAX_TOKEN_BYTES = 16 * 1024
VERIFIED_CACHE_SIZE = 10_000
LEEWAY_SECONDS = 60
MAX_SUBJECT_LENGTH = 256  # subjects are stored as creators and owners
ACCEPTED_TYPES = {"at+jwt", "application/at+jwt", "jwt"}


class TokenRefused(Unauthenticated):
    """Unauthenticated, with a short machine-readable ``reason`` and the issuer's label for the log."""

    def __init__(self, message: str, reason: str, issuer: str = "-") -> None:
        super().__init__(message)
        self.reason = reason
        self.issuer = issuer


class _AccessTokenClaims(JWTAccessTokenClaims):
    """RFC 9068 claims that also accept ``typ: JWT``, which Entra ID, Okta and others put on access tokens.
    ID tokens are still refused by the audience check (their audience is a client, not this API)."""

    def validate(self, **kwargs: Any) -> None:
        typ = self.header.get("typ")
        if typ is not None and str(typ).lower() not in ACCEPTED_TYPES:
            raise InvalidClaimError("typ")
        JWTClaims.validate(self, **kwargs)


class _AccessTokenValidator(JWTBearerTokenValidator):
    """Authlib's RFC 9068 validator with keys handed in per call, several accepted audiences, a leeway, and
    only ``sub``, ``exp`` and ``aud`` essential, since not every OpenID provider sets ``client_id``/``jti``."""

    def __init__(self, config: IssuerConfig, leeway: int) -> None:
        super().__init__(issuer=config.issuer, resource_server=config.audiences[0])
        self.audiences = list(config.audiences)
        self.algorithms = list(config.algorithms)
        self.leeway = leeway

    def decode(self, token: str, keys: KeySet) -> JWTAccessTokenClaims:
        options = {
            "iss": {"essential": True, "validate": self.validate_iss},
            "aud": {"essential": True, "values": self.audiences},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        decoded = jwt.decode(token, key=keys, algorithms=self.algorithms)
        claims = _AccessTokenClaims(decoded.claims, decoded.header, options)
        claims.validate(leeway=self.leeway)
        return claims


@dataclass
class _Verified:
    """A token whose signature and claims were checked, against which key set (found by ``kid``), until when it
    holds, and the caller it names once ``authenticate`` has made it (the policy's role mapping never changes while
    the server runs)."""

    claims: dict[str, Any]
    config: IssuerConfig
    keys: KeySet
    kid: str | None
    expires_at: float
    principal: Principal | None = None


@dataclass
class TrustedIssuer:
    """One configured provider with its key source."""

    config: IssuerConfig
    keys: KeySource


def _segment(part: str) -> dict[str, Any]:
    """A JOSE header or payload segment, decoded without verification (only to route and pre-check)."""
    padded = part + "=" * (-len(part) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


_REFUSED = "the bearer token is not valid for this server"


class TokenAuthenticator:
    """Turns a bearer token into a Principal, or raises TokenRefused with a message safe to show."""

    def __init__(
        self,
        issuers: list[TrustedIssuer],
        *,
        roles_for: Callable[[list[str]], frozenset[str]],
        leeway: int = LEEWAY_SECONDS,
        max_bytes: int = MAX_TOKEN_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {trusted.config.issuer: trusted for trusted in issuers}
        self._validators = {trusted.config.issuer: _AccessTokenValidator(trusted.config, leeway) for trusted in issuers}
        self._roles_for = roles_for
        self._max_bytes = max_bytes
        # Verified tokens by SHA-256, least recently used first: a client sends the same token with every request,
        # and the RSA check and claim validation were a fifth of a small request's CPU.
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()
        self._clock = clock

    def issuer(self, issuer: str) -> IssuerConfig | None:
        trusted = self._issuers.get(issuer)
        return trusted.config if trusted else None

    async def authenticate(self, token: str) -> Principal:
        """The caller behind ``token``: its claims checked by Authlib, its roles mapped by the policy. A token
        verified before answers the same caller without being decoded again, while ``_recall`` holds it."""
        digest = hashlib.sha256(token.encode()).digest() if len(token) <= self._max_bytes else None
        if digest is not None:
            remembered = self._verified.get(digest)
            if remembered is not None and remembered.principal is not None:
                try:
                    keys = await self._issuers[remembered.config.issuer].keys.keys_for(remembered.kid)
                except KeysUnavailable:
                    keys = None
                if keys is not None and self._recall(digest, keys) is not None:
                    return remembered.principal
        claims, config = await self.validate(token)
        principal = self.principal(claims, config)
        if digest is not None and (remembered := self._verified.get(digest)) is not None:
            remembered.principal = principal
        return principal

    async def validate(self, token: str) -> tuple[dict[str, Any], IssuerConfig]:
        """The verified claims of ``token`` and the issuer that signed it."""
        if len(token) > self._max_bytes:
            raise TokenRefused("the bearer token is too large", "oversized")
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three segments")
            header, payload = _segment(parts[0]), _segment(parts[1])
        except (ValueError, UnicodeError, binascii.Error):
            raise TokenRefused("the bearer token is not a well-formed JWT", "malformed") from None
        issuer = payload.get("iss")
        trusted = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if trusted is None:
            raise TokenRefused(_REFUSED, "untrusted_issuer")
        label = trusted.config.label
        if header.get("alg") not in trusted.config.algorithms:
            raise TokenRefused(_REFUSED, "algorithm_not_allowed", label)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused(_REFUSED, "malformed_kid", label)
        try:
            keys = await trusted.keys.keys_for(kid)
        except KeysUnavailable:
            raise TokenRefused(
                "the identity provider's signing keys are not available yet; try again shortly",
                "keys_unavailable",
                label,
            ) from None
        digest = hashlib.sha256(token.encode()).digest()
        if (verified := self._recall(digest, keys)) is not None:
            return dict(verified.claims), verified.config
        try:
            claims = self._validators[trusted.config.issuer].decode(token, keys)
        except JoseError as error:
            reason = getattr(error, "error", None) or type(error).__name__
            if reason == "expired_token":
                raise TokenRefused("the bearer token has expired; get a new one", reason, label) from None
            raise TokenRefused(_REFUSED, reason, label) from None
        self._remember(digest, _Verified(dict(claims), trusted.config, keys, kid, float(claims["exp"])))
        return dict(claims), trusted.config

    def _recall(self, digest: bytes, keys: KeySet) -> _Verified | None:
        """A token verified before, while it has not expired and the issuer's key set is the one that verified
        it (a JWKS refresh replaces the set, so tokens are checked again against the keys the issuer publishes)."""
        verified = self._verified.get(digest)
        if verified is None:
            return None
        if verified.keys is not keys or self._clock() >= verified.expires_at:
            del self._verified[digest]
            return None
        self._verified.move_to_end(digest)
        return verified

    def _remember(self, digest: bytes, verified: _Verified) -> None:
        self._verified[digest] = verified
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    def principal(self, claims: dict[str, Any], config: IssuerConfig) -> Principal:
        """A Principal from verified claims: subject, kind (USER or SERVICE) and registry roles."""
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise TokenRefused("the bearer token has no subject", "missing_sub", config.label)
        subject = config.subject_prefix + subject
        if len(subject) > MAX_SUBJECT_LENGTH:
            raise TokenRefused(
                f"the bearer token's subject is longer than {MAX_SUBJECT_LENGTH} characters",
                "subject_too_long",
                config.label,
            )
        kind = kind_of(claims, forced=config.kind, service_when=config.service_when)
        names = role_names(claims, config.role_sources)
        client = client_of(claims)
        if kind.value == "SERVICE" and client:
            names.append(f"client:{client}")  # service principals: "g, client:<client id>, <role>"
        return Principal(subject=subject, kind=kind, roles=self._roles_for(names), claims=claims)
