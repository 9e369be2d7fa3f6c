"""A real ``modelreg serve`` trusting the real OpenID provider: browser sign-in (authorization code + PKCE,
through the provider's own login and consent pages), the session cookie and its CSRF check, key rotation
while the server runs, a provider outage, and hostile tokens, each refused with 401, no stack trace, and no
token in the log."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import subprocess
import time
from html.parser import HTMLParser
from typing import Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.config import Settings
from tests.support.browser import ROOT, require_browser_tools
from tests.support.databases import fresh_database
from tests.support.live_server import LiveServer
from tests.support.oidc import OidcProvider, issuers_file, policy_dir, provider

pytestmark = [pytest.mark.e2e, pytest.mark.backend_independent]

VIEWER = {"query": "query Viewer { viewer { subject kind roles } }"}
SESSION_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def server(idp: OidcProvider, tmp_path_factory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("oidc-server")
    env = {
        "MODELREG_OIDC_ISSUERS_FILE": str(issuers_file(folder, idp)),
        "MODELREG_POLICY_DIR": str(policy_dir(folder / "policies", Settings().policy_dir)),
        "MODELREG_OIDC_CLIENT_ID": "browser",
        "MODELREG_OIDC_SCOPES": "openid profile registry",
        "MODELREG_SESSION_SECRET": SESSION_SECRET,
        "MODELREG_OIDC_JWKS_TTL": "2",
        "MODELREG_OIDC_JWKS_REFRESH_INTERVAL": "1",
    }
    # Sign-in and token handling do not touch the backend: always SQLite, so the module runs in one CI leg.
    with fresh_database(folder, "oidc", server_url="") as url:
        live = LiveServer(folder, url, extra_env=env)
        yield live
        live.stop()


def graphql(server: LiveServer, *, token: str | None = None, client: httpx.Client | None = None,
            headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    send = client or httpx
    return send.post(f"{server.url}/graphql", headers=all_headers,  # type: ignore[union-attr]
                     content=content if content is not None else json.dumps(VIEWER).encode(), timeout=10)


# Browser sign-in.


class _Form(HTMLParser):
    """The first form of a page: its action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def submit_form(client: httpx.Client, page: httpx.Response, extra: dict[str, str]) -> httpx.Response:
    form = _Form()
    form.feed(page.text)
    assert form.action, f"no form on {page.url}:\n{page.text[:500]}"
    return client.post(str(page.url.join(form.action)), data={**form.fields, **extra})


def sign_in(server: LiveServer, login: str) -> tuple[httpx.Client, httpx.Response]:
    """Drive the whole flow as a browser would: our /auth/login, the provider's login and consent pages,
    the callback. Returns the client (holding the cookies) and the final response."""
    client = httpx.Client(follow_redirects=True, timeout=15)
    start = client.get(f"{server.url}/auth/login", params={"next": "/auth/session"}, follow_redirects=False)
    assert start.status_code == 302, start.text
    authorize = httpx.URL(start.headers["location"])
    assert authorize.params["code_challenge_method"] == "S256" and authorize.params["code_challenge"]
    assert authorize.params["client_id"] == "browser" and "nonce" in authorize.params
    page = client.get(authorize)
    assert 'name="login"' in page.text, page.text[:500]
    page = submit_form(client, page, {"login": login, "password": "any"})
    assert "Authorize" in page.text, page.text[:500]
    return client, submit_form(client, page, {})


