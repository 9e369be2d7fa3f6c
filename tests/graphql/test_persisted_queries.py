"""Apollo's automatic persisted queries (issue 20, point 11) and how GET answers are cached (point 12)."""

from __future__ import annotations

import hashlib
import json

VIEWER = "query Viewer { viewer { subject } }"
VIEWER_HASH = hashlib.sha256(VIEWER.encode()).hexdigest()
UNKNOWN_HASH = hashlib.sha256(b"never sent").hexdigest()


def persisted(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def auth(api) -> dict[str, str]:
    return {"authorization": f"Bearer {api.token('mlops')}"}


async def post(api, body: dict):
    return await api.client.post("/graphql", json=body, headers=auth(api))


async def get(api, params: dict, accept: str = "*/*"):
    return await api.client.get("/graphql", params=params, headers={**auth(api), "accept": accept})


async def test_unknown_hash_then_registration_then_hash_only_over_post(api):
    missing = (await post(api, {"extensions": persisted(UNKNOWN_HASH)})).json()
    assert missing["errors"][0]["message"] == "PersistedQueryNotFound"
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = await post(api, {"query": VIEWER, "extensions": persisted(VIEWER_HASH)})
    assert registered.json() == {"data": {"viewer": {"subject": "tester"}}}
    hash_only = await post(api, {"extensions": persisted(VIEWER_HASH), "operationName": "Viewer"})
    assert hash_only.json() == {"data": {"viewer": {"subject": "tester"}}}


async def test_hash_only_over_get_answers_json_not_the_graphiql_page(api):
    await post(api, {"query": VIEWER, "extensions": persisted(VIEWER_HASH)})
    response = await get(api, {"extensions": json.dumps(persisted(VIEWER_HASH))})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"viewer": {"subject": "tester"}}}
    unknown = await get(api, {"extensions": json.dumps(persisted(UNKNOWN_HASH))})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_does_not_match_the_query_is_refused_and_not_stored(api):
    wrong = await post(api, {"query": VIEWER, "extensions": persisted(UNKNOWN_HASH)})
    assert wrong.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    later = await post(api, {"extensions": persisted(UNKNOWN_HASH)})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    bad_version = await post(api, {"query": VIEWER, "extensions": {"persistedQuery": {"version": 2}}})
    assert bad_version.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_store_is_bounded():
    from app.graphql.persisted import PersistedQueries

    store = PersistedQueries(max_entries=3)
    for i in range(10):
        query = f"{{ viewer {{ subject }} }} # {i}"
        store.resolve(query, persisted(hashlib.sha256(query.encode()).hexdigest()))
    assert len(store) == 3


async def test_graphiql_only_for_a_browser_asking_for_html(api):
    page = await api.client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and "<html" in page.text.lower()
    for accept in ("*/*", "application/json"):
        response = await api.client.get("/graphql", headers={"accept": accept, **auth(api)})
        assert response.headers["content-type"].startswith("application/json"), accept
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_answers_are_private_and_vary_with_the_caller_and_accept(api):
    answers = [
        await get(api, {"query": VIEWER}),
        await get(api, {"query": "{ nope }"}),
        await api.client.get("/graphql", headers={"accept": "text/html"}),
    ]
    for response in answers:
        assert response.headers["cache-control"] == "private, no-store", response.headers
        vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
        assert {"accept", "authorization", "cookie"} <= vary, response.headers
