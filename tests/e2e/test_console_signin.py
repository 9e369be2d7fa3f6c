"""The console with the browser sign-in (authorization code + PKCE through the real `oidc-provider`'s login and
consent pages): signed in by the HttpOnly session cookie, the approvals inbox goes live on a WebSocket authenticated
by that cookie alone, and a request made meanwhile arrives without a reload. The cookie counts on a WebSocket only
from a page of this server: a handshake from another site, from an allowed cross-origin page, or without ``Origin``
gets no session (cross-site WebSocket hijacking)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.config import Settings
from tests.e2e.test_oidc_server import sign_in
from tests.support.browser import ROOT, require_browser_tools
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.oidc import OidcProvider, issuers_file, policy_dir
from tests.support.subscriptions import EVENTS, PROTOCOL, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent]

ALLOWED_ORIGIN = "http://console.allowed.example"  # MODELREG_CORS_ORIGINS: may call with a token, never the cookie
REGISTER = """
mutation Register($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
REQUEST = """
mutation Request($input: RequestStageTransitionInput!) {
  requestStageTransition(input: $input) { transitionRequest { id status } }
}
"""
ATTACH = """
mutation Attach($input: AttachDocumentInput!) { attachDocument(input: $input) { modelDocument { id } } }
"""


@pytest.fixture(scope="module")
def server(idp: OidcProvider, tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("console-signin")
    env = {
        "MODELREG_OIDC_ISSUERS_FILE": str(issuers_file(folder, idp)),
        "MODELREG_POLICY_DIR": str(policy_dir(folder / "policies", Settings().policy_dir)),
        "MODELREG_OIDC_CLIENT_ID": "browser",
        "MODELREG_OIDC_SCOPES": "openid profile registry",
        "MODELREG_SESSION_SECRET": secrets.token_urlsafe(32),
        "MODELREG_CORS_ORIGINS": ALLOWED_ORIGIN,
    }
    with fresh_database(folder, "console-signin", server_url="") as url:
        live = LiveServer(folder, url, extra_env=env)
        yield live
        live.stop()


def call(server: LiveServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/graphql", headers={"Authorization": f"Bearer {token}"},
                          json={"query": query, "variables": variables}, timeout=30)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def staged_version(server: LiveServer, idp: OidcProvider) -> tuple[str, str, int]:
    """A data scientist's version in STAGING with a model card: a PRODUCTION request for it waits for approval."""
    token = idp.role_token("data-scientist")
    model = f"signin-{secrets.token_hex(3)}/churn"
    version = call(server, token, REGISTER, input={"name": model, "createModelIfMissing": True})[
        "createModelVersion"]["modelVersion"]["version"]
    call(server, token, ATTACH, input={"name": model, "version": version, "kind": "MODEL_CARD", "title": "Card",
                                       "markdown": "# Churn"})
    call(server, token, REQUEST, input={"name": model, "version": version, "toStage": "STAGING"})
    return token, model, version


@pytest.mark.browser
def test_console_sign_in_and_live_inbox_on_the_cookie(server: LiveServer, idp: OidcProvider, tmp_path):
    require_browser_tools()
    if not (ROOT / "app" / "web" / "console" / "index.html").is_file():
        pytest.fail("the console is not built: run `./dev setup` (or `npm run console:build`)", pytrace=False)
    token, model, version = staged_version(server, idp)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"requesterToken": token, "model": model, "version": version}))
    shots = Path(os.environ.get("MODELREG_CONSOLE_SCREENSHOTS") or tmp_path)  # docs/console.md shows it
    shots.mkdir(parents=True, exist_ok=True)
    screenshot = shots / "console-signed-in.png"
    done = subprocess.run(["node", str(ROOT / "tests" / "js" / "console_signin_check.mjs"), server.url, "alice",
                           str(screenshot), "--plan", str(plan)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"browser driver exited {done.returncode} without a report\n{done.stdout}\n{done.stderr}")
    assert report["ok"], f"failed after {report['steps']}: {report.get('error')}\nscreenshot: {screenshot}"

    assert report["linkBefore"] == "Sign in" and report["statusBefore"] == "Not signed in"
    assert report["providerUrl"].startswith(idp.issuer)
    assert report["status"] == "Signed in as alice (approver) · browser session"
    assert report["linkAfter"] == "Sign out" and report["tokenBar"] == 0 and report["storedToken"] is None
    # Every GraphQL call went with the cookie and the CSRF header, never a token.
    assert report["graphqlRequests"] and all(
        not r["authorization"] and r["xRequestedWith"] == "modelreg-console" for r in report["graphqlRequests"])
    # The live connection: no token in connection_init, acknowledged, the event delivered on it.
    assert report["live"] == "New requests appear here live."
    sockets = [s for s in report["sockets"] if s["url"].endswith("/graphql")]
    assert sockets, report["sockets"]
    inits = [frame for s in sockets for frame in s["sent"] if frame["type"] == "connection_init"]
    assert inits and all(not frame["payload"] for frame in inits), inits
    received = [kind for s in sockets for kind in s["received"]]
    assert "connection_ack" in received and "next" in received, received
    assert "PRODUCTION" in report["card"]
    assert {"name": "modelreg_session", "httpOnly": True, "sameSite": "Lax"} in report["cookies"]
    assert "modelreg_session" not in report["documentCookie"]
    assert [v for v in report["axe"] if v["impact"] in ("serious", "critical")] == []
    assert report["pageErrors"] == []


async def handshake(server: LiveServer, cookie: str | None, origin: str | None) -> str:
    """connection_init without a token on a handshake carrying ``cookie`` and ``origin``: "ack" (acknowledged, and a
    subscription accepted), "closed CODE", or "refused HTTP STATUS" (the handshake itself)."""
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"modelreg_session={cookie}"
    try:
        ws = await websockets.connect(ws_url(server.url), subprotocols=[PROTOCOL], open_timeout=10,
                                      additional_headers=headers, origin=origin)  # type: ignore[arg-type]
    except websockets.InvalidStatus as error:
        return f"refused HTTP {error.response.status_code}"
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message.get("type") != "connection_ack":
            return f"unexpected {message}"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {}}}))
        await ws.send(json.dumps({"type": "ping"}))  # answered after the subscribe was taken (in order)
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 10))).get("type") != "pong":
            if message.get("type") == "error":
                return f"subscription refused {message}"
        return "ack"
    except websockets.ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else None}"
    finally:
        await ws.close()


