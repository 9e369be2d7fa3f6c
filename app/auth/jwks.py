"""Signing keys of an OpenID provider: discovery, then the JWKS, cached and refreshed on unknown key ids.

Behaviour of ``OidcKeySource`` (docs/identity.md, "Keys"):

- The first token fetches ``{issuer}/.well-known/openid-configuration`` (whose ``issuer`` must be the
  configured one) and its ``jwks_uri``. Only asymmetric signing keys are kept; a key that does not import
  is skipped, and a set with no usable key counts as a failed fetch.
- Keys are fresh for ``ttl`` seconds. After that they are still used at once while one background refresh
  runs, so a slow or unreachable provider never delays or rejects requests with known keys.
- A token naming an unknown ``kid`` waits for a refresh, but refreshes (of any kind) start at most once per
  ``refresh_interval`` seconds: garbage key ids cannot hammer the provider. Concurrent callers share one
  refresh in flight.
- A failed refresh keeps the cached keys (logged, with the error type only) and is retried after
  ``refresh_interval``; a provider outage logs nobody out while its keys are cached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.observability.metrics import JWKS_REFRESHES

log = logging.getLogger("modelreg.auth")

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_KEYS = 100
_SIGNING_KEY_TYPES = {"RSA", "EC", "OKP"}
MIN_RSA_BITS = 2048


class KeysUnavailable(Exception):
    """No keys could be had for an issuer (never fetched successfully yet)."""


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


class _FetchError(Exception):
    """A discovery or JWKS fetch that failed; the message is safe to log."""


def usable_keys(document: Any) -> KeySet:
    """The asymmetric signing keys of a JWKS document; raise _FetchError when none is usable."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _FetchError("the JWKS is not an object with a keys list")
    keys = []
    for entry in document["keys"][:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("kty") not in _SIGNING_KEY_TYPES:
            continue  # symmetric ("oct") keys never verify anything here
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key_set = KeySet.import_key_set({"keys": [entry]})
        except (JoseError, ValueError, TypeError):
            continue
        key = key_set.keys[0]
        if entry["kty"] == "RSA" and getattr(key.public_key, "key_size", 0) < MIN_RSA_BITS:
            continue
        keys.append(key)
    if not keys:
        raise _FetchError("the JWKS has no usable signing key")
    return KeySet(keys)


class OidcKeySource(KeySource):
    """Keys of an OIDC issuer found through ``/.well-known/openid-configuration``; see the module doc."""

    def __init__(
        self,
        issuer: str,
        *,
        ttl: float = 3600,
        refresh_interval: float = 30,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._timeout = timeout
        self._clock = clock
        self._keys: KeySet | None = None
        self._kids: frozenset[str | None] = frozenset()
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0  # successful refreshes, for tests and metrics
        self.attempts = 0

    # Fetching.

    async def _get_json(self, client: httpx.AsyncClient, url: str) -> Any:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise _FetchError(f"HTTP {response.status_code} from {url}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise _FetchError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
        try:
            return json.loads(bytes(body))
        except ValueError:
            raise _FetchError(f"{url} did not answer JSON") from None

    async def _fetch(self) -> KeySet:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            discovery = await self._get_json(client, self._discovery_url)
            if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
                raise _FetchError("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                raise _FetchError("the discovery document has no http(s) jwks_uri")
            return usable_keys(await self._get_json(client, jwks_uri))

    async def _refresh(self) -> None:
        self.attempts += 1
        try:
            keys = await self._fetch()
        except (httpx.HTTPError, _FetchError) as error:
            JWKS_REFRESHES.labels("failure").inc()
            log.warning(
                "could not refresh signing keys; keeping the cached ones",
                extra={
                    "issuer": self.issuer,
                    "error_type": type(error).__name__,
                    "error": str(error)[:200] if isinstance(error, _FetchError) else "",
                    "cached_keys": len(self._keys.keys) if self._keys else 0,
                },
            )
            return
        self._keys, self._kids = keys, frozenset(key.kid for key in keys.keys)
        self._fetched_at = self._clock()
        self.fetches += 1
        JWKS_REFRESHES.labels("success").inc()
        log.info("signing keys refreshed", extra={"issuer": self.issuer, "kids": sorted(map(str, self._kids))})

    def _start_refresh(self) -> asyncio.Task[None] | None:
        """The refresh in flight, a new one if allowed by the rate limit, or None."""
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        if self._clock() - self._attempted_at < self._refresh_interval:
            return None
        self._attempted_at = self._clock()
        self._inflight = asyncio.get_running_loop().create_task(self._refresh())
        return self._inflight

    # Lookup.

    def _known(self, kid: str | None) -> bool:
        if self._keys is None:
            return False
        return kid in self._kids if kid is not None else True

    async def keys_for(self, kid: str | None) -> KeySet:
        if not self._known(kid):
            task = self._start_refresh()
            if task is not None:
                await asyncio.shield(task)
        elif self._clock() - self._fetched_at >= self._ttl:
            self._start_refresh()  # in the background; the cached keys answer now
        if self._keys is None:
            raise KeysUnavailable(self.issuer)
        return self._keys
