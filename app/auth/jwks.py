"""Signing keys of an OpenID provider: discovery, then the JWKS, cached and refreshed on unknown key ids."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from joserfc.jwk import KeySet

log = logging.getLogger("modelreg.auth")


class KeySource:
    """Where a validator gets its keys. ``keys_for(kid)`` may refresh when the kid is unknown."""

    async def keys_for(self, kid: str | None) -> KeySet:  # pragma: no cover - interface
        raise NotImplementedError


class StaticKeySource(KeySource):
    """A fixed key set (the development issuer's)."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    async def keys_for(self, kid: str | None) -> KeySet:
        return self._keys


class OidcKeySource(KeySource):
    """Keys of an OIDC issuer found through ``/.well-known/openid-configuration``.

    Cached for ``ttl`` seconds; a token naming an unknown ``kid`` triggers a refetch at most once per
    ``min_refresh_interval``, so garbage key ids cannot hammer the provider. When the provider is down,
    the cached keys stay in use.
    """

    def __init__(self, issuer: str, *, ttl: float = 3600, min_refresh_interval: float = 30,
                 timeout: float = 5.0) -> None:
        self.issuer = issuer.rstrip("/")
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> KeySet:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            discovery = await client.get(f"{self.issuer}/.well-known/openid-configuration")
            discovery.raise_for_status()
            jwks_uri = discovery.json()["jwks_uri"]
            response = await client.get(jwks_uri)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())

    def _known(self, kid: str | None) -> bool:
        return self._keys is not None and (kid is None or any(k.kid == kid for k in self._keys.keys))

    async def keys_for(self, kid: str | None) -> KeySet:
        now = time.monotonic()
        stale = now - self._fetched_at > self._ttl
        if self._keys is None or stale or (not self._known(kid) and now - self._fetched_at > self._min_refresh_interval):
            async with self._lock:
                if time.monotonic() - self._fetched_at > self._min_refresh_interval:
                    try:
                        self._keys = await self._fetch()
                        self._fetched_at = time.monotonic()
                    except (httpx.HTTPError, KeyError, ValueError) as error:
                        log.warning("could not refresh signing keys", extra={"issuer": self.issuer,
                                                                             "error": type(error).__name__})
                        self._fetched_at = time.monotonic() - self._ttl + self._min_refresh_interval
        if self._keys is None:
            return KeySet([])
        return self._keys
