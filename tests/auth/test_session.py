"""Sealed session cookies, the cross-site request forgery rule, safe return paths, and /auth without sign-in."""

import time

import httpx
import pytest
from starlette.datastructures import Headers

from app.auth.routes import safe_next
from app.auth.session import Sealer, SessionCodec
from app.domain.identity import Principal, PrincipalKind
from app.http.middleware import csrf_safe

SECRET = "0123456789abcdef0123456789abcdef"


def test_sealed_cookie_round_trip_and_refusals():
    sealer = Sealer(SECRET, "session")
    value = sealer.seal({"sub": "alice"}, int(time.time()) + 60)
    assert sealer.unseal(value) == {"sub": "alice"}
    assert "alice" not in value  # encrypted, not just signed
    assert sealer.unseal(value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")) is None
    assert Sealer(SECRET, "login").unseal(value) is None  # a login cookie cannot pass for a session
    assert Sealer(SECRET[::-1], "session").unseal(value) is None  # another secret
    assert sealer.unseal(value, now=time.time() + 61) is None  # expired
    assert sealer.unseal("x" * 5000) is None and sealer.unseal(None) is None and sealer.unseal("a.b.c") is None


def test_session_keeps_subject_kind_and_roles_until_the_token_would_expire():
    codec = SessionCodec(SECRET, ttl=8 * 3600)
    now = int(time.time())
    assert codec.expiry(now + 600) == now + 600  # the access token's expiry when sooner ...
    assert codec.expiry(now + 10 * 86400) <= now + 8 * 3600 + 1  # ... else the session TTL
    principal = Principal("alice", PrincipalKind.USER, frozenset({"approver"}))
    restored = codec.principal(codec.seal(principal, "https://idp", now + 60))
    assert (restored.subject, restored.kind, restored.roles) == ("alice", PrincipalKind.USER, frozenset({"approver"}))
    assert restored.claims["iss"] == "https://idp"


def test_session_carries_the_groups_claim():
    """Owner groups and approver groups decide for a session as for the bearer token it was made from."""
    codec = SessionCodec(SECRET, ttl=3600)
    expires = int(time.time()) + 60
    member = Principal("dana", roles=frozenset({"data-scientist@churn/"}), claims={"groups": ["ml-churn", "staff"]})
    assert codec.principal(codec.seal(member, "https://idp", expires)).groups == ("ml-churn", "staff")
    assert codec.principal(codec.seal(Principal("erin"), "https://idp", expires)).groups == ()


def test_a_session_with_too_many_groups_for_a_cookie_goes_without_them(caplog):
    codec = SessionCodec(SECRET, ttl=3600)
    many = [f"5b1e7c2a-0f3d-4c8e-9a61-{n:012d}" for n in range(200)]  # Entra ID object ids, up to 200
    value = codec.seal(Principal("frank", claims={"groups": many}), "https://idp", int(time.time()) + 60)
    restored = codec.principal(value)
    assert restored is not None and restored.subject == "frank" and restored.groups == ()
    assert "session without the groups claim" in caplog.text


@pytest.mark.parametrize("method, headers, safe", [
    ("GET", {}, True),
    ("HEAD", {"sec-fetch-site": "cross-site"}, True),
    ("POST", {"content-type": "application/json"}, True),
    ("POST", {"content-type": "application/graphql-response+json; charset=utf-8"}, True),
    ("PUT", {"content-type": "application/octet-stream"}, True),
    ("POST", {"x-requested-with": "XMLHttpRequest", "content-type": "text/plain"}, True),
    ("POST", {"content-type": "text/plain;charset=UTF-8"}, False),
    ("POST", {"content-type": "application/x-www-form-urlencoded"}, False),
    ("POST", {"content-type": "multipart/form-data; boundary=x"}, False),
    ("POST", {}, False),
    ("POST", {"content-type": "application/json", "sec-fetch-site": "cross-site"}, False),
    ("DELETE", {"x-requested-with": "x", "sec-fetch-site": "cross-site"}, False),
])
def test_csrf_rule(method, headers, safe):
    assert csrf_safe(method, Headers(headers)) is safe


@pytest.mark.parametrize("value, expected", [
    ("/graphql", "/graphql"), ("/lineage?model=m", "/lineage?model=m"), (None, "/graphql"),
    ("https://evil.example/", "/graphql"), ("//evil.example", "/graphql"), ("/\\evil.example", "/graphql"),
    ("/x\r\nSet-Cookie: a=b", "/graphql"), ("graphql", "/graphql"),
])
def test_return_path_after_sign_in_stays_on_this_server(value, expected):
    assert safe_next(value) == expected


async def test_auth_routes_without_sign_in_configured(api):
    session = await api.client.get("/auth/session")
    assert session.json() == {"signInEnabled": False, "loginUrl": "/auth/login", "logoutUrl": "/auth/logout",
                              "signedIn": False}
    login = await api.client.get("/auth/login")
    assert login.status_code == 404 and "MODELREG_OIDC_CLIENT_ID" in login.text


async def test_session_endpoint_names_a_bearer_caller(api):
    response = await api.client.get("/auth/session", headers={"authorization": f"Bearer {api.token('auditor')}"})
    assert response.json()["signedIn"] and response.json()["roles"] == ["auditor"]


async def test_token_in_the_query_string_is_refused(api):
    token = api.token("auditor")
    response = await api.client.get("/graphql", params={"query": "{ viewer { subject } }", "access_token": token})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert token not in response.text


async def test_session_cookie_is_ignored_when_sign_in_is_off(api):
    sealed = SessionCodec(SECRET, 3600).seal(Principal("mallory", roles=frozenset({"mlops"})), "x",
                                              int(time.time()) + 60)
    api.client.cookies.set("modelreg_session", sealed)
    try:
        response = await api.post("query { viewer { subject } }", headers={"x-requested-with": "x"})
    finally:
        api.client.cookies.clear()
    assert response.status_code == 401
    assert isinstance(response, httpx.Response)
