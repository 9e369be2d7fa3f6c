"""One JSON error shape for every REST endpoint (issue 16): ``{"error": {"code", "message", "requestId"}}`` with the
GraphQL API's codes, whoever refuses (the endpoint, the authentication middleware, the router, the last-resort
handler). Before, a missing token on /api/... answered GraphQL's ``{"errors": [...]}``, an unknown path or method
plain text, and an unsatisfiable range an empty body."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.domain.identity import Principal
from app.http.errors import rest_endpoint
from app.http.middleware import AuthMiddleware

DATA = b"rest-error-shape"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
REGISTER = """
mutation Register($input: CreateModelVersionInput!) { createModelVersion(input: $input) { modelVersion { version } } }
"""
REST_ENDPOINTS = [
    ("PUT", "/api/artifacts/blobs"),
    ("GET", f"/api/artifacts/blobs/{DIGEST}"),
    ("PUT", "/api/artifacts/uploads/0123"),
    ("GET", "/api/artifacts/files?uri=models:/m/1&path=f"),
    ("GET", "/api/artifacts/archive?uri=models:/m/1"),
    ("GET", "/api/audit/export"),
    ("GET", "/api/serving/production/m"),
]


def assert_rest_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    return body["error"]


def bearer(api, *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.token(*roles)}"}


@pytest.mark.parametrize(("method", "url"), REST_ENDPOINTS)
async def test_a_missing_or_bad_token_is_the_rest_shape(api, method, url):
    for headers in ({}, {"authorization": "Bearer not-a-jwt"}):
        response = await api.client.request(method, url, headers=headers)
        assert_rest_error(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"].startswith('Bearer realm="modelreg"')
    in_url = await api.client.request(method, url + ("&" if "?" in url else "?") + "access_token=x")
    assert_rest_error(in_url, 401, "UNAUTHENTICATED")


async def test_graphql_keeps_the_graphql_shape(api):
    response = await api.client.post("/graphql", json={"query": "{ viewer { subject } }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_path_and_method_under_api(api):
    missing = await api.client.get("/api/nothing/here", headers=bearer(api, "mlops"))
    assert "/api/nothing/here" in assert_rest_error(missing, 404, "NOT_FOUND")["message"]
    wrong = await api.client.delete("/api/artifacts/blobs", headers=bearer(api, "mlops"))
    error = assert_rest_error(wrong, 405, "BAD_USER_INPUT")
    assert "DELETE" in error["message"] and wrong.headers["allow"]
    page = await api.client.get("/no-such-page", headers=bearer(api, "mlops"))
    assert page.status_code == 404 and page.text == "Not Found"  # outside /api/: Starlette's plain answer


async def test_domain_refusals_share_the_shape(api):
    forbidden = await api.client.get("/api/audit/export", headers=bearer(api, "mlops"))
    assert "audit:read" in assert_rest_error(forbidden, 403, "FORBIDDEN")["message"]
    unknown = await api.client.get("/api/serving/production/none", headers=bearer(api, "mlops"))
    assert_rest_error(unknown, 404, "NOT_FOUND")
    bad = await api.client.put("/api/artifacts/blobs", content=DATA,
                               headers={**bearer(api, "mlops"), "x-content-sha256": "zz"})
    assert assert_rest_error(bad, 400, "BAD_USER_INPUT")["field"] == "X-Content-SHA256"


async def test_an_unsatisfiable_range_is_the_rest_shape(api):
    await api.client.put("/api/artifacts/blobs", content=DATA, headers=bearer(api, "mlops"))
    await api.ok(REGISTER, {"input": {"name": "m", "createModelIfMissing": True,
                                      "files": [{"path": "f.bin", "digest": DIGEST}]}})
    response = await api.client.get("/api/artifacts/files", params={"uri": "models:/m/1", "path": "f.bin"},
                                    headers={**bearer(api, "mlops"), "range": "bytes=999-"})
    assert assert_rest_error(response, 416, "BAD_USER_INPUT")["field"] == "Range"
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


async def test_stored_blob_tells_an_uploader_what_to_skip(api):
    data = f"skip me {uuid.uuid4()}".encode()  # the store outlives a test's database: content of its own
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    url = f"/api/artifacts/blobs/{digest}"
    assert_rest_error(await api.client.get(url, headers=bearer(api, "ci")), 404, "NOT_FOUND")
    assert (await api.client.head(url, headers=bearer(api, "ci"))).status_code == 404
    await api.client.put("/api/artifacts/blobs", content=data, headers=bearer(api, "ci"))
    found = await api.client.get(url, headers=bearer(api, "ci"))
    assert found.status_code == 200 and found.json() == {"digest": digest, "size": len(data)}
    assert (await api.client.head(url, headers=bearer(api, "ci"))).status_code == 200
    assert "artifact:write" in assert_rest_error(await api.client.get(url, headers=bearer(api, "auditor")),
                                                 403, "FORBIDDEN")["message"]
    bad = await api.client.get("/api/artifacts/blobs/sha256:XYZ", headers=bearer(api, "ci"))
    assert assert_rest_error(bad, 400, "BAD_USER_INPUT")["field"] == "digest"


@pytest.mark.backend_independent
async def test_an_unexpected_exception_is_internal_with_the_request_id(caplog):
    @rest_endpoint
    async def broken(request: Request) -> Response:
        raise RuntimeError("disk on fire at /secret/path")

    app = Starlette(routes=[Route("/api/broken", broken)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/api/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL"
    assert "fire" not in response.text and "Traceback" not in response.text
    assert any(record.message == "unexpected error in a REST endpoint" for record in caplog.records)


@pytest.mark.backend_independent
@pytest.mark.parametrize(("path", "rest"), [("/api/artifacts/blobs", True), ("/graphql", False)])
async def test_the_cookie_csrf_refusal_takes_the_shape_of_its_path(path, rest):
    """A cookie-signed request a cross-site form could have sent: 403 from the middleware, before any endpoint."""

    async def endpoint(request: Request) -> Response:
        return Response("reached")

    async def no_bearer(token: str) -> Principal:
        raise AssertionError("no bearer token in this test")

    def session(cookie: str | None) -> Principal | None:
        return Principal(subject="alice", roles=frozenset({"mlops"})) if cookie else None

    app = AuthMiddleware(Starlette(routes=[Route(path, endpoint, methods=["POST"])]), authenticate=no_bearer,
                         session=session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 cookies={"modelreg_session": "sealed"}) as client:
        response = await client.post(path, content=b"x", headers={"content-type": "text/plain"})
    assert response.status_code == 403
    body = response.json()
    code = body["error"]["code"] if rest else body["errors"][0]["extensions"]["code"]
    assert code == "FORBIDDEN" and set(body) == ({"error"} if rest else {"errors"})
