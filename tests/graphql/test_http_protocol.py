"""GraphQL over HTTP in process: GET vs POST, media types and status codes, GraphQL-shaped refusals, 401s."""

from __future__ import annotations

import json

import pytest

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

TYPENAME = "{ __typename }"
VIEWER_SUBJECT = "query Viewer { viewer { subject } }"
TYPE_BY_NAME = "query TypeByName($name: String!) { __type(name: $name) { name } }"
CREATE_MODEL_VERSION = 'mutation { createModelVersion(input: {name: "via-get", createModelIfMissing: true}) ' \
                       "{ modelVersion { version } } }"
MODEL_BY_NAME = "query($name: String!) { registeredModel(name: $name) { name } }"
SYNTAX_ERROR = "{"
UNKNOWN_FIELD = "{ noSuchField }"
MISSING_VARIABLE = "query($name: String!) { __type(name: $name) { name } }"


def bearer(api, *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.token(*(roles or ('data-scientist',)))}"}


def media_type(response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def only_error(response) -> dict:
    body = response.json()
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


# GET and POST

async def test_mutation_over_get_is_refused_with_405_and_not_run(api):
    response = await api.client.get("/graphql", params={"query": CREATE_MODEL_VERSION},
                                    headers={**bearer(api), "accept": "application/json"})
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert media_type(response) == "application/json"
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "POST" in error["message"]
    data = await api.ok(MODEL_BY_NAME, {"name": "via-get"}, "data-scientist")
    assert data["registeredModel"] is None


async def test_mutation_over_get_is_405_with_graphql_response_json_too(api):
    response = await api.client.get("/graphql", params={"query": CREATE_MODEL_VERSION},
                                    headers={**bearer(api), "accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 405
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_other_methods_are_refused_with_405(api):
    response = await api.client.request("HEAD", "/graphql", params={"query": TYPENAME}, headers=bearer(api))
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


async def test_query_over_get_works(api):
    response = await api.client.get("/graphql", params={"query": VIEWER_SUBJECT}, headers=bearer(api))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"subject": "tester"}}}


async def test_query_over_get_takes_json_variables_and_operation_name(api):
    params = {"query": TYPE_BY_NAME, "variables": json.dumps({"name": "Query"}), "operationName": "TypeByName"}
    response = await api.client.get("/graphql", params=params,
                                    headers={**bearer(api), "accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 200, response.text
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert response.json() == {"data": {"__type": {"name": "Query"}}}


# Media types

@pytest.mark.parametrize(("accept", "expected"), [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
    (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
    (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
    (f"{GRAPHQL_RESPONSE_JSON};q=0, application/json", "application/json"),
    ("text/plain", "application/json"),
])
async def test_response_media_type_follows_accept(api, accept, expected):
    headers = {"accept": accept} if accept else {}
    response = await api.post(TYPENAME, token=api.token("data-scientist"), headers=headers)
    assert response.status_code == 200, response.text
    assert media_type(response) == expected
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("document", [SYNTAX_ERROR, UNKNOWN_FIELD, MISSING_VARIABLE],
                         ids=["syntax", "validation", "variable-coercion"])
async def test_request_errors_are_400_without_data_with_graphql_response_json(api, document):
    response = await api.post(document, token=api.token("data-scientist"), headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 400, response.text
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    body = response.json()
    assert "data" not in body
    assert body["errors"] and all(error["extensions"]["code"] == "BAD_USER_INPUT" for error in body["errors"])


@pytest.mark.parametrize("document", [SYNTAX_ERROR, UNKNOWN_FIELD, MISSING_VARIABLE],
                         ids=["syntax", "validation", "variable-coercion"])
async def test_request_errors_stay_200_with_application_json(api, document):
    response = await api.post(document, token=api.token("data-scientist"), headers={"accept": "application/json"})
    assert response.status_code == 200, response.text
    assert media_type(response) == "application/json"
    body = response.json()
    assert body["data"] is None
    assert body["errors"] and all(error["extensions"]["code"] == "BAD_USER_INPUT" for error in body["errors"])


async def test_field_errors_stay_200_with_graphql_response_json(api):
    response = await api.post(MODEL_BY_NAME, {"name": "absent"}, token=api.token("data-scientist"),
                              headers={"accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"registeredModel": None}}


# Refusals before execution are GraphQL-shaped, in the negotiated media type

@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE_JSON])
@pytest.mark.parametrize(("content", "content_type"), [
    ('{ "not a JSON', "application/json"),
    ('{"notquery": "{ __typename }"}', "application/json"),
    ('{"query": 0}', "application/json"),
    ('{"query": "{ __typename }", "variables": "x"}', "application/json"),
    ('{"query": "{ __typename }"}', "text/plain"),
], ids=["unparseable-json", "missing-query", "query-not-string", "variables-not-map", "unsupported-content-type"])
async def test_malformed_requests_get_400_with_a_graphql_error(api, accept, content, content_type):
    response = await api.client.post("/graphql", content=content,
                                     headers={**bearer(api), "content-type": content_type, "accept": accept})
    assert response.status_code == 400, response.text
    assert media_type(response) == accept
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"]


# Authentication

@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic dXNlcjpwdw==", "Bearer "],
                         ids=["missing", "garbage", "basic", "empty"])
async def test_requests_without_a_valid_token_get_401(api, authorization):
    headers = {"authorization": authorization} if authorization else {}
    response = await api.post(VIEWER_SUBJECT, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert media_type(response) == "application/json"
    assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_token_gets_401(api):
    response = await api.post(VIEWER_SUBJECT, token=api.token("data-scientist", ttl=-60))
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_get_query_without_token_gets_401(api):
    response = await api.client.get("/graphql", params={"query": TYPENAME}, headers={"accept": "text/html"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
