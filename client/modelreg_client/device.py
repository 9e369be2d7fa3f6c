"""Sign-in for people in a terminal: the OAuth 2.0 device authorization grant (RFC 8628) against an OpenID
provider. The provider shows a code to confirm in a browser; the client polls its token endpoint meanwhile."""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from .errors import ModelregError, bad_input

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _discover(http: httpx.Client, issuer: str) -> dict[str, Any]:
    """The issuer's discovery document; bad input when it has no device authorization endpoint."""
    try:
        response = http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    except httpx.HTTPError as error:
        raise ModelregError("UNAVAILABLE", f"cannot reach the identity provider {issuer}: {error}") from None
    if response.status_code != 200:
        raise bad_input(f"{issuer} has no OpenID discovery document (HTTP {response.status_code})", "issuer")
    document = response.json()
    if "device_authorization_endpoint" not in document:
        raise bad_input(f"{issuer} does not offer the device authorization grant", "issuer")
    return document


def device_login(issuer: str, client_id: str, *, scope: str = "openid", audience: str | None = None) -> dict[str, Any]:
    """Runs the grant, telling the person on stderr where to confirm; returns the token response (``access_token``,
    ``expires_in``...). A refusal in the browser is UNAUTHENTICATED, a code that expired TIMED_OUT."""
    with httpx.Client(timeout=30) as http:
        return _run(http, issuer, client_id, scope, audience)


def _run(http: httpx.Client, issuer: str, client_id: str, scope: str, audience: str | None) -> dict[str, Any]:
    document = _discover(http, issuer)
    request: dict[str, str] = {"client_id": client_id, "scope": scope}
    if audience:
        request["resource"] = audience  # RFC 8707; providers that take `audience=` ignore an unknown parameter
    started = http.post(document["device_authorization_endpoint"], data=request)
    if started.status_code != 200:
        raise bad_input(f"the provider refused the device sign-in: {started.text[:300]}", "client-id")
    grant = started.json()
    where = grant.get("verification_uri_complete") or grant["verification_uri"]
    print(f"To sign in, open {where}\nand confirm the code {grant['user_code']}", file=sys.stderr, flush=True)
    interval = float(grant.get("interval", 5))
    deadline = time.monotonic() + float(grant.get("expires_in", 600))
    while time.monotonic() < deadline:
        time.sleep(interval)
        answer = http.post(
            document["token_endpoint"],
            data={"grant_type": GRANT, "device_code": grant["device_code"], "client_id": client_id},
        )
        body = answer.json()
        if answer.status_code == 200:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise ModelregError("UNAUTHENTICATED", "the sign-in was refused in the browser")
        if error == "expired_token":
            break
        raise ModelregError(
            "UNAUTHENTICATED", f"the provider refused the sign-in: {error}: {body.get('error_description', '')}"
        )
    raise ModelregError("TIMED_OUT", "the sign-in code expired before it was confirmed; run `modelreg login` again")