def test_browser_sign_in_end_to_end(server):
    client, done = sign_in(server, "alice")
    with contextlib.closing(client):
        assert done.url == f"{server.url}/auth/session"
        assert done.json() == {"signInEnabled": True, "loginUrl": "/auth/login", "logoutUrl": "/auth/logout",
                               "signedIn": True, "subject": "alice", "kind": "USER", "roles": ["approver"]}
        callback = [r for r in done.history if r.url.path == "/auth/callback"][0]
        cookie = [v for v in callback.headers.get_list("set-cookie") if v.startswith("modelreg_session=")][0]
        assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= {part.strip() for part in cookie.split(";")}

        viewer = graphql(server, client=client, headers={"X-Requested-With": "fetch"})
        assert viewer.json() == {"data": {"viewer": {"subject": "alice", "kind": "USER", "roles": ["approver"]}}}
        # Bearer tokens keep working next to the cookie, and win.
        bearer = graphql(server, client=client, token=provider().role_token("mlops"))
        assert bearer.json()["data"]["viewer"]["subject"] == "svc-mlops"

        # The access log names the caller and its kind.
        assert '"subject": "alice", "kind": "USER"' in server.wait_for_log('"subject": "alice", "kind"')
        client.post(f"{server.url}/auth/logout")
        assert graphql(server, client=client, headers={"X-Requested-With": "fetch"}).status_code == 401


@pytest.mark.parametrize("headers, content, status", [
    ({"X-Requested-With": "fetch"}, None, 200),
    ({}, None, 200),  # application/json: not sendable cross-site without a preflight
    ({"Content-Type": "text/plain"}, None, 403),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"query=%7Bviewer%7Bsubject%7D%7D", 403),
    ({"Content-Type": ""}, None, 403),
    ({"Sec-Fetch-Site": "cross-site"}, None, 403),
], ids=["custom header", "json", "text/plain", "form", "no content type", "cross-site"])
def test_cookie_requests_are_protected_against_csrf(server, session_cookie, headers, content, status):
    cookies = {"modelreg_session": session_cookie}
    with httpx.Client(cookies=cookies) as client:
        response = graphql(server, client=client, headers=headers, content=content)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.fixture(scope="module")
def session_cookie(server) -> str:
    client, _ = sign_in(server, "bob")
    with contextlib.closing(client):
        return next(cookie.value for cookie in client.cookies.jar if cookie.name == "modelreg_session")


def test_forged_or_foreign_session_cookies_are_ignored(server, session_cookie):
    tampered = session_cookie[:-6] + ("AAAAAA" if not session_cookie.endswith("AAAAAA") else "BBBBBB")
    for value in (tampered, "garbage", session_cookie.split(".")[0] + "...."):
        with httpx.Client(cookies={"modelreg_session": value}) as client:
            assert graphql(server, client=client, headers={"X-Requested-With": "x"}).status_code == 401


def test_callback_without_a_sign_in_in_progress_is_refused(server):
    response = httpx.get(f"{server.url}/auth/callback", params={"code": "x", "state": "y"})
    assert response.status_code == 400 and "Sign-in expired" in response.text
    assert "Traceback" not in response.text


def test_login_never_redirects_elsewhere_afterwards(server):
    client, done = sign_in_with_next(server, "https://evil.example/steal")
    with contextlib.closing(client):
        assert done.url == f"{server.url}/graphql" or done.url.path == "/graphql"


def sign_in_with_next(server: LiveServer, next_url: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(follow_redirects=True, timeout=15)
    page = client.get(f"{server.url}/auth/login", params={"next": next_url})
    page = submit_form(client, page, {"login": "carol", "password": "any"})
    done = submit_form(client, page, {})
    return client, done


# Keys.


def test_key_rotation_while_the_server_runs(server, idp):
    old = idp.role_token("mlops", fresh=True)
    assert graphql(server, token=old).status_code == 200
    kids = idp.rotate()
    new = idp.role_token("mlops", fresh=True)
    assert json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "==="))["kid"] == kids[0]
    time.sleep(1.1)  # the server refetches for an unknown kid at most once per refresh interval (1 s here)
    assert graphql(server, token=new).json()["data"]["viewer"]["subject"] == "svc-mlops"
    assert graphql(server, token=old).json()["data"]["viewer"]["subject"] == "svc-mlops"


def test_provider_outage_does_not_log_anyone_out(server, idp):
    token = idp.role_token("auditor", fresh=True)
    assert graphql(server, token=token).status_code == 200
    idp.outage(True)
    try:
        time.sleep(2.2)  # past the server's key TTL (2 s): refreshes now fail
        for _ in range(3):
            assert graphql(server, token=token).status_code == 200
    finally:
        idp.outage(False)
    server.wait_for_log("could not refresh signing keys")


