"""Cross-origin requests: MODELREG_CORS_ORIGINS lets listed browser origins call /graphql (preflights answered
without authentication, X-Request-ID readable) and open subscriptions; other origins get no CORS headers and
their WebSockets are refused; the session cookie never works cross-origin (no Allow-Credentials)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import websockets

from app.auth import dev_issuer
from app.config import Settings
from app.http.cors import allowed_origins
from tests.support.client import Api, api_with_settings
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.subscriptions import PROTOCOL, Refused, Subscriber, ws_url

ALLOWED = "http://localhost:3000"
ALSO_ALLOWED = "https://console.example.com"
OTHER = "http://evil.example"
ORIGINS = f"{ALLOWED}, https://Console.Example.com:443"  # normalised: browsers send lower case, no default port
VIEWER = "query Viewer { viewer { subject } }"
APOLLO_HEADERS = "authorization,content-type,apollographql-client-name,apollographql-client-version"


@contextlib.asynccontextmanager
async def api_with_origins(settings: Settings, api: Api, origins: str = ORIGINS) -> AsyncIterator[Api]:
    async with api_with_settings(settings, api, cors_origins=origins) as changed:
        yield changed


def preflight(origin: str, headers: str = APOLLO_HEADERS) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers}


@pytest.mark.backend_independent
def test_origins_are_read_as_browsers_send_them():
    assert allowed_origins("") == ()
    assert allowed_origins(ORIGINS) == (ALLOWED, ALSO_ALLOWED)
    assert allowed_origins("http://[::1]:8080,HTTP://A.example:80") == ("http://[::1]:8080", "http://a.example")


@pytest.mark.parametrize("origin", [ALLOWED, ALSO_ALLOWED])
async def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(settings: Settings, api: Api, origin):
    async with api_with_origins(settings, api) as cors:
        response = await cors.client.options("/graphql", headers=preflight(origin))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == origin
    assert {"GET", "POST", "OPTIONS"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = {h.lower() for h in response.headers["access-control-allow-headers"].split(", ")}
    assert set(APOLLO_HEADERS.split(",")) | {"x-requested-with", "x-request-id"} <= allowed
    assert "access-control-allow-credentials" not in response.headers  # cookies never ride cross-origin
    assert "origin" in response.headers["vary"].lower()


async def test_a_preflight_from_another_origin_gets_no_allow_origin(settings: Settings, api: Api):
    async with api_with_origins(settings, api) as cors:
        response = await cors.client.options("/graphql", headers=preflight(OTHER))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_without_configured_origins_no_origin_is_allowed(api: Api):
    """The default (empty): preflights are still answered without a token (no 401), and allow nothing."""
    response = await api.client.options("/graphql", headers=preflight(ALLOWED))
    assert response.status_code == 400 and "access-control-allow-origin" not in response.headers
    answer = await api.post(VIEWER, token=api.token("mlops"), headers={"Origin": ALLOWED})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


async def test_an_actual_post_with_origin_carries_the_cors_headers(settings: Settings, api: Api):
    async with api_with_origins(settings, api) as cors:
        allowed = await cors.post(VIEWER, token=cors.token("mlops"), headers={"Origin": ALLOWED})
        other = await cors.post(VIEWER, token=cors.token("mlops"), headers={"Origin": OTHER})
        refused = await cors.post(VIEWER, headers={"Origin": ALLOWED})  # no token: the 401 is readable by the page
    assert allowed.status_code == 200 and allowed.json()["data"]["viewer"]["subject"] == "tester"
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert allowed.headers["access-control-expose-headers"] == "X-Request-ID" and allowed.headers["x-request-id"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers  # the browser hides it
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, artifact_store_env: dict[str, str]) -> Iterator[LiveServer]:
    server_dir = tmp_path_factory.mktemp("cors")
    with fresh_database(server_dir, "cors") as url:
        live = LiveServer(server_dir, url, {**artifact_store_env, "MODELREG_DISPATCHER": "false",
                                            "MODELREG_CORS_ORIGINS": ALLOWED})
        yield live
        live.stop()


async def connect(server: LiveServer, origin: str | None) -> Subscriber:
    """A browser-like handshake (with ``Origin``), then connection_init with a token."""
    try:
        ws = await websockets.connect(ws_url(server.url), subprotocols=[PROTOCOL], origin=origin, open_timeout=10)
    except websockets.InvalidStatus as error:
        raise Refused(None, status=error.response.status_code) from None
    subscriber = Subscriber(ws)
    token = dev_issuer.mint_token(server.data_dir, subject="browser", roles=["data-scientist"], audience="modelreg")
    await subscriber.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await subscriber.receive())["type"] == "connection_ack"
    return subscriber


@pytest.mark.e2e
@pytest.mark.parametrize("origin", [ALLOWED, None, "SAME"])
async def test_a_websocket_from_an_allowed_origin_is_accepted(server: LiveServer, origin):
    """Allowed origins, clients that send no Origin (not browsers) and the server's own origin connect."""
    async with await connect(server, server.url if origin == "SAME" else origin) as subscriber:
        await subscriber.send({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { subject } }"}})
        message = await subscriber.receive()
    assert message["type"] == "next" and message["payload"]["data"]["viewer"]["subject"] == "browser"


@pytest.mark.e2e
@pytest.mark.parametrize("origin", [OTHER, "http://localhost:3001", "null"])
async def test_a_websocket_from_another_origin_is_refused(server: LiveServer, origin):
    with pytest.raises(Refused) as refused:
        await connect(server, origin)
    assert refused.value.status == 403