def test_websocket_session_cookie_only_from_this_origin(server: LiveServer):
    client, _ = sign_in(server, "alice")
    cookie = next(c.value for c in client.cookies.jar if c.name == "modelreg_session")
    client.close()
    tampered = cookie[:-6] + ("AAAAAA" if not cookie.endswith("AAAAAA") else "BBBBBB")
    outcomes = asyncio.run(_outcomes(server, cookie, tampered))
    assert outcomes == {
        "same origin": "ack",  # the console's own page
        "same origin, no cookie": "closed 4403",
        "same origin, forged cookie": "closed 4403",
        "another site": "refused HTTP 403",  # the handshake itself (not in MODELREG_CORS_ORIGINS)
        "allowed cross origin": "closed 4403",  # may connect with a token, never with the cookie
        "no Origin (not a browser)": "closed 4403",
    }, outcomes


async def _outcomes(server: LiveServer, cookie: str, tampered: str) -> dict[str, str]:
    return {
        "same origin": await handshake(server, cookie, server.url),
        "same origin, no cookie": await handshake(server, None, server.url),
        "same origin, forged cookie": await handshake(server, tampered, server.url),
        "another site": await handshake(server, cookie, "https://evil.example"),
        "allowed cross origin": await handshake(server, cookie, ALLOWED_ORIGIN),
        "no Origin (not a browser)": await handshake(server, cookie, None),
    }
