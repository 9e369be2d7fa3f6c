"""JWKS refreshes and failures are counted, against the real OpenID provider (tests/js/oidc_provider.mjs) with
an outage switched on."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from app.auth.jwks import KeysUnavailable, OidcKeySource

pytestmark = pytest.mark.backend_independent


def refreshes(result: str) -> float:
    return REGISTRY.get_sample_value("modelreg_jwks_refreshes_total", {"result": result}) or 0.0


async def test_refreshes_and_failures_are_counted(idp):
    success, failure = refreshes("success"), refreshes("failure")
    await OidcKeySource(idp.issuer).keys_for(None)
    assert (refreshes("success") - success, refreshes("failure") - failure) == (1, 0)
    idp.outage(True)
    try:
        with pytest.raises(KeysUnavailable):
            await OidcKeySource(idp.issuer).keys_for(None)
    finally:
        idp.outage(False)
    assert (refreshes("success") - success, refreshes("failure") - failure) == (1, 1)