# Hostile tokens.


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    """Signed by hand: joserfc itself refuses a public key as an HMAC secret (the attack this token tries)."""
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def hostile_tokens(idp: OidcProvider) -> dict[str, str]:
    now = int(time.time())
    real = idp.role_token("auditor", fresh=True)
    header, payload, signature = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
    public_pem = RSAKey.import_key(httpx.get(f"{idp.issuer}/jwks").json()["keys"][0]).as_pem(private=False)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "attacker-kid"})
    return {
        "expired": idp.forge({"exp": now - 3600, "iat": now - 7200}),
        "not yet valid": idp.forge({"nbf": now + 3600}),
        "wrong issuer": idp.forge({"iss": "https://evil.example"}),
        "wrong audience": idp.forge({"aud": "api://someone-else"}),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.",
        "hs256 with the provider's public key": hs256(
            {"alg": "HS256", "kid": json.loads(base64.urlsafe_b64decode(header + "==="))["kid"]}, claims,
            public_pem),
        "unknown kid": jwt.encode({"alg": "RS256", "kid": "attacker-kid"}, {**claims, "roles": ["mlops"]}, stranger),
        "tampered payload": f"{header}.{_b64({**claims, 'roles': ['mlops'], 'sub': 'mallory'})}.{signature}",
        "missing sub": idp.forge({"roles": ["mlops"]}, drop=("sub",)),
        "oversized": idp.forge({"padding": "x" * 20_000}),
    }


def test_hostile_tokens_are_refused_without_a_trace(server, idp):
    tokens = hostile_tokens(idp)
    for case, token in tokens.items():
        response = graphql(server, token=token)
        assert response.status_code == 401, (case, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer"), case
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", case
        assert "Traceback" not in response.text and token not in response.text, case

    valid = idp.role_token("auditor")
    in_query = httpx.get(f"{server.url}/graphql", params={"query": "{viewer{subject}}", "access_token": valid})
    assert in_query.status_code == 401 and "do not put tokens in the URL" in in_query.text

    log = server.wait_for_log("token_in_query_string")
    assert "Traceback" not in log
    for case, token in [*tokens.items(), ("query string", valid)]:
        for part in token.split("."):
            if len(part) > 20:
                assert part not in log, f"part of the {case} token is in the server log"
    reasons = set(re.findall(r'"reason": "([a-z_]+)"', log))
    assert {"expired_token", "invalid_claim", "untrusted_issuer", "algorithm_not_allowed", "invalid_key_id",
            "bad_signature", "missing_claim", "oversized", "token_in_query_string"} <= reasons, reasons



# GraphiQL in headless Chromium.


def test_graphiql_sign_in_in_a_real_browser(server, tmp_path_factory):
    require_browser_tools("graphiql.min.js")
    screenshot = tmp_path_factory.mktemp("oidc-screens") / "graphiql-signed-in.png"
    done = subprocess.run(["node", str(ROOT / "tests" / "js" / "oidc_signin_check.mjs"), server.url, "alice",
                           str(screenshot)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"browser driver exited {done.returncode} without a report\n{done.stdout}\n{done.stderr}")
    assert report["ok"], f"failed after {report['steps']}: {report.get('error')}\nscreenshot: {screenshot}"
    assert report["linkBefore"] == "Sign in" and report["linkAfter"] == "Sign out"
    assert report["providerUrl"].startswith(provider().issuer)
    assert report["tokenStatus"] == "Signed in as alice (approver) \u00b7 browser session"
    assert json.loads(report["resultText"])["data"]["viewer"]["subject"] == "alice"
    assert report["graphqlRequests"] and all(
        not r["authorization"] and r["xRequestedWith"] == "modelreg-graphiql" for r in report["graphqlRequests"])
    assert {"name": "modelreg_session", "httpOnly": True, "sameSite": "Lax"} in report["cookies"]
    assert "modelreg_session" not in report["documentCookie"]  # HttpOnly: scripts cannot read it
    assert report["pageErrors"] == []
