"""The JWKS cache against the real OpenID provider (tests/js/oidc_provider.mjs): discovery, one fetch for many
tokens, rate-limited refreshes for unknown key ids, key rotation without restart, provider outages."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.auth.jwks import KeysUnavailable, OidcKeySource
from tests.support.oidc import OidcProvider

pytestmark = pytest.mark.backend_independent


class Clock:
    """A hand-moved monotonic clock, so TTL and rate limits are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(idp: OidcProvider, clock: Clock, **options) -> OidcKeySource:
    return OidcKeySource(idp.issuer, ttl=options.pop("ttl", 600), refresh_interval=options.pop("interval", 30),
                         clock=clock, **options)


def current_kid(idp: OidcProvider) -> str:
    return idp.signing_keys().keys[0].kid


async def settle(keys: OidcKeySource) -> None:
    if keys._inflight is not None:
        await keys._inflight


async def test_keys_are_fetched_once_for_many_tokens(idp):
    clock, before = Clock(), idp.stats()
    keys = source(idp, clock)
    for _ in range(20):
        found = await keys.keys_for(current_kid(idp))
    assert current_kid(idp) in [key.kid for key in found.keys]
    after = idp.stats()
    assert (after["jwks"] - before["jwks"], after["discovery"] - before["discovery"]) == (1, 1)


async def test_garbage_key_ids_cannot_hammer_the_provider(idp):
    clock = Clock()
    keys = source(idp, clock)
    await keys.keys_for(current_kid(idp))
    before = idp.stats()["jwks"]
    for i in range(50):
        await keys.keys_for(f"garbage-{i}")
    assert idp.stats()["jwks"] == before  # just fetched: no refresh inside the interval
    clock.now += 31
    await asyncio.gather(*(keys.keys_for(f"more-garbage-{i}") for i in range(50)))
    assert idp.stats()["jwks"] == before + 1  # one shared refresh, then the interval again


async def test_rotation_is_picked_up_without_restart_and_old_keys_keep_working(idp):
    clock = Clock()
    keys = source(idp, clock)
    old = current_kid(idp)
    await keys.keys_for(old)
    kids = idp.rotate()
    new = kids[0]
    assert new != old and old in kids
    clock.now += 31
    found = [key.kid for key in (await keys.keys_for(new)).keys]
    assert new in found and old in found
    assert [key.kid for key in (await keys.keys_for(old)).keys] == found


async def test_outage_after_ttl_keeps_the_cached_keys(idp, caplog):
    clock = Clock()
    keys = source(idp, clock, ttl=60)
    kid = current_kid(idp)
    await keys.keys_for(kid)
    idp.outage(True)
    try:
        clock.now += 3600
        with caplog.at_level(logging.WARNING, logger="modelreg.auth"):
            found = await keys.keys_for(kid)  # answered from the cache at once ...
            await settle(keys)  # ... while the background refresh fails
        assert kid in [key.kid for key in found.keys]
        assert keys.attempts == 2 and keys.fetches == 1
        assert "could not refresh signing keys" in caplog.text
        assert kid in [key.kid for key in (await keys.keys_for(kid)).keys]
    finally:
        idp.outage(False)
    clock.now += 31
    await keys.keys_for(kid)
    await settle(keys)
    assert keys.fetches == 2


async def test_no_keys_at_all_while_the_provider_is_down(idp):
    idp.outage(True)
    try:
        with pytest.raises(KeysUnavailable):
            await source(idp, Clock()).keys_for("any")
    finally:
        idp.outage(False)


async def test_discovery_naming_another_issuer_is_refused(idp, caplog):
    keys = OidcKeySource(idp.issuer + "/", clock=Clock())  # the provider says it is issuer without the slash
    with caplog.at_level(logging.WARNING, logger="modelreg.auth"), pytest.raises(KeysUnavailable):
        await keys.keys_for(None)
    (record,) = [r for r in caplog.records if r.getMessage().startswith("could not refresh")]
    assert record.error == "the discovery document names another issuer"
