"""Query protections: depth, aliases, tokens, page size, and production switches for introspection and hints."""

from app.graphql.schema import build_schema

DEEP = "{ registeredModels { edges { node { latestVersion { model { latestVersion { model { latestVersion { model { latestVersion { model { latestVersion { model { name } } } } } } } } } } } } } }"
MANY_ALIASES = "{ " + " ".join(f"a{i}: viewer {{ subject }}" for i in range(31)) + " }"
MANY_TOKENS = "{ viewer { " + " ".join(["subject"] * 6000) + " } }"
INTROSPECTION = "{ __schema { types { name } } }"
TYPO = "{ viewr { subject } }"
PAGE_TOO_BIG = "{ registeredModels(first: 101) { totalCount } }"


async def test_depth_aliases_tokens_and_page_size_are_limited(api):
    for document, hint in [(DEEP, "exceeds maximum operation depth"), (MANY_ALIASES, "aliases"),
                           (MANY_TOKENS, "token"), (PAGE_TOO_BIG, "first must be between 0 and 100")]:
        body = await api.gql(document)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert hint in body["errors"][0]["message"].lower() or hint in body["errors"][0]["message"], body


async def test_defaults_allow_introspection_and_suggestions(api):
    assert (await api.ok(INTROSPECTION))["__schema"]["types"]
    assert "Did you mean" in (await api.error(TYPO))["message"]


async def test_production_switches_turn_off_introspection_and_suggestions():
    schema = build_schema(introspection=False, field_suggestions=False)
    result = await schema.execute(INTROSPECTION)
    assert result.errors and "introspection" in result.errors[0].message.lower()
    result = await schema.execute(TYPO)
    assert result.errors and "Did you mean" not in result.errors[0].message


async def test_public_paths_need_no_token_and_others_do(api):
    assert (await api.client.get("/healthz")).status_code == 200
    assert (await api.client.get("/favicon.ico")).status_code == 204
    root = await api.client.get("/", follow_redirects=False)  # the web console, or GraphiQL when it is not built
    assert (root.status_code == 200 and "modelreg console" in root.text) or root.headers["location"] == "/graphql"
    page = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<html" in page.text.lower()
    query_by_get = await api.client.get("/graphql", params={"query": "{ viewer { subject } }"},
                                        headers={"accept": "text/html"})
    assert query_by_get.status_code == 401
    assert (await api.client.get("/graphql", params={"myquery": "1"}, headers={"accept": "text/html"})).status_code == 200


async def test_graphiql_page_is_served_with_a_strict_content_security_policy(api):
    page = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
